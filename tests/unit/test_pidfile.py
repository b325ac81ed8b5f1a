"""pidfile: where the daemon's pid file lives, and `watcher reload`'s SIGHUP to it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from watcher.errors import WatcherError
from watcher.service.pidfile import pid_file_path, remove_pid, signal_reload, write_pid
from watcher.service.settings import Settings


def test_the_pid_file_sits_beside_a_sqlite_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'watcher.db'}")
    assert pid_file_path(settings) == tmp_path / "data" / "watcher.pid"


def test_postgres_uses_the_temporary_directory_unless_told(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://u@db/watcher")
    assert pid_file_path(settings) == Path(tempfile.gettempdir()) / "watcher.pid"
    told = Settings(database_url="postgresql+psycopg://u@db/watcher",
                    pid_file=tmp_path / "replica-a.pid")
    assert pid_file_path(told) == tmp_path / "replica-a.pid"


def test_write_then_remove_only_our_own(tmp_path: Path) -> None:
    path = tmp_path / "run" / "watcher.pid"
    write_pid(path)
    assert path.read_text().strip() == str(os.getpid())
    path.write_text("1\n")  # a successor took the file over: leave it alone
    remove_pid(path)
    assert path.exists()
    write_pid(path)
    remove_pid(path)
    assert not path.exists()


def test_reload_sends_sighup_to_the_daemon(tmp_path: Path) -> None:
    with subprocess.Popen(
            [sys.executable, "-c", "import signal, sys, time\n"
             "signal.signal(signal.SIGHUP, lambda *_: sys.exit(7))\n"
             "print('ready', flush=True)\ntime.sleep(30)\n"],
            stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            path = tmp_path / "watcher.pid"
            path.write_text(f"{child.pid}\n")
            assert signal_reload(path) == child.pid
            assert child.wait(timeout=10) == 7
        finally:
            child.kill()


def test_reload_errors_are_clear(tmp_path: Path) -> None:
    missing = tmp_path / "watcher.pid"
    with pytest.raises(WatcherError, match=r"no running daemon: .* does not exist"):
        signal_reload(missing)
    missing.write_text("not a number\n")
    with pytest.raises(WatcherError, match="does not hold a process id"):
        signal_reload(missing)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    missing.write_text(f"{gone.pid}\n")
    with pytest.raises(WatcherError, match=rf"process {gone.pid} .* is gone"):
        signal_reload(missing)
