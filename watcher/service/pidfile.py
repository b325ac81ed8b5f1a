"""The daemon's pid file, so that ``watcher reload`` can find the running daemon.

The file holds one process id. Its place is ``WATCHER_PID_FILE``, else ``<db>.pid`` beside
a SQLite database file, else ``watcher.pid`` in the temporary directory. Replicas on one
host (PostgreSQL) should each get their own ``WATCHER_PID_FILE``.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from watcher.errors import WatcherError
from watcher.service.settings import Settings

log = logging.getLogger("watcher.daemon")


def pid_file_path(settings: Settings) -> Path:
    if settings.pid_file is not None:
        return settings.pid_file
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database \
            and url.database != ":memory:":
        return Path(url.database).with_suffix(".pid")
    return Path(tempfile.gettempdir()) / "watcher.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, not ours to signal
        return True
    return True


def _read(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def write_pid(path: Path) -> None:
    """Record this process; warn (and take over the file) if a live daemon wrote it."""
    other = _read(path)
    if other is not None and other != os.getpid() and _alive(other):
        log.warning("pid file %s names a running process %d; taking it over (give each "
                    "daemon its own WATCHER_PID_FILE)", path, other)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"{os.getpid()}\n")
    partial.replace(path)  # atomic: `watcher reload` never reads half a number


def remove_pid(path: Path) -> None:
    """Remove the file if it still names this process (a successor may have taken it)."""
    if _read(path) == os.getpid():
        path.unlink(missing_ok=True)


def signal_reload(path: Path) -> int:
    """Send SIGHUP to the daemon named in ``path``; returns its pid."""
    if not path.exists():
        raise WatcherError(f"no running daemon: {path} does not exist (is `watcher run` "
                           "running with the same settings? WATCHER_PID_FILE names the file)")
    pid = _read(path)
    if pid is None:
        raise WatcherError(f"{path} does not hold a process id")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise WatcherError(f"no running daemon: process {pid} from {path} is gone "
                           "(a stale pid file)") from None
    except PermissionError:
        raise WatcherError(f"not allowed to signal process {pid} from {path}") from None
    return pid
