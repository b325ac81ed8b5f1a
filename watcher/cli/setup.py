"""``watcher init`` and ``watcher validate``: the database made ready, the configuration
checked."""

from __future__ import annotations

from watcher.cli.common import guarded, load_runtime, out
from watcher.service.settings import Settings


def init() -> None:
    """Create or upgrade the database and load the baseline (safe to run again)."""
    def work() -> int:
        runtime = load_runtime(init=False)
        return runtime.init_database()
    changed = guarded(work)
    out.print(f"database ready; {changed} baseline facts added or updated")


def validate() -> None:
    """Check the sources, rules, targets and baseline; print every problem with file:line."""
    from watcher.service.runtime import Config

    config = guarded(lambda: Config.load(Settings()))
    out.print(f"ok: {len(config.sources)} sources, {len(config.rules)} rules, "
              f"{len(config.targets)} targets, {len(config.baseline.entries)} baseline facts")
