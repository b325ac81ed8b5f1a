"""``watcher rules check``, ``watcher rules test`` and ``watcher notify-test``.

Registered in ``watcher.cli``. Problems are one line each on stderr with ``file:line``;
exit 2 for configuration problems, 1 for failed tests or sends.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from watcher.cli.common import Typer
from watcher.config.rules import check_tags, load_rules
from watcher.config.targets import Target, load_targets
from watcher.config.yamlload import errors_of
from watcher.delivery.notify import send
from watcher.delivery.routing import Routes, check_route_tags, load_routes
from watcher.display import hk_time, plural
from watcher.errors import ConfigError
from watcher.rules.model import Rule
from watcher.rules.testing import find_test_files, run_test_file
from watcher.service.settings import Settings
from watcher.store.timeutil import utcnow

rules_app = Typer(help="Check rule files and run their tests.", no_args_is_help=True)
out = Console(highlight=False)


def _problem(line: str) -> None:
    # Plain write: rich would wrap a long file:line message onto two lines.
    sys.stderr.write(line.rstrip("\n") + "\n")


def collect_problems(settings: Settings) -> tuple[list[str], list[Rule], list[Target], Routes]:
    """Every problem in the rules, targets and routes, one located line each."""
    problems: list[ConfigError] = []
    rules: list[Rule] = []
    targets: list[Target] = []
    routes = Routes()
    try:
        rules = load_rules(settings.rules_dir)
    except ConfigError as exc:
        problems += errors_of(exc)
    try:
        targets = load_targets(settings.notify)
    except ConfigError as exc:
        problems += errors_of(exc)
    try:
        routes = load_routes(settings.routes_file)
    except ConfigError as exc:
        problems += errors_of(exc)
    if targets:  # with no target everything goes to the console: any tag is fine
        tags = {tag for target in targets for tag in target.tags}
        problems += check_tags(rules, tags | set(routes.routes))
        problems += check_route_tags(routes, tags, settings.routes_file)
    return [p.located() for p in problems], rules, targets, routes


@rules_app.command("check")
def rules_check() -> None:
    """Check rule schemas and templates, target URLs, routes and the tags rules name."""
    problems, rules, targets, routes = collect_problems(Settings())
    for line in problems:
        _problem(line)
    if problems:
        raise typer.Exit(2)
    count = len(routes.routes)  # the built-in digest included
    out.print(f"ok: {len(rules)} rules, {len(targets)} targets, "
              f"{count} route{'' if count == 1 else 's'}")


@rules_app.command("test")
def rules_test(
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="FILES", help="Rule test files or directories (default: RULES_DIR/tests).")] = None,
) -> None:
    """Run rule tests: pages in sequence, the alerts each must raise."""
    settings = Settings()
    paths = find_test_files(files or [], settings.rules_dir)
    if not paths:
        _problem(f"no rule test files in {settings.rules_dir / 'tests'}")
        raise typer.Exit(2)
    tests = failed = 0
    for path in paths:
        if not path.is_file():
            _problem(f"{path}: no such file")
            raise typer.Exit(2)
        try:
            result = run_test_file(path, baseline_file=settings.baseline_file)
        except ConfigError as exc:
            for error in errors_of(exc):
                _problem(error.located())
            raise typer.Exit(2) from None
        tests += result.tests
        for line in result.failures:
            _problem(line)
        failed += bool(result.failures)
        out.print(f"{result.path}: {plural(result.tests, 'test')}, "
                  + ("ok" if result.ok else plural(len(result.failures), "failure")),
                  markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
    out.print("all " + plural(tests, "rule test") + " passed in "
              + plural(len(paths), "file"), markup=False)


def notify_test(
    tag: Annotated[str | None, typer.Option(help="Only targets carrying this tag.")] = None,
) -> None:
    """Send a real test message to every target (or those tagged TAG) and show results."""
    try:
        targets = load_targets(Settings().notify)
    except ConfigError as exc:
        for error in errors_of(exc):
            _problem(error.located())
        raise typer.Exit(2) from None
    if tag is not None:
        targets = [t for t in targets if tag in t.tags]
    if not targets:
        _problem("no targets to test: set WATCHER_NOTIFY" + (f" (none tagged {tag!r})"
                                                            if tag else ""))
        raise typer.Exit(2)
    body = (f"This is a test message from watcher on {socket.gethostname()} at "
            f"{hk_time(utcnow())}. Alerts will arrive like this one.")
    failures = 0
    for target in targets:
        result = send(target, "watcher test message", body)
        # Only the privacy form of a target is ever printed: its URL holds secrets.
        status = "ok" if result.ok else f"FAILED: {result.error}"
        out.print(f"{target.name} [{', '.join(target.tags) or 'no tags'}]: {status}",
                  markup=False, soft_wrap=True)
        failures += not result.ok
    if failures:
        raise typer.Exit(1)
