"""Document -> facts: funds with their amounts, facilities and organisations with status.

Every finder (names with their back-references, see :mod:`names`; amounts; status cues)
runs once over the whole text; its hits are then dealt out to the sentences they fall in,
so the work grows with the text, not with sentences times names. Within a sentence:

- a **funding** name (known, or of the shape "... Scheme/Fund/Programme", "...計劃/基金")
  takes the nearest amounts that are funds' amounts (see :mod:`roles`): its size, a
  per-project cap, the value a change replaced, money added. A name framed as a source or
  agent ("from the ITF", "由…撥款") takes none while another is there. A new name needs
  such an amount and I&T or industry in its name or sentence; a sentence with no name but
  "fund"/"基金" + an amount + a cue such as "earmarked" is an unnamed fund, resolved by
  amount to a known one (the seed's "fund of HK$10 billion").
- every name takes the status cue that speaks of it (see :mod:`ownership`), none where it
  is only a place, parent or agent ("in Tseung Kwan O InnoPark"). A new facility or
  organisation needs a cue, and a new facility must sound like I&T.

Then one fact per key per document: the mention with an amount wins (its evidence and
amount), the furthest status any mention states is the fact's, and it gathers the
attributes (cap, matching ratio...) that other sentences stated about the same key. A
back-reference to a new name ("the Fund") adds to that name's fact but makes none alone.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from itertools import accumulate

from watcher.extract.amounts import Amount, find_amounts
from watcher.extract.gazetteer import Gazetteer
from watcher.extract.names import Name, find_names
from watcher.extract.ownership import framed, status_cue
from watcher.extract.roles import RoleReading, amount_role
from watcher.extract.scan import fold
from watcher.extract.script import to_traditional
from watcher.extract.sentences import Sentence, split_sentences
from watcher.extract.shapes import sounds_like_innovation
from watcher.extract.status import StatusCue, find_status_cues
from watcher.models import (
    TERM_ROLES,
    AmountRole,
    Document,
    Fact,
    FactKind,
    RoleAmount,
    Status,
)

_GENERIC_FUND = re.compile(r"\b(?:fund|funds|funding)\b|基金|資金")
_EARMARK_WORDS = re.compile(r"\b(?:earmark\w*|set(?:s|ting)?\s+aside|reserv(?:e|ed|es|ing))\b"
                            r"|預留|撥出", re.IGNORECASE)
_BUILDING = re.compile(r"\b(?:build|building|construct\w*|develop(?:ing)?\s+the)\b|興建|建造|"
                       r"建設|擴建|發展.{0,8}(?:園|城|中心)", re.IGNORECASE)
_GENERIC_FUND_CUES = frozenset({Status.EARMARKED, Status.PLANNED, Status.LAUNCHED})
_NEW_THING_CUES = frozenset({Status.PLANNED, Status.CONTEMPLATED, Status.UNDER_CONSTRUCTION,
                             Status.OPENED, Status.ESTABLISHED, Status.LAUNCHED})
_RATIO = re.compile(r"(?<![\d:])([1-9])\s*:\s*([1-9])(?![\d:])")
_RATIO_CONTEXT = re.compile(r"match|ratio|basis|配對|比例", re.IGNORECASE)
_FRACTIONS = {"one-third": "1/3", "one third": "1/3", "two-thirds": "2/3", "two thirds": "2/3",
              "one-half": "1/2", "half": "1/2", "one-quarter": "1/4", "one quarter": "1/4",
              "三分之一": "1/3", "三分之二": "2/3", "一半": "1/2", "四分之一": "1/4"}
_FRACTION = re.compile("|".join(sorted(map(re.escape, _FRACTIONS), key=len, reverse=True)),
                       re.IGNORECASE)
_FRACTION_CONTEXT = re.compile(r"cover|fund|subsid|share|cost|資助|承擔|成本", re.IGNORECASE)
# Every fraction holds one of these (in lower case): a sentence with none needs no search.
_FRACTION_WORDS = ("half", "third", "quarter", "分之", "一半")


def _bucket(starts: list[int], items: list[tuple[int, object]]) -> dict[int, list[object]]:
    """Deal items out to sentences by their start offset."""
    out: dict[int, list[object]] = defaultdict(list)
    for pos, item in items:
        index = bisect_right(starts, pos) - 1
        if index >= 0:
            out[index].append(item)
    return out


def extract(document: Document, gazetteer: Gazetteer) -> list[Fact]:
    """The facts of ``document``, one per key, in order of first mention.

    The headline and the body are read as one text (the headline its own paragraph), so
    that "the Pilot Scheme" in the body resolves to the full name the headline gave."""
    parts = [part for part in (document.title, document.text) if part and part.strip()]
    written = "\n\n".join(parts)
    text = to_traditional(written)  # a Simplified page is read in Traditional characters
    found = _extract_text(text, gazetteer, document.language) if parts else []
    if text is not written:  # the evidence as the page wrote it: same offsets, same length
        found = [(replace(fact, evidence=_as_written(fact.evidence, text, written)), supporting)
                 for fact, supporting in found]
    stated = {fact.key for fact, supporting in found if not supporting}
    return merge_facts([fact for fact, supporting in found
                        if not supporting or fact.key in stated])


def _as_written(evidence: str, text: str, written: str) -> str:
    at = text.find(evidence)
    return written[at:at + len(evidence)] if at >= 0 else evidence


# A Policy Address or a Budget speech (or a release reporting one) proposes: "the launch of
# an I&T Accelerator Pilot Scheme" there is a plan, not a scheme open for applications.
_PLAN_DOCUMENT = re.compile(r"\bPolicy\s+Address\b|\bBudget\s+(?:Speech|speech)\b|"
                            r"\b[Tt]he\s+(?:\d{4}(?:-\d{2,4})?\s+)?Budget\b|施政報告|財政預算案|預算案")
_NOMINAL_LAUNCH = re.compile(r"^(?:the\s+|its\s+)?launch(?:\s+of)?$|^launching$", re.IGNORECASE)


def _as_planned(cue: StatusCue) -> StatusCue:
    """A cue read in a plan: a launch named as a noun is a launch to come."""
    if cue.status is Status.LAUNCHED and _NOMINAL_LAUNCH.match(cue.cue):
        return StatusCue(Status.PLANNED, cue.cue, cue.start, cue.end)
    return cue


def _extract_text(text: str, gazetteer: Gazetteer, language: str
                  ) -> list[tuple[Fact, bool]]:
    """(fact, supporting) pairs: a supporting fact only adds to a fact stated elsewhere."""
    plan = _PLAN_DOCUMENT.search(text, 0, 600) is not None
    split: list[Sentence] = []

    def sentences() -> list[Sentence]:
        if not split:
            split.extend(split_sentences(text))
        return split

    names = find_names(text, gazetteer, lambda: [s.start for s in sentences()])
    found_amounts = find_amounts(text)
    if not names and not found_amounts:
        return []  # most paragraphs of most pages: no need to split them into sentences
    starts = [s.start for s in sentences()]
    by_names = _bucket(starts, [(n.start, n) for n in names])
    by_amounts = _bucket(starts, [(a.start, a) for a in found_amounts])
    # The names that may reach into a sentence: those starting before its end whose end,
    # or an earlier name's, comes after its start (names are in text order).
    name_starts = [n.start for n in names]
    reach = list(accumulate((n.end for n in names), max))
    facts: list[tuple[Fact, bool]] = []
    for index, sentence in enumerate(sentences()):
        found = by_names.get(index, [])
        amounts = by_amounts.get(index, [])
        if not found and not (amounts and (_GENERIC_FUND.search(sentence.text)
                                           or _EARMARK_WORDS.search(sentence.text))):
            continue  # no name, and no fund or money set aside: the sentence says nothing
        # Cues only matter where there is a name or an amount: look for them only there.
        cues = [StatusCue(c.status, c.cue, c.start + sentence.start, c.end + sentence.start)
                for c in find_status_cues(_mask(text, names, name_starts, reach, sentence))]
        if plan:
            cues = [_as_planned(c) for c in cues]
        facts.extend(_sentence_facts(
            text, sentence, [n for n in found if isinstance(n, Name)],
            [a for a in amounts if isinstance(a, Amount)], cues, gazetteer, language, plan))
    return facts


def _mask(text: str, names: list[Name], name_starts: list[int], reach: list[int],
          sentence: Sentence) -> str:
    """The sentence as written in ``text`` with every name blanked out, so that no name
    lends its words to a status cue ("再工業化資助計劃於2020年推出" is "launched", not
    "計劃...推出" planned). ``reach[i]`` is the furthest end of ``names[:i + 1]``."""
    start, end = sentence.start, sentence.end
    chars = list(text[start:end])
    index = bisect_left(name_starts, end) - 1
    while index >= 0 and reach[index] > start:
        name = names[index]
        if name.end > start:
            lo, hi = max(name.start, start) - start, min(name.end, end) - start
            chars[lo:hi] = "\0" * (hi - lo)
        index -= 1
    return "".join(chars)


_PARENT_BEFORE = re.compile(r"\bunder\s+(?:the\s+)?$", re.IGNORECASE)
_PARENT_AFTER = re.compile(r"^(?:轄)?下")
# Money set aside for a fund: "預留100億元成立", "earmarked $10 billion for", "set aside HK$3bn".
_EARMARK_BEFORE = re.compile(
    r"(?:\bearmark\w*|\bset(?:s|ting)?\s+aside|\breserv(?:e|ed|es|ing)|預留|撥出)\s*$",
    re.IGNORECASE)


# "推出「創科實習計劃」的優化措施": the money and the launch are the enhancements', not
# the scheme's.
_MODIFIER_AFTER = re.compile(r"[」』]?的(?:優化|改善|加強|延續|擴展|擴大)")


def _is_parent(text: str, name: Name) -> bool:
    before = text[max(0, name.start - 12):name.start]
    return bool(_PARENT_BEFORE.search(before) or _PARENT_AFTER.match(text, name.end))


def _distance(name: Name, amount: Amount) -> int:
    return amount.start - name.end if amount.start >= name.end else name.start - amount.end


def _sentence_facts(text: str, sentence: Sentence, names: list[Name], amounts: list[Amount],
                    cues: list[StatusCue], gazetteer: Gazetteer, language: str, plan: bool
                    ) -> list[tuple[Fact, bool]]:
    names = [replace(n, amounts=[]) for n in names]  # amounts are dealt out per sentence
    funding = [n for n in names if n.kind is FactKind.FUNDING]
    spans = [(n.start, n.end) for n in funding]
    hkd_amounts = [a for a in amounts if a.hkd is not None]
    fund_amounts = [(a, r) for a, r in ((a, amount_role(text, a, sentence.start, sentence.end,
                                                        hkd_amounts, spans))
                                        for a in hkd_amounts)
                    if r.role is not AmountRole.OTHER]
    if not funding and fund_amounts and (_GENERIC_FUND.search(sentence.text)
                                         or _EARMARK_WORDS.search(sentence.text)):
        generic = _generic_fund(sentence, fund_amounts, cues, gazetteer,
                                any(n.kind is FactKind.FACILITY for n in names))
        if generic is not None:
            funding.append(generic)
            names.append(generic)
    # Each amount goes to the nearest funding name; a parent named as the frame ("under the
    # ITF", "創新及科技基金下的") takes none while a scheme of its own is named.
    funding = [n for n in funding if not _MODIFIER_AFTER.match(text, n.end)]
    framed_ids = framed(text, names)
    takers = [n for n in funding
              if not _is_parent(text, n) and id(n) not in framed_ids] or funding
    for amount, role in fund_amounts:
        if takers:
            min(takers, key=lambda n: _distance(n, amount)).amounts.append((amount, role))
    facts = []
    for name in names:
        if not name.watched:
            continue  # a government account or welfare fund: it took its amounts, no more
        # "「X計劃」的優化措施將於十一月推出": the measures launch, not the scheme
        cue = None if id(name) in framed_ids or _MODIFIER_AFTER.match(text, name.end) \
            else status_cue(text, name, names, cues, framed_ids)
        if name.kind is FactKind.FUNDING:
            fact = _funding_fact(text, sentence, name, cue, cues, funding, language, plan)
        else:
            fact = _thing_fact(sentence, name, cue, language)
        if fact is not None:
            # A back-reference states a new thing only with the thing's own money beside
            # it ("the Fund's size has grown to $2 billion"), not a works cost.
            facts.append((fact, name.supporting and not any(
                r.role in _A_FUNDS_OWN_MONEY for _, r in name.amounts)))
    return facts


def _generic_fund(sentence: Sentence, fund_amounts: Sequence[tuple[Amount, RoleReading]],
                  cues: list[StatusCue], gazetteer: Gazetteer, facilities_named: bool
                  ) -> Name | None:
    """"A fund of HK$10 billion has been earmarked": an unnamed fund, known by amount."""
    totals = [a for a, r in fund_amounts if r.role is AmountRole.SIZE and not r.previous]
    if not totals or not any(c.status in _GENERIC_FUND_CUES for c in cues):
        return None
    amount = totals[0]
    assert amount.hkd is not None
    known = gazetteer.by_amount(FactKind.FUNDING, amount.hkd, sentence.text)
    match = _GENERIC_FUND.search(sentence.text)
    if match is None:
        # "預留100億元推動生命健康科技的研發": money set aside for an I&T purpose with no
        # fund named is a fund all the same; money to build a park or a centre is not.
        match = _EARMARK_WORDS.search(sentence.text)
        if match is None or _BUILDING.search(sentence.text) or not sounds_like_innovation(
                sentence.text) or facilities_named:
            return None  # money for a park, a centre or a cluster is not a fund
    word = match.group()
    start = sentence.start + match.start()
    via = f"scheme word '{word}'"
    if known is not None:
        return Name(FactKind.FUNDING, known.key, known.name, word, start, start + len(word),
                    True, via=f"{via} with the amount of a known fund")
    return Name(FactKind.FUNDING, f"unnamed-fund-{amount.hkd}", f"Unnamed fund of {amount.text}",
                word, start, start + len(word), False, via=via)


def _why(name: Name) -> str:
    return name.via or f"{'known name' if name.known else 'name shape'} '{name.text}'"


# A status cue that makes a new name a fact even with no money beside it: "launch the
# Factory Line Renewal Support Pilot Scheme", "will set up the X Fund".
_WORKS = re.compile(r"醫院|工程|改善|維修|翻新|大樓|道路|渠務|污水|公廁|體育|康樂|"
                    r"\b(?:Hospital|Works|Improvement|Refurbishment|Sewerage|Drainage|Road|Toilet"
                    r"|Sports|Recreation(?:al)?)\b")
_ANNOUNCING = frozenset({Status.LAUNCHED, Status.PLANNED, Status.EARMARKED, Status.ESTABLISHED})
_TO_COME = re.compile(r"\b(?:will|shall|to\s+(?:inject|allocate|provide|earmark)|propos\w*|plans?"
                      r"\s+to)\b|將|會|建議|擬|計劃(?=[注撥增])", re.IGNORECASE)
_A_FUNDS_OWN_MONEY = frozenset({AmountRole.SIZE, AmountRole.ADDED, AmountRole.CAP_PER_PROJECT,
                                AmountRole.GRANT, AmountRole.THRESHOLD})


def role_amounts(readings: Sequence[tuple[Amount, RoleReading]]) -> tuple[RoleAmount, ...]:
    """The amounts a name took, each once, a change's old value folded into its new one
    ("lowered from HK$200 million to HK$100 million" is one threshold, 100 million, that
    was 200 million)."""
    out: list[RoleAmount] = []
    pending: dict[AmountRole, Amount] = {}
    for amount, reading in sorted(readings, key=lambda pair: pair[0].start):
        assert amount.hkd is not None
        if reading.previous:
            pending[reading.role] = amount
            continue
        old = pending.pop(reading.role, None)
        out.append(RoleAmount(reading.role, amount.hkd, amount.text, amount.qualifier,
                              old.hkd if old is not None else None, reading.cue))
    for role, amount in pending.items():  # "from $A" with no "to" kept: still said
        assert amount.hkd is not None
        # a fund's first size with none after it ("with an initial $50 million earmarked")
        # is its size until a page says another; any other old value is history
        alone = role is AmountRole.SIZE and not any(o.role is role for o in out)
        out.append(RoleAmount(role, amount.hkd, amount.text, amount.qualifier, None,
                              "its first size" if alone else "an earlier value",
                              earlier=not alone))
    seen: set[tuple[AmountRole, int]] = set()
    unique = []
    for item in out:
        if (item.role, item.hkd) not in seen:
            seen.add((item.role, item.hkd))
            unique.append(item)
    return tuple(unique)


def _funding_fact(text: str, sentence: Sentence, name: Name, cue: StatusCue | None,
                  cues: list[StatusCue], funding: list[Name], language: str, plan: bool
                  ) -> Fact | None:
    amounts = role_amounts(name.amounts)
    size = next((a for a in amounts if a.role is AmountRole.SIZE and not a.earlier), None)
    announced = cue is not None and cue.status in _ANNOUNCING
    if not name.known and not name.supporting and not announced and not any(
            a.role in _A_FUNDS_OWN_MONEY for a in amounts):
        # a new "... Scheme" counts with its own money beside it (a works programme's cost
        # is no scheme's money), or when it is announced
        return None
    if not name.known and (_WORKS.search(name.name) or not (
            sounds_like_innovation(name.name) or sounds_like_innovation(sentence.text))):
        # The Capital Works Reserve Fund, the Samaritan Fund, an arts events fund: money,
        # but no I&T or industry in the name or the sentence, so no scheme to watch; nor a
        # works project (a Chinese 計劃 is as often a project as a scheme: 醫院改善計劃).
        return None
    size_amount = next((a for a, r in name.amounts
                        if r.role is AmountRole.SIZE and not r.previous), None)
    if size_amount is not None:  # money set aside for the fund: its status
        earmark = next((c for c in cues if c.status is Status.EARMARKED
                        and _EARMARK_BEFORE.search(text, max(0, size_amount.start - 16),
                                                   size_amount.start)), None)
        if earmark is not None and (cue is None or cue.status in (
                Status.PLANNED, Status.ESTABLISHED) or size_amount.end <= cue.start < name.start):
            # "預留100億元成立…基金", "預留2億元，推出「…計劃」": the setting up or the launch
            # between the money and the name is the purpose the money is set aside for
            cue = earmark
    attributes: list[tuple[str, str]] = []
    for role_amount in amounts:
        if role_amount.role in TERM_ROLES and not role_amount.earlier:
            attributes.append((f"{role_amount.role}_hkd", str(role_amount.hkd)))
        elif role_amount.role is AmountRole.ADDED and (plan or _TO_COME.search(sentence.text)):
            # money to be put in is news ("will inject $3 billion into the ITF"); an
            # injection told as history ("injected $5 billion in 2015") is not
            attributes.append(("added_hkd", str(role_amount.hkd)))
    nearest_funding = len(funding) <= 1 or name is min(
        funding, key=lambda n: abs(n.start - sentence.start))
    if nearest_funding:  # ratios and shares belong to the sentence's main scheme
        ratio = _RATIO.search(sentence.text) if ":" in sentence.text else None
        if ratio and _RATIO_CONTEXT.search(sentence.text):
            attributes.append(("matching_ratio", f"{ratio.group(1)}:{ratio.group(2)}"))
        fraction = _fraction(sentence.text)
        if fraction and _FRACTION_CONTEXT.search(sentence.text):
            attributes.append(("government_share", _FRACTIONS[fraction.group().lower()]))
    why = [_why(name)]
    if size is not None:
        why.insert(0, f"size '{size.text}' ({size.cue})")
    for role_amount in amounts:
        if role_amount is not size:
            why.append(f"{role_amount.role} '{role_amount.text}' ({role_amount.cue})")
    if cue is not None:
        why.append(f"status cue '{cue.cue}'")
    return Fact(
        kind=FactKind.FUNDING, key=name.key, name=name.name, evidence=sentence.text,
        amount_hkd=size.hkd if size is not None else None,
        status=cue.status if cue is not None else None,
        attributes=_unique(attributes), cue=" + ".join(why[:2]) + "".join(
            f"; {w}" for w in why[2:]), language=language, amounts=amounts, known=name.known)


def _unique(attributes: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The first value of each attribute."""
    out: dict[str, str] = {}
    for name, value in attributes:
        out.setdefault(name, value)
    return tuple(out.items())


