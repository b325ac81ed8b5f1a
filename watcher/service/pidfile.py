"""The daemon's pid file: one daemon per file, and how ``watcher reload`` and ``watcher
outbox retry`` find the running one.

The file holds one process id. Its place is ``WATCHER_PID_FILE``, else ``<db>.pid`` beside
a SQLite database file, else ``watcher.pid`` in the temporary directory. Replicas on one
host (PostgreSQL) should each get their own ``WATCHER_PID_FILE``.

The daemon holds an exclusive ``flock`` on the file for its whole life. The lock, not the
number, says whether a daemon runs: the kernel drops it when the process ends however it
ends (SIGKILL included), so a stale file never blocks a start, and a number reused by an
unrelated process is never signalled.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from watcher.errors import WatcherError
from watcher.service.settings import Settings

log = logging.getLogger("watcher.daemon")

# A probe (`watcher reload`, `outbox retry`) holds a shared lock for a moment; a daemon
# starting just then tries again rather than taking the probe for a running daemon.
CLAIM_TRIES = 20
CLAIM_PAUSE_S = 0.05


class DaemonRunning(WatcherError):
    """Another daemon holds the pid file."""

    def __init__(self, message: str, pid: int | None) -> None:
        self.pid = pid
        super().__init__(message)


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


def _read(path: Path) -> int | None:
    try:
        # The first line only: a pid being rewritten in place may leave a tail for a moment.
        return int(path.read_text().split("\n", 1)[0].strip())
    except (OSError, ValueError):
        return None


def _try_lock(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def running_daemon(path: Path) -> int | None:
    """The pid of the daemon that holds ``path``, or None when no process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd, fcntl.LOCK_SH):  # nobody holds it: a stale file, or none
            return None
        return _read(path) or -1
    finally:
        os.close(fd)  # closing drops a shared lock we took


class PidFile:
    """The daemon's claim on its pid file, held until ``release()``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def claim(cls, path: Path, *, replace: bool = False, stop_wait_s: float = 30.0) -> PidFile:
        """Take the file for this process. If a daemon holds it, raise DaemonRunning, or
        with ``replace`` send it SIGTERM and wait up to ``stop_wait_s`` for it to stop."""
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline: float | None = None
        tries = 0
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            if _try_lock(fd, fcntl.LOCK_EX):
                if _same_file(fd, path):
                    claimed = cls(path, fd)
                    claimed._write()
                    return claimed
                os.close(fd)  # the holder removed the file as it stopped: open it anew
                continue
            os.close(fd)
            tries += 1
            other = _read(path)
            if deadline is None and tries < CLAIM_TRIES and running_daemon(path) is None:
                time.sleep(CLAIM_PAUSE_S)  # a probe held it for a moment
                continue
            if not replace:
                who = f" as pid {other}" if other else ""  # it may not have written it yet
                raise DaemonRunning(
                    f"watcher is already running{who} ({path}); stop it first, or start "
                    "with `watcher run --replace` to stop it and take over", other)
            if deadline is None:
                deadline = time.monotonic() + stop_wait_s
                if other is not None and other > 0:
                    log.info("replacing the daemon running as pid %d: asking it to stop",
                             other)
                    _signal(other, signal.SIGTERM, path)
            if time.monotonic() > deadline:
                raise DaemonRunning(f"the daemon running as pid {other} did not stop within "
                                    f"{stop_wait_s:.0f}s; nothing was replaced", other)
            time.sleep(0.1)

    def _write(self) -> None:
        assert self._fd is not None
        data = f"{os.getpid()}\n".encode()
        # Written in place (the lock is on this inode) and then cut to length: a reader
        # sees the new number on the first line at every moment.
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))

    def release(self) -> None:
        """Remove the file (it names this process) and drop the lock."""
        if self._fd is None:
            return
        if _read(self.path) == os.getpid():
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _signal(pid: int, signum: int, path: Path) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise WatcherError(f"no running daemon: process {pid} from {path} is gone "
                           "(a stale pid file)") from None
    except PermissionError:
        raise WatcherError(f"not allowed to signal process {pid} from {path}") from None


def signal_reload(path: Path) -> int:
    """Send SIGHUP to the daemon that holds ``path``; returns its pid."""
    if not path.exists():
        raise WatcherError(f"no running daemon: {path} does not exist (is `watcher run` "
                           "running with the same settings? WATCHER_PID_FILE names the file)")
    pid = _read(path)
    if pid is None:
        raise WatcherError(f"{path} does not hold a process id")
    if running_daemon(path) is None:  # the number may be reused by another process now
        raise WatcherError(f"no running daemon: {path} is a stale pid file (process {pid} "
                           "does not hold it)")
    _signal(pid, signal.SIGHUP, path)
    return pid
