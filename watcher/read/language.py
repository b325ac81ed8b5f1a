"""Which of watcher's two languages a text is written in."""

from __future__ import annotations

import re

# Counted by deleting everything else: findall would build a string per letter.
_NOT_CJK = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")
_NOT_LATIN = re.compile(r"[^A-Za-z]+")
# One Chinese character carries about as much as a short English word, so a page that is
# one-fifth Han characters by count is Chinese with English names in it, not the reverse.
_ZH_SHARE = 0.2


def detect_language(text: str) -> str:
    """``"zh"`` when Han characters make up a fair share of the letters, else ``"en"``."""
    sample = text[:20_000]
    if sample.isascii():
        return "en"  # no Han character at all (a quick test in C)
    cjk = len(_NOT_CJK.sub("", sample))
    if not cjk:
        return "en"  # before counting letters: a match per word in English prose
    latin = len(_NOT_LATIN.sub("", sample))
    return "zh" if cjk / (cjk + latin) >= _ZH_SHARE else "en"


def normalise_language(tag: str | None) -> str | None:
    """``"zh-HK"`` -> ``"zh"``, ``"en-us"`` -> ``"en"``; None or "" -> None."""
    if not tag:
        return None
    primary = re.split(r"[-_\s]", tag.strip().lower(), maxsplit=1)[0]
    return primary or None
