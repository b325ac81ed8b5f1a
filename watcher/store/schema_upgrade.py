"""The daemon's schema upgrade, run in a short-lived child process.

Alembic, Mako and the revision scripts stay resident once imported (about 11 MB), and the
daemon needs them for a few hundred milliseconds at most, when a new release brings a
revision. So ``watcher run`` asks this module to upgrade the database in a child
interpreter (``python -m watcher.store.schema_upgrade_child``) whose memory is returned
when it exits. The child does what ``watcher init`` does in-process: it takes the
replicas' advisory lock on PostgreSQL and runs Alembic's upgrade to head. This module is
the parent's side, which watcher.store.engine calls; the child's side is a module of its
own because it calls the engine, and one module for both made the two import each other.

The database URL goes to the child in the environment, never on its command line (``ps``
shows command lines to every user, and URLs carry passwords). The child reports a failure
as one JSON string on stdout, the same StoreError text the in-process upgrade raises.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import watcher
from watcher.errors import StoreError

MODULE = "watcher.store.schema_upgrade_child"  # what the child runs
URL_VARIABLE = "WATCHER_DATABASE_URL"  # the name watcher's Settings reads it from
FAILED = 3  # the child's exit code when it reports a StoreError on stdout

log = logging.getLogger(__name__)


def upgrade_in_child(url: str) -> None:
    """Upgrade the database at ``url`` to head in a child process; raise StoreError with
    the child's message if it fails. Waits as long as the upgrade (and, on PostgreSQL,
    another replica's turn at the lock) takes."""
    # The child imports the same watcher as this process, installed or not (bench/cycle.py
    # runs from a checkout with the repository on sys.path).
    package_parent = str(Path(watcher.__file__).resolve().parent.parent)
    python_path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH"))
                                  if p)
    env = os.environ | {URL_VARIABLE: url, "PYTHONPATH": python_path}
    done = subprocess.run([sys.executable, "-m", MODULE], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StoreError(child_error(done.returncode, done.stdout, done.stderr))
    log.info("database schema upgraded in a child process")


def child_error(code: int, stdout: str, stderr: str) -> str:
    """The child's own message if it reported one, else its last line of stderr (the
    exception line of a traceback)."""
    lines = stdout.strip().splitlines()
    if code == FAILED and lines:
        try:
            message = json.loads(lines[-1])
        except json.JSONDecodeError:
            message = None
        if isinstance(message, str):
            return message
    last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
    return (f"cannot migrate the database: the upgrade process exited with code {code}"
            + (f": {last.strip()}" if last else ""))
