"""`watcher run` runs without docstrings (``python -OO``).

A docstring stays in memory for as long as its function or class does: in the daemon,
that is every function of SQLAlchemy, pydantic, httpx2, Apprise and the rest, for the
daemon's whole life, and none of it is ever shown (`watcher run --help` is answered
before this point). Without them the bench daemon's peak at 5,000 pages is about 5 MB
lower (104 -> 99 MB). So `watcher run`, started the usual way, starts itself again with
``-OO`` in the same process (exec: same pid, same arguments, same environment).

``-OO`` also drops ``assert`` statements; watcher's only state what the type checker
cannot see. An explicit PYTHONOPTIMIZE in the environment is respected: the process
runs as it was started (PYTHONOPTIMIZE=0 keeps docstrings and asserts).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def started_as_watcher() -> bool:
    """This process is the `watcher` program (its console script or ``python -m
    watcher``), not a host that imported the CLI (a test runner, say)."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    return script is not None and (
        script.name == "watcher" or script.parts[-2:] == ("watcher", "__main__.py"))


def relaunch_argv() -> list[str] | None:
    """The command line to start this process again under -OO, or None if it should
    not be (already -OO, PYTHONOPTIMIZE set, or not started as `watcher`)."""
    if sys.flags.optimize >= 2 or "PYTHONOPTIMIZE" in os.environ:
        return None
    if not started_as_watcher() or not sys.orig_argv:
        return None
    # orig_argv keeps the interpreter's own options (-X ..., -m watcher) as given.
    return [sys.executable, "-OO", *sys.orig_argv[1:]]


def relaunch_without_docstrings() -> None:
    """Replace this process with the same command under -OO; return if it should not
    be, or could not be (the daemon then runs as it is)."""
    argv = relaunch_argv()
    if argv is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(sys.executable, argv)
    except OSError:
        return
