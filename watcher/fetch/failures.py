"""Error text from the network: one bounded line each.

A server can put anything into an error: a 4 KB status line of raw bytes, a traceback's
worth of lines. Whatever reaches a source's ``last_error``, ``watcher sources``, an alert
or ``check --json`` goes through ``one_line`` first.
"""

from __future__ import annotations

import re

MAX_CHARS = 300
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` on one line (control characters and runs of space become one space),
    cut to ``limit`` characters with an ellipsis."""
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