def _fraction(text: str) -> re.Match[str] | None:
    low = fold(text)
    if low is not None and not any(word in low for word in _FRACTION_WORDS):
        return None
    return _FRACTION.search(text)


def _thing_fact(sentence: Sentence, name: Name, cue: StatusCue | None,
                language: str) -> Fact | None:
    if not name.known and not name.supporting:
        if cue is None or cue.status not in _NEW_THING_CUES:
            return None
        if name.kind is FactKind.FACILITY and not sounds_like_innovation(name.name):
            return None  # sports centres, waterfront parks
    why = _why(name)
    if cue is not None:
        why += f"; status cue '{cue.cue}'"
    return Fact(kind=name.kind, key=name.key, name=name.name, evidence=sentence.text,
                status=cue.status if cue is not None else None, cue=why, language=language,
                known=name.known)


# How far along a thing is, for choosing among a page's mentions: a later event beats an
# earlier one ("opened for applications in 2020" beats "will inject a further $400
# million" for the fund's status); "existing" says least.
_PROGRESS = {status: rank for rank, status in enumerate(
    [Status.EXISTING, Status.CONTEMPLATED, Status.PLANNED, Status.EARMARKED, Status.LAUNCHED,
     Status.UNDER_CONSTRUCTION, Status.ESTABLISHED, Status.OPENED, Status.CLOSED], start=1)}


