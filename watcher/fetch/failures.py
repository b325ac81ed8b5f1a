"""Error text from the network: one bounded line each, and a poll's failures counted.

A server can put anything into an error: a 4 KB status line of raw bytes, a traceback's
worth of lines. Whatever reaches a source's ``last_error``, ``watcher sources``, an alert
or ``check --json`` goes through ``one_line`` first. A poll that follows a thousand links
can fail a thousand times; ``Failures`` keeps the count per reason and one example of
each, and says it in one line: ``1,000 items failed: HTTP 503 (998), timed out after
30s (2); first: https://host/p1``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

MAX_CHARS = 300
# Reasons kept apart; the rest are counted together, so a poll's memory stays bounded.
MAX_REASONS = 20
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")
_URL_FIRST = re.compile(r"^(https?://\S+?): (.+)$", re.DOTALL)


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` on one line (control characters and runs of space become one space),
    cut to ``limit`` characters with an ellipsis."""
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class Failures:
    """A poll's failures: ``append("https://host/p: HTTP 503")`` or a reason alone.

    ``bool``, ``len`` (all failures) and iteration (one line per distinct reason, the
    first URL that failed so) behave like the list it replaces; ``summary()`` is the one
    line for people, ``counts()`` the reasons and their counts for JSON."""

    def __init__(self) -> None:
        self.total = 0
        self._counts: Counter[str] = Counter()
        self._first: dict[str, str] = {}
        self._first_url: str | None = None

    def append(self, message: str) -> None:
        line = one_line(message)
        match = _URL_FIRST.match(line)
        reason = match.group(2) if match else line
        if match and self._first_url is None:
            self._first_url = match.group(1)
        if reason not in self._counts and len(self._counts) >= MAX_REASONS:
            reason = "other errors"
        self.total += 1
        self._counts[reason] += 1
        self._first.setdefault(reason, line)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self) -> Iterator[str]:
        for reason, count in self._counts.most_common():
            first = self._first[reason]
            yield first if count == 1 else f"{first} (and {count - 1:,} more like it)"

    def __repr__(self) -> str:
        return f"Failures({self.summary()!r})"

    def counts(self) -> dict[str, int]:
        return dict(self._counts.most_common())

    def summary(self) -> str | None:
        if not self.total:
            return None
        if self.total == 1:
            return next(iter(self._first.values()))
        reasons = ", ".join(f"{reason} ({count:,})"
                            for reason, count in self._counts.most_common())
        where = f"; first: {self._first_url}" if self._first_url else ""
        return one_line(f"{self.total:,} items failed: {reasons}{where}")
