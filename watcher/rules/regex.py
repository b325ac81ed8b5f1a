"""The regular expressions of rules (``match.name``, ``match.evidence``), on RE2.

A rule's pattern runs on every page's text, and Python's ``re`` backtracks: one pattern
such as ``^(\\w+\\s?)+\\d$`` against a long sentence took minutes and hung every poll,
while ``rules check`` said ok. RE2 (Google's engine, the ``google-re2`` package) matches
in time linear in the text, whatever the pattern; the price is what it leaves out:
backreferences (``\\1``) and lookaround (``(?=``, ``(?<=``...), refused at load with the
file and line. Patterns are searched case-insensitively (``(?-i:...)`` opts out), and
``\\w``, ``\\d``, ``\\b`` are ASCII, as in RE2: write ``\\p{Han}`` or ``\\p{L}`` to match
Chinese letters.
"""

from __future__ import annotations

from typing import Any

_UNSUPPORTED = ("invalid escape sequence: \\1", "invalid escape sequence: \\2",
                "invalid perl operator: (?=", "invalid perl operator: (?!",
                "invalid perl operator: (?<")


def _re2() -> Any:
    # Imported when a rule has a pattern: the shipped rules have none, and the module
    # and its library take ~2.6 MB of the daemon's memory (100 MB budget, README).
    import re2

    return re2


def _options() -> Any:
    options = _re2().Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would print its own copy of the error on stderr
    return options


class Pattern:
    """A compiled rule pattern; equal to another with the same source text."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        re2 = _re2()
        try:
            self._compiled = re2.compile(pattern, _options())
        except re2.error as exc:
            text = exc.args[0].decode(errors="replace") if exc.args else str(exc)
            problem, _, where = text.partition(": ")  # "missing ): (Fund|Scheme"
            reason = f"{problem} at '{where}'" if where else problem
            if text.startswith(_UNSUPPORTED):
                reason += " (rules use RE2: no backreferences or lookaround)"
            raise ValueError(f"invalid regular expression '{pattern}': {reason}") from None
        self.pattern = pattern

    def search(self, text: str) -> bool:
        return self._compiled.search(text) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"
