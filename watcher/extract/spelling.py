"""The forms a name is compared and keyed in, wherever names meet: the gazetteer matching
text against known aliases, and the baseline refusing an alias two entries share.

A module of its own, below both: with ``normalise`` in the gazetteer, which reads the
baseline, the baseline's check on its aliases made the two import each other.
"""

from __future__ import annotations

import re
import unicodedata

_SPELLINGS = {"center": "centre", "centers": "centres", "program": "programme",
              "programs": "programmes", "organization": "organisation"}
_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_POSSESSIVE = re.compile(r"['’]s?$")


def normalise(name: str) -> str:
    """The form aliases are compared in: NFKC, lower case, straight quotes, no hyphens,
    single spaces, British spelling, no leading article or trailing possessive."""
    text = unicodedata.normalize("NFKC", name).lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"[-‐‑–]", "", text)
    text = re.sub(r"\s*&\s*", " and ", text) if " " in text.strip() else text  # not "I&T"
    text = _POSSESSIVE.sub("", _ARTICLE.sub("", " ".join(text.split())))
    text = " ".join(_SPELLINGS.get(word, word) for word in text.split())
    return text.replace("ization", "isation")


def slugify(name: str) -> str:
    """A stable key for a name: ``"The I&T Blueprint"`` -> ``"the-i-and-t-blueprint"``.
    Chinese characters are kept, so a Chinese-only name still has a readable key."""
    text = unicodedata.normalize("NFKC", name).lower().replace("&", " and ")
    text = re.sub(r"['’]", "", text)
    return re.sub(r"[^0-9a-z\u3400-\u9fff]+", "-", text).strip("-")
