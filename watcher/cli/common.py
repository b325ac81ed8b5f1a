"""What every ``watcher`` command shares: the console, one-line errors and their exit
codes, loading the runtime, and the global options (``main``). The commands are one
module per group, registered in watcher.cli.

Commands are thin: they parse options, call the pipeline or the store's read functions,
and print rich tables or JSON. User errors are one line on stderr and exit code 2, never
a traceback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.engine import Engine
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from watcher.config.common import parse_duration
from watcher.display import hk_time
from watcher.errors import ConfigError, StoreError, WatcherError
from watcher.service.logs import setup_logging
from watcher.service.memory import tune_malloc
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings, settings_problems
from watcher.store.timeutil import utcnow

out = Console()


T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _plain_help(params: list[Any]) -> list[Any]:
    """Help that reads like a manual: ``--since DURATION``, ``--json``, ``TARGET``, not
    typer's ``<str>``, ``<bool>``, ``<list[str]>`` or ``<int range>``. A flag shows no
    value; an option without a metavar of its own shows its name in capitals."""
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag else (param.name or "value").upper()
        elif isinstance(param, TyperArgument):
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
    return params


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_help(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_help(super().get_params(ctx))


class Typer(typer.Typer):
    """typer.Typer whose commands and groups print plain help (``_plain_help``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=Group, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


def fail(message: str, code: int = 2) -> typer.Exit:
    # Plain write, not rich: a terminal-width wrap would split a file:line message.
    sys.stderr.write(message.rstrip("\n") + "\n")
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn watcher's errors into one-line messages and exit codes."""
    try:
        yield
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except StoreError as exc:
        raise fail(f"database error: {exc}", 1) from None
    except WatcherError as exc:
        raise fail(str(exc)) from None


# Engines the running command opened; main() closes them when the command ends (not only
# at exit: a test runner invokes many commands in one process).
_ENGINES: list[Engine] = []


def _disposed_after_the_command(runtime: Runtime) -> Runtime:
    _ENGINES.append(runtime.engine)
    return runtime


def _dispose_engines() -> None:
    while _ENGINES:
        _ENGINES.pop().dispose()


def load_runtime(init: bool = True, isolated_migration: bool = False) -> Runtime:
    runtime = _disposed_after_the_command(Runtime.load(Settings()))
    if init:
        runtime.init_database(isolated_migration=isolated_migration)
    return runtime


def load_for_reading() -> Runtime:
    """The runtime of a command that only reads the database: it neither creates nor
    migrates one, and says which command would (watcher.store.engine.check_readable)."""
    from watcher.store.engine import check_readable

    def work() -> Runtime:
        runtime = _disposed_after_the_command(Runtime.load(Settings()))
        check_readable(runtime.engine)
        return runtime

    return guarded(work)


def guarded(func: Callable[[], T]) -> T:
    with user_errors():
        return func()


def say(text: str) -> None:
    """One line of plain text on stdout, never wrapped at the terminal's width (scripts
    and tests read it) and never taken for rich markup."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def since_option(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return utcnow() - parse_duration(value)
    except ValueError as exc:
        raise fail(f"--since: {exc}") from None


def when(value: datetime | None) -> str:
    """A time in a table or message: Hong Kong time, marked HKT."""
    return hk_time(value)


def main(
    ctx: typer.Context,
    log_format: Annotated[str, typer.Option(metavar="FORMAT", help="human or json")] = "",
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
        help="Log debug messages too.")] = False,
) -> None:
    ctx.call_on_close(_dispose_engines)
    # Every command reads the settings: a bad value is one line here, not a traceback.
    try:
        settings = Settings()
    except ValidationError as exc:
        raise fail(settings_problems(exc)) from None
    setup_logging(log_format or settings.log_format, verbose)
    tune_malloc()  # before any worker thread allocates (watcher.service.memory says why)
