"""Facts about a text that several finders need, computed once per text.

Most finders ignore case, and most pages hold no Chinese. A finder can first look for its
keywords with ``str.find`` in :func:`lowered` text (fast, C-level) and run its full
pattern only where a keyword is, or not at all; and it can skip its Chinese patterns when
:func:`has_cjk` says there is nothing for them. Both are cached for the last few texts, so
the finders of one page share one computation (a page is one ``str`` object: the cache
hits on identity, without comparing characters).
"""

from __future__ import annotations

import re
from functools import lru_cache

# The only characters that ``re.IGNORECASE`` matches to an ASCII letter other than the
# letter's two cases (İ, ı, ſ, the Kelvin sign), and the only ones whose ``str.lower()``
# is ASCII or longer than one character (İ, Kelvin). A text without them can be searched
# for ASCII keywords in its lower-case form, offset for offset.
_ODD_CASE = ("\u0130", "\u0131", "\u017f", "\u212a")
_CJK = re.compile(r"[\u3400-\u9fff]")


def fold(text: str) -> str | None:
    """``text.lower()``, where an ASCII keyword found in it at offset ``i`` is exactly
    where a case-ignoring pattern for that keyword would match ``text`` (same length,
    same offsets); None for the rare text where that does not hold."""
    if not text.isascii() and any(odd in text for odd in _ODD_CASE):
        return None
    return text.lower()


@lru_cache(maxsize=8)
def lowered(text: str) -> str | None:
    """:func:`fold` of a page's text, computed once for all the finders that ask."""
    return fold(text)


@lru_cache(maxsize=8)
def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any CJK ideograph (U+3400-U+9FFF)."""
    return not text.isascii() and _CJK.search(text) is not None


# Every head word of a name shape ("... Scheme") and of a back-reference ("the Fund")
# opens with one of these ("program" opens "programme", "lab" opens "laboratory"); the
# tests hold shapes and coref to it.
HEAD_NEEDLES = ("academy", "center", "centre", "cluster", "fund", "hub", "initiative",
                "innopark", "institute", "lab", "office", "park", "platform", "program",
                "scheme", "technopole")


@lru_cache(maxsize=8)
def head_word_offsets(text: str) -> list[int] | None:
    """Where in ``text`` a head word may start (any case), in order; None when
    :func:`lowered` cannot tell. A superset: each finder tries its pattern there."""
    low = lowered(text)
    return None if low is None else find_all(low, HEAD_NEEDLES)


def find_all(text: str, needles: tuple[str, ...]) -> list[int]:
    """The sorted, distinct offsets at which any of ``needles`` occurs in ``text``."""
    found: set[int] = set()
    for needle in needles:
        at = text.find(needle)
        while at != -1:
            found.add(at)
            at = text.find(needle, at + 1)
    return sorted(found)
