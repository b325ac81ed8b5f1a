"""Document -> facts: funds with their amounts, facilities and organisations with status.

Every finder (known names, name shapes, amounts, status cues) runs once over the whole
text; its hits are then dealt out to the sentences they fall in, so the work grows with
the text, not with sentences times names. Within a sentence:

- a **funding** name (known, or of the shape "... Scheme/Fund/Programme", "...計劃/基金")
  takes the nearest amounts that are funds' amounts (see :mod:`roles`): its size, a
  per-project cap, the value a change replaced. A new name needs such an amount; a
  sentence with no name but "fund"/"基金" + an amount + a cue such as "earmarked" is an
  unnamed fund, resolved by amount to a known one (the seed's "fund of HK$10 billion").
- a **facility** or **organisation** takes the status cue nearest to it, except where it
  is only a place ("in Tseung Kwan O InnoPark"). A new name needs a cue, and a new
  facility must sound like I&T.

Then one fact per key per document: the mention with an amount and a status wins (its
evidence, amount and status), and it gathers the attributes (cap, matching ratio...) that
other sentences stated about the same key.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from watcher.extract.amounts import Amount, find_amounts
from watcher.extract.gazetteer import Entity, Gazetteer, slugify
from watcher.extract.roles import Role, amount_role
from watcher.extract.sentences import Sentence, split_sentences
from watcher.extract.shapes import (
    find_candidates,
    find_production_lines,
    production_line_owner,
    sounds_like_innovation,
)
from watcher.extract.status import StatusCue, find_status_cues, nearest_cue
from watcher.models import Document, Fact, FactKind, Status

_GENERIC_FUND = re.compile(r"\b(?:fund|funds|funding)\b|基金|資金")
_GENERIC_FUND_CUES = frozenset({Status.EARMARKED, Status.PLANNED, Status.LAUNCHED})
_NEW_THING_CUES = frozenset({Status.PLANNED, Status.CONTEMPLATED, Status.UNDER_CONSTRUCTION,
                             Status.OPENED, Status.ESTABLISHED, Status.LAUNCHED})
_LOCATIVE = re.compile(
    r"(?:\b(?:in|at|within|inside|located\s+in|situated\s+in|near|from)\s+(?:the\s+)?"
    r"|位於|在|於)$", re.IGNORECASE)
_TITLE_AFTER = re.compile(r"局長|署長|處長|主席|總裁|行政總裁|總幹事")
_RATIO = re.compile(r"(?<![\d:])([1-9])\s*:\s*([1-9])(?![\d:])")
_RATIO_CONTEXT = re.compile(r"match|ratio|basis|配對|比例", re.IGNORECASE)
_FRACTIONS = {"one-third": "1/3", "one third": "1/3", "two-thirds": "2/3", "two thirds": "2/3",
              "one-half": "1/2", "half": "1/2", "one-quarter": "1/4", "one quarter": "1/4",
              "三分之一": "1/3", "三分之二": "2/3", "一半": "1/2", "四分之一": "1/4"}
_FRACTION = re.compile("|".join(sorted(map(re.escape, _FRACTIONS), key=len, reverse=True)),
                       re.IGNORECASE)
_FRACTION_CONTEXT = re.compile(r"cover|fund|subsid|share|cost|資助|承擔|成本", re.IGNORECASE)


@dataclass
class _Name:
    """A name found in a sentence, known or new, before it becomes a fact."""

    kind: FactKind
    key: str
    name: str
    text: str
    start: int
    end: int
    known: bool
    via: str = ""  # why it counts as a name, for the fact's cue; default from `known`
    amounts: list[tuple[Amount, Role]] = field(default_factory=list)


def _bucket(starts: list[int], items: list[tuple[int, object]]) -> dict[int, list[object]]:
    """Deal items out to sentences by their start offset."""
    out: dict[int, list[object]] = defaultdict(list)
    for pos, item in items:
        index = bisect_right(starts, pos) - 1
        if index >= 0:
            out[index].append(item)
    return out


def extract(document: Document, gazetteer: Gazetteer) -> list[Fact]:
    """The facts of ``document``, one per key, in order of first mention."""
    facts: list[Fact] = []
    for text in (document.title, document.text):
        if text and text.strip():
            facts.extend(_extract_text(text, gazetteer, document.language))
    return merge_facts(facts)


def _extract_text(text: str, gazetteer: Gazetteer, language: str) -> list[Fact]:
    sentences = split_sentences(text)
    if not sentences:
        return []
    starts = [s.start for s in sentences]
    mentions = gazetteer.find(text)
    covered = bytearray(len(text) + 1)  # 1 where a known name is written
    for m in mentions:
        covered[m.start:m.end] = b"\x01" * (m.end - m.start)
    names: list[tuple[int, object]] = [
        (m.start, _Name(m.entity.kind, m.entity.key, m.entity.name, m.text, m.start, m.end, True))
        for m in mentions
        # "創新科技及工業局局長" is a person's title, not news about the bureau.
        if not (m.entity.kind is FactKind.ORGANISATION and _TITLE_AFTER.match(text, m.end))
    ]
    for cand in find_candidates(text):
        if 1 in covered[cand.start:cand.end]:
            continue  # part of a known name: "Microelectronics Centre" in a longer alias
        resolved = gazetteer.resolve(cand.name)
        if resolved is not None:
            names.append((cand.start, _known(resolved, cand.name, cand.start, cand.end)))
        else:
            names.append((cand.start, _Name(cand.kind, slugify(cand.name), cand.name, cand.name,
                                            cand.start, cand.end, False)))
    for start, end in find_production_lines(text):
        # A production line is worth a fact only as some company's: "ABC Ltd will set up
        # a production line". Unowned ("new smart production lines") is policy talk.
        lo = starts[max(0, bisect_right(starts, start) - 1)]
        owner = production_line_owner(text, lo, start)
        if owner and gazetteer.resolve(owner) is None:
            names.append((start, _Name(FactKind.FACILITY, f"production-line-{slugify(owner)}",
                                       f"{owner} production line", text[start:end], start, end,
                                       False)))
    by_names = _bucket(starts, names)
    by_amounts = _bucket(starts, [(a.start, a) for a in find_amounts(text)])
    masked = _mask(text, names)
    facts: list[Fact] = []
    for index, sentence in enumerate(sentences):
        found = by_names.get(index, [])
        amounts = by_amounts.get(index, [])
        if not found and not amounts:
            continue
        # Cues only matter where there is a name or an amount: look for them only there.
        cues = [replace(c, start=c.start + sentence.start, end=c.end + sentence.start)
                for c in find_status_cues(masked[sentence.start:sentence.end])]
        facts.extend(_sentence_facts(
            text, sentence, [n for n in found if isinstance(n, _Name)],
            [a for a in amounts if isinstance(a, Amount)], cues, gazetteer, language))
    return facts


def _mask(text: str, names: list[tuple[int, object]]) -> str:
    """``text`` with every name blanked out, so that no name lends its words to a status
    cue ("再工業化資助計劃於2020年推出" is "launched", not "計劃...推出" planned)."""
    chars = list(text)
    for _, name in names:
        if isinstance(name, _Name):
            chars[name.start:name.end] = "\0" * (name.end - name.start)
    return "".join(chars)


def _known(entity: Entity, text: str, start: int, end: int) -> _Name:
    return _Name(entity.kind, entity.key, entity.name, text, start, end, True)


_PARENT_BEFORE = re.compile(r"\bunder\s+(?:the\s+)?$", re.IGNORECASE)
_PARENT_AFTER = re.compile(r"^(?:轄)?下")


def _is_parent(text: str, name: _Name) -> bool:
    before = text[max(0, name.start - 12):name.start]
    return bool(_PARENT_BEFORE.search(before) or _PARENT_AFTER.match(text, name.end))


def _distance(name: _Name, amount: Amount) -> int:
    return amount.start - name.end if amount.start >= name.end else name.start - amount.end


def _sentence_facts(text: str, sentence: Sentence, names: list[_Name], amounts: list[Amount],
                    cues: list[StatusCue], gazetteer: Gazetteer, language: str) -> list[Fact]:
    hkd = [(a, amount_role(text, a, sentence.start, sentence.end)) for a in amounts
           if a.hkd is not None]
    fund_amounts = [(a, r) for a, r in hkd if r is not Role.OTHER]
    funding = [n for n in names if n.kind is FactKind.FUNDING]
    if not funding and fund_amounts and _GENERIC_FUND.search(sentence.text):
        generic = _generic_fund(sentence, fund_amounts, cues, gazetteer)
        if generic is not None:
            funding.append(generic)
            names.append(generic)
    # Each amount goes to the nearest funding name; a parent named as the frame ("under the
    # ITF", "創新及科技基金下的") takes none while a scheme of its own is named.
    takers = [n for n in funding if not _is_parent(text, n)] or funding
    for amount, role in fund_amounts:
        if takers:
            min(takers, key=lambda n: _distance(n, amount)).amounts.append((amount, role))
    facts = []
    for name in names:
        cue = _status_cue(text, name, names, cues)
        if name.kind is FactKind.FUNDING:
            fact = _funding_fact(text, sentence, name, cue, funding, language)
        else:
            fact = _thing_fact(text, sentence, name, cue, language)
        if fact is not None:
            facts.append(fact)
    return facts


_ALLOWED: dict[FactKind, frozenset[Status]] = {
    FactKind.FUNDING: frozenset(Status) - {Status.UNDER_CONSTRUCTION, Status.OPENED},
    FactKind.FACILITY: frozenset(Status) - {Status.EARMARKED, Status.LAUNCHED},
    FactKind.ORGANISATION: frozenset({Status.CONTEMPLATED, Status.PLANNED, Status.ESTABLISHED,
                                      Status.EXISTING, Status.CLOSED}),
    FactKind.FIGURE: frozenset(),
}


def _status_cue(text: str, name: _Name, names: list[_Name], cues: list[StatusCue]
                ) -> StatusCue | None:
    """The cue that speaks of ``name``: the nearest cue of a status its kind can have,
    skipping a cue after the name that has an object of its own ("HKSTP plans to build
    a Quantum Centre": "plans to" is the centre's, not HKSTP's) or a nearer subject
    ("元朗創新園微電子中心正式開幕": the centre opened, not the InnoPark)."""
    others = [o for o in names if o is not name and o.key != name.key
              and not _LOCATIVE.search(text, max(0, o.start - 20), o.start)]
    usable = []
    for cue in cues:
        if cue.status not in _ALLOWED[name.kind]:
            continue
        if cue.start >= name.end and any(
            cue.end <= o.start <= cue.end + 40  # the cue has an object of its own
            or name.end <= o.start < cue.start  # a nearer name is the cue's subject
            for o in others
        ):
            continue
        usable.append(cue)
    return nearest_cue(usable, name.start, name.end)


def _generic_fund(sentence: Sentence, fund_amounts: Sequence[tuple[Amount, Role]],
                  cues: list[StatusCue], gazetteer: Gazetteer) -> _Name | None:
    """"A fund of HK$10 billion has been earmarked": an unnamed fund, known by amount."""
    totals = [a for a, r in fund_amounts if r is Role.TOTAL]
    if not totals or not any(c.status in _GENERIC_FUND_CUES for c in cues):
        return None
    amount = totals[0]
    assert amount.hkd is not None
    known = gazetteer.by_amount(FactKind.FUNDING, amount.hkd)
    match = _GENERIC_FUND.search(sentence.text)
    assert match is not None
    word = match.group()
    start = sentence.start + match.start()
    if known is not None:
        return _Name(FactKind.FUNDING, known.key, known.name, word, start, start + len(word),
                     True, via="scheme word")
    return _Name(FactKind.FUNDING, f"unnamed-fund-{amount.hkd}", f"Unnamed fund of {amount.text}",
                 word, start, start + len(word), False, via="scheme word")


def _funding_fact(text: str, sentence: Sentence, name: _Name, cue: StatusCue | None,
                  funding: list[_Name], language: str) -> Fact | None:
    total = next((a for a, r in name.amounts if r is Role.TOTAL), None)
    cap = next((a for a, r in name.amounts if r is Role.CAP), None)
    previous = next((a for a, r in name.amounts if r is Role.PREVIOUS), None)
    added = next((a for a, r in name.amounts if r is Role.ADDED), None)
    if not name.known and total is None and cap is None:
        return None  # a new "... Scheme" only counts with its money beside it
    if not name.known and not (sounds_like_innovation(name.name)
                               or sounds_like_innovation(sentence.text)):
        # The Capital Works Reserve Fund, the Samaritan Fund, an arts events fund: money,
        # but no I&T or industry in the name or the sentence, so no scheme to watch.
        return None
    attributes: list[tuple[str, str]] = []
    if cap is not None:
        attributes.append(("cap_per_project_hkd", str(cap.hkd)))
    if previous is not None:
        which = "previous_cap_per_project_hkd" if cap is not None else "previous_amount_hkd"
        attributes.append((which, str(previous.hkd)))
    if added is not None:
        attributes.append(("added_hkd", str(added.hkd)))
    nearest_funding = len(funding) == 1 or name is min(
        funding, key=lambda n: abs(n.start - sentence.start))
    if nearest_funding:  # ratios and shares belong to the sentence's main scheme
        ratio = _RATIO.search(sentence.text)
        if ratio and _RATIO_CONTEXT.search(sentence.text):
            attributes.append(("matching_ratio", f"{ratio.group(1)}:{ratio.group(2)}"))
        fraction = _FRACTION.search(sentence.text)
        if fraction and _FRACTION_CONTEXT.search(sentence.text):
            attributes.append(("government_share", _FRACTIONS[fraction.group().lower()]))
    why = [f"{name.via or ('known name' if name.known else 'name shape')} '{name.text}'"]
    if total is not None:
        why.insert(0, f"amount '{total.text}'")
    if cap is not None:
        why.append(f"cap '{cap.text}'")
    if cue is not None:
        why.append(f"status cue '{cue.cue}'")
    return Fact(
        kind=FactKind.FUNDING, key=name.key, name=name.name, evidence=sentence.text,
        amount_hkd=total.hkd if total is not None else None,
        status=cue.status if cue is not None else None,
        attributes=tuple(attributes), cue=" + ".join(why[:2]) + "".join(
            f"; {w}" for w in why[2:]), language=language)


def _thing_fact(text: str, sentence: Sentence, name: _Name, cue: StatusCue | None,
                language: str) -> Fact | None:
    if _LOCATIVE.search(text, max(sentence.start, name.start - 20), name.start):
        cue = None  # "in Tseung Kwan O InnoPark" says where, not what happened to it
    if not name.known:
        if cue is None or cue.status not in _NEW_THING_CUES:
            return None
        if name.kind is FactKind.FACILITY and not sounds_like_innovation(name.name):
            return None  # sports centres, waterfront parks
    why = f"{'known name' if name.known else 'name shape'} '{name.text}'"
    if cue is not None:
        why += f"; status cue '{cue.cue}'"
    return Fact(kind=name.kind, key=name.key, name=name.name, evidence=sentence.text,
                status=cue.status if cue is not None else None, cue=why, language=language)


def _score(fact: Fact) -> tuple[int, int, int]:
    return (fact.amount_hkd is not None, fact.status is not None, len(fact.attributes))


def merge_facts(facts: list[Fact]) -> list[Fact]:
    """One fact per key: the most informative mention (amount, then status, then
    attributes); the first mention wins a tie."""
    best: dict[str, Fact] = {}
    attributes: dict[str, dict[str, str]] = defaultdict(dict)
    for fact in facts:
        current = best.get(fact.key)
        if current is None or _score(fact) > _score(current):
            best[fact.key] = fact
        for name, value in fact.attributes:  # a scheme's terms, from whichever sentence
            attributes[fact.key].setdefault(name, value)
    merged = []
    for key, fact in best.items():
        terms = {**attributes[key], **dict(fact.attributes)}
        merged.append(replace(fact, attributes=tuple(sorted(terms.items()))))
    return merged
