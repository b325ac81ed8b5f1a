"""Back-references: "the Scheme", "the Fund's", "該計劃", "研發院" -> the thing named earlier.

Government releases name a scheme once ("the New Industrialisation Acceleration Scheme
(NIAS)") and then write "the Scheme" for the rest of the page; the amounts, caps and status
cues in those later sentences belong to the named scheme. A back-reference is a definite
head word ("the" + Scheme, Fund, Centre... in English; 該/此/本 + 計劃, 基金... or a head
word opening a clause in Chinese) and refers to the nearest name before it that ends in the
same head. A plural ("the Schemes") refers to several things and is left alone.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from watcher.extract.scan import has_cjk, head_word_offsets

_EN_HEADS = ("scheme", "fund", "programme", "initiative", "centre", "institute", "park",
             "technopole", "hub", "office", "laboratory", "cluster", "platform")
_EN_SPELLING = {"program": "programme", "center": "centre", "lab": "laboratory"}
_ZH_HEADS = ("計劃", "基金", "中心", "研發院", "研究院", "科技園", "創新園", "科技城", "實驗室",
             "平台", "辦公室")
# "[Tt]" first, the boundary after it: a pattern that opens with a character class lets
# the regex engine skip to the next T or t instead of trying every position.
_EN_REFERENCE = re.compile(
    r"[Tt](?<![A-Za-z].)(?:he|his)\s+(?P<head>(?i:scheme|fund|programme|program|initiative"
    r"|centre|center|institute|park|technopole|hub|office|laboratory|lab|cluster|platform))"
    r"(?:['’]s)?(?![\w'’-])(?!\s+[A-Z][a-z])"  # "the Fund Management Company" is a name
)
_ZH_REFERENCE = re.compile(rf"(?P<det>該|此|本)?(?P<head>{'|'.join(_ZH_HEADS)})")
# Where a Chinese head word opens a clause, or follows a verb or preposition that takes it
# as object ("發展科技城", "在計劃下"): there it can only be a back-reference.
_ZH_OPENERS = "。，；：、「『（(\n "
_ZH_BEFORE = re.compile(r"(?:發展|興建|管理|營運|使用|支援|透過|通過|在|於|與|和|及|由|經|向|自)$")


@dataclass(frozen=True, slots=True)
class Antecedent:
    start: int
    end: int
    heads: frozenset[str]  # head words it can be referred back to by: {"scheme", "計劃"}


@dataclass(frozen=True, slots=True)
class Reference:
    text: str
    start: int
    end: int
    antecedent: int  # index into the antecedents given to find_references


@lru_cache(maxsize=4096)  # a page names the same few things again and again
def heads_of(names: tuple[str, ...]) -> frozenset[str]:
    """The head words of a thing's names: the last English word (singular, British
    spelling) and any Chinese head suffix."""
    heads = set()
    for name in names:
        name = name.strip()
        words = re.findall(r"[A-Za-z]+", name)
        if words and name[-1:].isascii():
            word = words[-1].lower()
            word = _EN_SPELLING.get(word, word)
            if word.endswith("s") and word[:-1] in _EN_HEADS:
                word = word[:-1]
            if word in _EN_HEADS:
                heads.add(word)
        heads.update(h for h in _ZH_HEADS if name.endswith(h))
    return frozenset(heads)


def _zh_is_reference(text: str, start: int, det: bool) -> bool:
    if det or start == 0 or text[start - 1] in _ZH_OPENERS:
        return True
    return bool(_ZH_BEFORE.search(text, max(0, start - 2), start))


def _en_references(text: str) -> list[re.Match[str]]:
    """``_EN_REFERENCE.finditer(text)``, trying the pattern only before head words.

    A reference is "the"/"this", spaces, then a head: from each head word found in the
    lowered text, the spaces before it lead back to the one place a reference to it can
    start. References cannot overlap (each holds one run of spaces, between its two
    words), so matching at each such place finds them all."""
    offsets = head_word_offsets(text)
    if offsets is None:
        return list(_EN_REFERENCE.finditer(text))
    starts: set[int] = set()
    for at in offsets:
        space = at
        while space > 0 and text[space - 1].isspace():
            space -= 1
        if space < at:  # "the" or "this" must end where the spaces begin
            starts.update((space - 3, space - 4))
    found = (_EN_REFERENCE.match(text, start) for start in sorted(starts) if start >= 0)
    return [match for match in found if match is not None]


def find_references(text: str, antecedents: Sequence[Antecedent], taken: bytearray
                    ) -> list[Reference]:
    """Every back-reference in ``text`` outside the spans marked in ``taken`` (names
    already found), each with the nearest earlier antecedent sharing its head word."""
    # For each head word, its antecedents' ends (in text order) and indexes: the nearest
    # one before a reference is a bisection away.
    by_head: dict[str, tuple[list[int], list[int]]] = {}
    for index in sorted(range(len(antecedents)), key=lambda i: antecedents[i].end):
        for head in antecedents[index].heads:
            ends, indexes = by_head.setdefault(head, ([], []))
            ends.append(antecedents[index].end)
            indexes.append(index)
    found: list[Reference] = []
    candidates: list[tuple[int, int, str]] = []
    for match in _en_references(text):
        head = match.group("head").lower()
        candidates.append((match.start(), match.end(), _EN_SPELLING.get(head, head)))
    for match in _ZH_REFERENCE.finditer(text) if has_cjk(text) else ():
        if _zh_is_reference(text, match.start(), bool(match.group("det"))):
            candidates.append((match.start(), match.end(), match.group("head")))
    for start, end, head in candidates:
        if 1 in taken[start:end]:
            continue
        ends, indexes = by_head.get(head, ([], []))
        position = bisect_right(ends, start) - 1
        if position >= 0:
            found.append(Reference(text[start:end], start, end, indexes[position]))
    return sorted(found, key=lambda r: r.start)
