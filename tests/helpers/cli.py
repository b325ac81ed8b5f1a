"""Running the ``watcher`` command in-process, as tests do."""

from __future__ import annotations

import logging

from click.testing import Result
from typer.testing import CliRunner

from watcher.cli import app


def invoke(*args: str) -> Result:
    """``watcher ARGS`` through Typer's runner. The CLI points the root logger at the
    runner's stderr, which closes afterwards: pytest's handlers are put back so that later
    log records do not hit a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
