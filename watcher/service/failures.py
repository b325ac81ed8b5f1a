"""Polls that could not store what they fetched, kept in memory until one succeeds.

A poll whose database write fails (read-only, full, unreachable, locked past the busy
timeout) is a failed poll: the pipeline records it on the source when the database lets
it, and it is tried again after ``retry_delay`` rather than at the next interval. The
record lives here because the database may refuse it too: a failure noted while the
database was read-only is written on the source's next claim (watcher.pipeline), and
``/healthz`` reports every source listed here until its poll has been stored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_RETRY_DELAY = timedelta(hours=1)


def retry_delay(attempt: int, base: timedelta, until_next_poll: timedelta) -> timedelta:
    """``base``, doubled for each attempt after the first, and never later than an hour
    or than the source's next scheduled poll (which retries anyway)."""
    doubled: timedelta = base * 2 ** min(max(attempt - 1, 0), 20)
    return max(timedelta(0), min(doubled, MAX_RETRY_DELAY, until_next_poll))


@dataclass
class FailedPoll:
    error: str  # one line
    at: datetime
    attempts: int = 1  # failed polls in a row
    unrecorded: int = 0  # failures the database has not taken yet


@dataclass
class PollFailures:
    """Per source name; polls run in worker threads too, hence the lock."""

    failed: dict[str, FailedPoll] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, name: str, error: str, at: datetime) -> FailedPoll:
        """Note a failed poll; the returned record counts the attempts so far."""
        with self.lock:
            previous = self.failed.get(name)
            failure = FailedPoll(error, at, attempts=1 + (previous.attempts if previous else 0),
                                 unrecorded=previous.unrecorded if previous else 0)
            self.failed[name] = failure
            return failure

    def not_recorded(self, name: str) -> None:
        """The database refused to record the last failure of ``name`` too."""
        with self.lock:
            if name in self.failed:
                self.failed[name].unrecorded += 1

    def unrecorded(self, name: str) -> FailedPoll | None:
        with self.lock:
            failure = self.failed.get(name)
            return failure if failure is not None and failure.unrecorded else None

    def recorded(self, name: str) -> None:
        with self.lock:
            if name in self.failed:
                self.failed[name].unrecorded = 0

    def succeeded(self, name: str) -> None:
        with self.lock:
            self.failed.pop(name, None)

    def names(self) -> list[str]:
        with self.lock:
            return sorted(self.failed)

    def since(self, name: str) -> datetime | None:
        """When the last failure of ``name`` happened, if it has one."""
        with self.lock:
            failure = self.failed.get(name)
            return failure.at if failure is not None else None

    def keep_only(self, names: set[str]) -> None:
        """Forget the sources no longer configured (a reload): nothing will retry them."""
        with self.lock:
            for name in set(self.failed) - names:
                del self.failed[name]
