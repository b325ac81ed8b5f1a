"""Every name on a page, before any becomes a fact: known names (the gazetteer), names of
a known shape, companies' production lines, and back-references ("the Scheme").

Resolution happens here, once per page: an alias or abbreviation becomes its canonical
key; an abbreviation in brackets right after a name ("the second Advanced Manufacturing
Centre (AMC)") is that name's, not another thing's; a short form of a name written earlier
("培訓計劃" after "新型工業化及科技培訓計劃", "Kinwah" after "Kinwah Precision Engineering
Limited") is the earlier thing; "the Scheme" is the nearest scheme named before it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from watcher.extract.amounts import Amount
from watcher.extract.coref import Antecedent, find_references, heads_of
from watcher.extract.gazetteer import Entity, Gazetteer
from watcher.extract.roles import RoleReading
from watcher.extract.shapes import find_candidates, find_production_lines, production_line_owner
from watcher.extract.spelling import slugify
from watcher.models import FactKind

# "創新科技及工業局局長" is a person's title, not news about the bureau.
_TITLE_AFTER = re.compile(r"局長|署長|處長|主席|總裁|行政總裁|總幹事")
_BRACKET_BEFORE = re.compile(r"\s*[(（]\s*$")
_BRACKET_AFTER = re.compile(r"\s*[)）]")


@dataclass
class Name:
    """A name found in the text, known or new, before it becomes a fact."""

    kind: FactKind
    key: str
    name: str  # canonical (English where known)
    text: str  # as written
    start: int
    end: int
    known: bool
    via: str = ""  # why it counts as a name, for the fact's cue; default from `known`
    heads: frozenset[str] = frozenset()  # head words a back-reference may use
    amounts: list[tuple[Amount, RoleReading]] = field(default_factory=list)
    # A back-reference to a new name: it adds a status to the name's fact, but makes no
    # fact of its own ("自計劃於二○一四年推出以來" after a new "…資助計劃").
    supporting: bool = False
    watched: bool = True  # False for a known thing that is never a fact (gazetteer.yaml)


def _known(entity: Entity, text: str, start: int, end: int, via: str = "") -> Name:
    heads = _entity_heads(entity) | heads_of((text,))
    return Name(entity.kind, entity.key, entity.name, text, start, end, True, via, heads,
                watched=entity.watched)


@lru_cache(maxsize=1024)  # entities are frozen and few; a page names each many times
def _entity_heads(entity: Entity) -> frozenset[str]:
    return heads_of((entity.name, *entity.aliases))


def find_names(text: str, gazetteer: Gazetteer, starts: Callable[[], list[int]]
               ) -> list[Name]:
    """Every name in ``text`` in order; ``starts()`` gives the sentences' start offsets
    (asked for only when a production line needs its sentence: most pages have none, and
    a page with no name needs no sentences at all)."""
    names: list[Name] = []
    covered = bytearray(len(text) + 1)  # 1 where a name is written
    for m in gazetteer.find(text):
        if m.entity.kind is FactKind.ORGANISATION and _TITLE_AFTER.match(text, m.end):
            continue
        if names and _is_bracketed_abbreviation(text, names[-1], m.start, m.end):
            continue
        names.append(_known(m.entity, m.text, m.start, m.end))
        covered[m.start:m.end] = b"\x01" * (m.end - m.start)
    known = list(names)  # in text order, for the lookups below
    known_starts = [n.start for n in known]
    dropped: set[int] = set()  # ids of known names that only open a longer name
    suffixes = _suffixes(known)
    for cand in find_candidates(text):
        if 1 in covered[cand.start:cand.end]:
            owner = _owner_prefix(known, known_starts, cand.start, cand.end)
            if owner is None:
                continue  # part of a known name: "Microelectronics Centre" in a longer alias
            dropped.add(id(owner))  # "HKSTP Venture Fund" is the fund, not the HKSTP
        resolved = gazetteer.resolve(cand.name) or _short_form(cand.name, cand.start, suffixes)
        if resolved is not None:
            names.append(_known(resolved, cand.name, cand.start, cand.end,
                                via="" if gazetteer.resolve(cand.name) else "short form"))
        else:
            start, name = _with_owner(text, cand.start, cand.name, gazetteer)
            names.append(Name(cand.kind, slugify(name), name, text[start:cand.end], start,
                              cand.end, False, heads=heads_of((cand.name,))))
        if cand.name.isascii():  # a Chinese shape may be a mis-cut back-reference: see below
            covered[cand.start:cand.end] = b"\x01" * (cand.end - cand.start)
    names = _resolve_generic([n for n in names if id(n) not in dropped])
    names.extend(_production_lines(text, gazetteer, starts))
    names.sort(key=lambda n: n.start)
    return _with_references(text, names, covered)


# Words that say what kind of thing a name is, or that it is new or special, but not
# which thing: a name made only of these ("Pilot Scheme", "the Matching Fund", "先導計劃",
# "資助計劃") is a short form of a fuller name on the page, never a thing of its own.
_GENERIC_WORDS = frozenset((
    "pilot", "new", "special", "dedicated", "funding", "fund", "support", "supporting",
    "matching", "subsidy", "subsidies", "grant", "grants", "trial", "enhanced", "enhancement",
    "relevant", "said", "above", "proposed", "research", "development", "innovation",
    "technology", "technologies", "i&t", "r&d", "smart", "industry", "industrial", "government",
    "public", "sector", "enterprise", "enterprises", "business", "businesses", "first",
    "second", "third", "scheme", "schemes", "programme", "programmes", "program", "initiative",
    "centre", "center", "institute", "park", "hub", "cluster", "laboratory", "platform",
    "office", "the", "this", "that", "its", "and", "of", "for", "to", "a", "an", "investment",
    "venture", "capital", "incubation",
))
_ZH_GENERIC = re.compile(
    r"(?:先導|資助|支援|配對|試驗|試行|專項|相關|有關|上述|該|此|本|新|研究|研發|發展|創新|科技|"
    r"創科|優化|加強|推行|計劃|基金|中心|平台|辦公室|投資|培育|創投|專題|有限|政府)+")


def _is_generic(name: Name) -> bool:
    if name.known:
        return False
    if name.name.isascii():
        return all(word in _GENERIC_WORDS for word in re.findall(r"[\w&'’+-]+",
                                                                 name.name.lower()))
    return _ZH_GENERIC.fullmatch(name.name) is not None


def _words(name: str) -> list[str]:
    return re.findall(r"[\w&+]+", name.lower()) if name.isascii() else list(name)


def _resolve_generic(names: list[Name]) -> list[Name]:
    """A generic name ("the Pilot Scheme", "先導計劃") is the fuller name on the page that
    ends with its words ("Factory Line Renewal Support Pilot Scheme"), the nearest one
    before it, else the first after; with no such name it names nothing and is dropped."""
    full = [n for n in names if not _is_generic(n)]
    out = []
    for name in names:
        if not _is_generic(name):
            out.append(name)
            continue
        words = _words(name.name)
        matches = [n for n in full if n.kind is name.kind
                   and _words(n.name if n.name.isascii() == name.name.isascii() else n.text)
                   [-len(words):] == words and len(_words(n.name)) > len(words)]
        if not matches:
            continue
        before = [n for n in matches if n.start < name.start]
        target = before[-1] if before else matches[0]
        out.append(Name(target.kind, target.key, target.name, name.text, name.start, name.end,
                        target.known, f"'{name.text}' is short for '{target.text}', so "
                        f"{'known name' if target.known else 'name shape'}", target.heads,
                        supporting=not target.known, watched=target.watched))
    return out


_BRAND = re.compile(r"\w-[A-Z]|[a-z][A-Z]|\+")  # Incu-Tech, InnoHK, RAISe+
_POSSESSIVE_BEFORE = re.compile(r"([A-Z][\w&-]*)['’]s\s+$")


def _with_owner(text: str, start: int, name: str, gazetteer: Gazetteer) -> tuple[int, str]:
    """"Cyberport's Incubation Programme" is the "Cyberport Incubation Programme": a known
    body or park that owns a new name is part of it (several bodies run an "Incubation
    Programme"); "the Government's" is no such owner."""
    match = _POSSESSIVE_BEFORE.search(text, max(0, start - 40), start)
    if match is None or _BRAND.search(name):
        return start, name  # "HKSTP's Incu-Tech programme": a brand is unique by itself
    owner = gazetteer.resolve(match.group(1))
    if owner is None or owner.kind is FactKind.FUNDING:
        return start, name
    return match.start(), f"{match.group(1)} {name}"


def _owner_prefix(known: list[Name], starts: list[int], start: int, end: int) -> Name | None:
    """The known name that only opens the shaped name ``[start, end)`` as its owner ("HKSTP"
    in "HKSTP Venture Fund", "Cyberport" in "Cyberport Macro Fund"), if that is the only
    known name inside it. ``known`` is in text order and ``starts`` holds its starts."""
    lo = max(0, bisect_right(starts, start) - 1)
    hi = bisect_right(starts, end)
    inside = [n for n in known[lo:hi] if n.start < end and start < n.end]
    if len(inside) == 1 and inside[0].start == start and inside[0].end < end \
            and inside[0].text.isascii():
        return inside[0]
    return None


def _is_bracketed_abbreviation(text: str, previous: Name, start: int, end: int) -> bool:
    """"the second Advanced Manufacturing Centre (AMC)": the AMC in brackets is the
    abbreviation the writer gives the name before it, whatever else "AMC" may name."""
    return (previous.end <= start and start - previous.end <= 3
            and bool(_BRACKET_BEFORE.fullmatch(text, previous.end, start))
            and bool(_BRACKET_AFTER.match(text, end)))


def _suffixes(known: list[Name]) -> dict[str, Name]:
    """Each proper suffix (4 characters or more) of the Chinese known names, with the
    first name that ends in it."""
    out: dict[str, Name] = {}
    for name in known:
        if not name.text.isascii():
            for cut in range(1, len(name.text) - 3):
                out.setdefault(name.text[cut:], name)
    return out


def _short_form(name: str, start: int, suffixes: dict[str, Name]) -> Entity | None:
    """A Chinese name that ends a known name written earlier ("培訓計劃") is that thing."""
    earlier = suffixes.get(name) if not name.isascii() else None
    if earlier is None or earlier.start >= start:
        return None
    return Entity(earlier.key, earlier.kind, earlier.name, (earlier.text,))


def _production_lines(text: str, gazetteer: Gazetteer, sentence_starts: Callable[[], list[int]]
                      ) -> list[Name]:
    """A production line is worth a fact only as some company's: "ABC Ltd will set up a
    production line". Unowned ("new smart production lines") is policy talk. A company
    named again by a short form ("Kinwah's chairman") keeps its full name."""
    found: list[Name] = []
    owners: list[str] = []
    lines = find_production_lines(text)
    if not lines:
        return found
    starts = sentence_starts()
    for start, end in lines:
        lo = starts[max(0, bisect_right(starts, start) - 1)]
        owner = re.sub(r"['’]s$", "", production_line_owner(text, lo, start))
        if not owner or gazetteer.resolve(owner) is not None:
            continue
        owner = next((o for o in owners if o.startswith(owner + " ")), owner)
        owners.append(owner)
        found.append(Name(FactKind.FACILITY, f"production-line-{slugify(owner)}",
                          f"{owner} production line", text[start:end], start, end, False))
    return found


def _with_references(text: str, names: list[Name], covered: bytearray) -> list[Name]:
    """``names`` plus a name for each back-reference; a Chinese shape that is really a
    back-reference with a verb before it ("發展科技城") gives way to it."""
    antecedents = [Antecedent(n.start, n.end, n.heads) for n in names]
    references = find_references(text, antecedents, covered)
    if not references:
        return names
    referred = bytearray(len(text) + 1)
    for r in references:
        referred[r.start:r.end] = b"\x01" * (r.end - r.start)
    kept = [n for n in names
            if n.known or n.text.isascii() or 1 not in referred[n.start:n.end]]
    for ref in references:
        target = names[ref.antecedent]
        kept.append(Name(target.kind, target.key, target.name, ref.text, ref.start, ref.end,
                         target.known, f"'{ref.text}' refers back to '{target.text}', so "
                         f"{'known name' if target.known else 'name shape'}", target.heads,
                         supporting=not target.known, watched=target.watched))
    kept.sort(key=lambda n: n.start)
    return kept