def _score(fact: Fact) -> tuple[int, int, int, int]:
    progress = _PROGRESS[fact.status] if fact.status is not None else 0
    return (fact.amount_hkd is not None, progress, len(fact.attributes), len(fact.amounts))


def merge_facts(facts: list[Fact]) -> list[Fact]:
    """One fact per key: the most informative mention (amount, then the furthest status,
    then attributes); the first mention wins a tie. When another mention states a further
    status ("Since its launch in 2012" beside "has injected a further $1.5 billion"), the
    fact takes that status and its cue says where it came from."""
    best: dict[str, Fact] = {}
    furthest: dict[str, Fact] = {}
    attributes: dict[str, dict[str, str]] = defaultdict(dict)
    amounts: dict[str, dict[tuple[AmountRole, int], RoleAmount]] = defaultdict(dict)
    for fact in facts:
        for role_amount in fact.amounts:  # every amount any mention tied to the key
            amounts[fact.key].setdefault((role_amount.role, role_amount.hkd), role_amount)
        current = best.get(fact.key)
        if current is None or _score(fact) > _score(current):
            best[fact.key] = fact
        if fact.status is not None and (fact.key not in furthest or _PROGRESS[fact.status]
                                        > _PROGRESS[furthest[fact.key].status or Status.EXISTING]):
            furthest[fact.key] = fact
        for name, value in fact.attributes:  # a scheme's terms, from whichever sentence
            attributes[fact.key].setdefault(name, value)
    merged = []
    for key, fact in best.items():
        terms = {**attributes[key], **dict(fact.attributes)}
        fact = replace(fact, attributes=tuple(sorted(terms.items())),
                       amounts=tuple(amounts[key].values()))
        other = furthest.get(key)
        if other is not None and other.status != fact.status:
            fact = replace(fact, status=other.status,
                           cue=f"{fact.cue}; status from \"{other.evidence}\": {other.cue}")
        merged.append(fact)
    return merged
