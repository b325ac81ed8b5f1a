"""Simplified Chinese read as Traditional, character for character.

The government publishes Simplified copies of its releases (sc.isd.gov.hk, sc.news.gov.hk)
and the gazetteer knows names in Traditional characters. A page written in Simplified is
read through a one-to-one character map (OpenCC's own Simplified-to-Traditional table), so
every offset stays where it was: names and amounts are found in the mapped text and the
evidence is cut from the page as written.

Only characters that are never Traditional are mapped (发 -> 發, 计 -> 計), plus a few that
double as rare Traditional characters but stand for the common one in these texts (万, 后,
划, 范, 准); 台, 制 or 系 are left alone, because Hong Kong writes them too. A page is read
as Simplified only when it holds several Simplified-only characters, so a Traditional page
is never touched.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

# Characters that are also (rarely) Traditional, but in a Simplified government text are
# the simplified form of another: "1万" is 萬, "后续" 後續, "计划" 計劃, "范围" 範圍, "于" 於.
_OVERRIDES = {"万": "萬", "后": "後", "划": "劃", "范": "範", "准": "準", "于": "於"}
# How many Simplified-only characters make a page Simplified: a Traditional page may quote
# a name or two in Simplified, and is still read as written.
_MIN_SIMPLIFIED = 4


@cache
def _table() -> dict[int, str]:
    """Simplified character -> Traditional, for the characters that are never
    Traditional themselves."""
    text = (resources.files("opencc") / "dictionary" / "STCharacters.txt").read_text("utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        simplified, _, candidates = line.partition("\t")
        options = candidates.split()
        if len(simplified) == 1 and options and simplified not in options \
                and len(options[0]) == 1:
            table[ord(simplified)] = options[0]
    table.update({ord(k): v for k, v in _OVERRIDES.items()})
    return table


def is_simplified(text: str) -> bool:
    """Whether ``text`` is written in Simplified characters."""
    if text.isascii():
        return False
    table = _table()
    count = 0
    for char in text:
        if ord(char) in table and char not in _OVERRIDES:
            count += 1
            if count >= _MIN_SIMPLIFIED:
                return True
    return False


def to_traditional(text: str) -> str:
    """``text`` with every Simplified character in its Traditional form, same length."""
    return text.translate(_table()) if is_simplified(text) else text


def traditional_characters(text: str) -> str:
    """``text`` with any Simplified character in its Traditional form, however few there
    are (for comparing keys; pages go through :func:`to_traditional`)."""
    return text.translate(_table())

