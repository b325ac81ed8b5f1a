"""pidfile: where the daemon's pid file lives, one daemon per file (its lock), and
`watcher reload`'s SIGHUP to it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from watcher.errors import WatcherError
from watcher.service.pidfile import (
    DaemonRunning,
    PidFile,
    pid_file_path,
    running_daemon,
    signal_reload,
)
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


# A process that claims the pid file as a daemon does, then waits for SIGHUP (exit 7) or
# SIGTERM (exit 0 at once, releasing the file as a stopping daemon does).
HOLDER = """import signal, sys, time
from pathlib import Path
from watcher.service.pidfile import PidFile
claim = PidFile.claim(Path(sys.argv[1]))
def stop(*_):
    claim.release()
    sys.exit(0)
signal.signal(signal.SIGHUP, lambda *_: sys.exit(7))
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(30)
"""


def hold(path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_claim_then_release_only_our_own(tmp_path: Path) -> None:
    path = tmp_path / "run" / "watcher.pid"
    claim = PidFile.claim(path)
    assert path.read_text() == f"{os.getpid()}\n"
    assert running_daemon(path) == os.getpid()
    claim.release()
    assert not path.exists()
    assert running_daemon(path) is None


def test_a_stale_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "watcher.pid"
    path.write_text("1234567\n")  # a daemon that died by SIGKILL: nobody holds the lock
    assert running_daemon(path) is None
    claim = PidFile.claim(path)
    assert path.read_text() == f"{os.getpid()}\n"
    claim.release()


def test_a_second_claim_is_refused_with_the_running_pid(tmp_path: Path) -> None:
    path = tmp_path / "watcher.pid"
    child = hold(path)
    try:
        assert running_daemon(path) == child.pid
        with pytest.raises(DaemonRunning) as refused:
            PidFile.claim(path)
        assert refused.value.pid == child.pid
        assert str(refused.value) == (
            f"watcher is already running as pid {child.pid} ({path}); stop it first, or "
            "start with `watcher run --replace` to stop it and take over")
        assert child.poll() is None  # the running one is left alone
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()  # type: ignore[union-attr]


def test_replace_stops_the_running_one_and_takes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "watcher.pid"
    child = hold(path)
    try:
        claim = PidFile.claim(path, replace=True, stop_wait_s=10)
        assert child.wait(timeout=10) == 0  # it was asked to stop (SIGTERM) and did
        assert path.read_text() == f"{os.getpid()}\n"
        assert running_daemon(path) == os.getpid()
        claim.release()
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()  # type: ignore[union-attr]


def test_reload_sends_sighup_to_the_daemon(tmp_path: Path) -> None:
    path = tmp_path / "watcher.pid"
    child = hold(path)
    try:
        assert signal_reload(path) == child.pid
        assert child.wait(timeout=10) == 7
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()  # type: ignore[union-attr]


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
    with pytest.raises(WatcherError, match=rf"stale pid file \(process {gone.pid} does not"):
        signal_reload(missing)
    # A number that a live process has since been given: never signalled.
    missing.write_text(f"{os.getpid()}\n")
    with pytest.raises(WatcherError, match=rf"stale pid file \(process {os.getpid()} does"):
        signal_reload(missing)
