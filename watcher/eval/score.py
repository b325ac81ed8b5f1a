"""Scoring: labelled facts against extracted facts, per page and over the corpus. Pure.

A predicted fact is right when a labelled fact of the same kind names its key (the key or
one of the label's ``also`` keys). Amounts and statuses are scored as (key, value) pairs:
a fact with the right key but a wrong amount is one amount error in precision (the wrong
value) and one in recall (the missed value). "Negatives" counts funding facts extracted
from pages labelled ``negative``: each one would have been a false alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from watcher.eval.labels import Case, LabelFact
from watcher.models import Fact, FactKind

SCORED = (FactKind.FUNDING, FactKind.FACILITY, FactKind.ORGANISATION)


@dataclass
class Counts:
    """True positives, false positives and false negatives of one measure."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def as_json(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


@dataclass
class PageResult:
    """One page's score and its mistakes, each a short readable line."""

    case: str
    negative: bool
    kinds: dict[str, Counts] = field(default_factory=lambda: {str(k): Counts() for k in SCORED})
    amounts: Counts = field(default_factory=Counts)
    statuses: Counts = field(default_factory=Counts)
    negative_funding: int = 0  # funding facts extracted from a negative page
    wrong_amounts: int = 0  # right key, a size that is not the labelled one
    sizes_given: int = 0  # sizes extracted on facts the label has (exactness' denominator)
    role_errors: int = 0  # an amount the label ties to the fact with another role
    status_right: int = 0  # matched facts whose status (or its absence) is the label's
    status_judged: int = 0  # matched facts where the label or the extractor gives a status
    mistakes: list[str] = field(default_factory=list)
    part: str = "handmade"
    language: str = "en"

    @property
    def errors(self) -> int:
        facts = sum(c.fp + c.fn for c in self.kinds.values())
        return (facts + self.amounts.fp + self.amounts.fn + self.statuses.fp + self.statuses.fn
                + self.role_errors)

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case, "part": self.part, "language": self.language,
                "negative": self.negative, "errors": self.errors,
                "kinds": {k: c.as_json() for k, c in self.kinds.items()},
                "amounts": self.amounts.as_json(), "statuses": self.statuses.as_json(),
                "negative_funding": self.negative_funding, "wrong_amounts": self.wrong_amounts,
                "role_errors": self.role_errors, "mistakes": self.mistakes}


@dataclass
class Report:
    pages: list[PageResult]
    kinds: dict[str, Counts]
    amounts: Counts
    statuses: Counts
    negative_pages: int
    negative_funding: int
    wrong_amounts: int
    sizes_given: int = 0
    role_errors: int = 0
    status_right: int = 0
    status_judged: int = 0

    @property
    def amounts_exact(self) -> float:
        """Of the sizes given for labelled facts, the share that is the labelled size to
        the dollar (a size given where the label has none is not exact)."""
        return 1.0 - self.wrong_amounts / self.sizes_given if self.sizes_given else 1.0

    @property
    def status_accuracy(self) -> float:
        """Of the found facts where the label or the extractor gives a status, the share
        where both say the same."""
        return self.status_right / self.status_judged if self.status_judged else 1.0

    def worst(self, count: int = 5) -> list[PageResult]:
        """The pages with the most mistakes, worst first (ties in corpus order)."""
        ranked = sorted((p for p in self.pages if p.errors), key=lambda p: -p.errors)
        return ranked[:count]

    def as_json(self, worst: int = 5) -> dict[str, Any]:
        return {"pages": len(self.pages), "kinds": {k: c.as_json() for k, c in self.kinds.items()},
                "amounts": self.amounts.as_json(), "statuses": self.statuses.as_json(),
                "negative_pages": self.negative_pages, "negative_funding": self.negative_funding,
                "wrong_amounts": self.wrong_amounts,
                "amounts_exact": round(self.amounts_exact, 4), "role_errors": self.role_errors,
                "status_accuracy": round(self.status_accuracy, 4),
                "worst": [p.as_json() for p in self.worst(worst)]}

    def subset(self, part: str | None = None, language: str | None = None) -> Report:
        """The same measures over the pages of one part and/or one language."""
        return combine([p for p in self.pages if (part is None or p.part == part)
                        and (language is None or p.language == language)])


def _amount(value: int | None) -> str:
    return "no amount" if value is None else f"HK${value:,}"


def _label_roles(gold: LabelFact) -> dict[int, set[tuple[str, bool]]]:
    """hkd -> the (role, is-an-old-value) pairs the label gives that amount."""
    roles: dict[int, set[tuple[str, bool]]] = defaultdict(set)
    if gold.amount_hkd is not None:
        roles[gold.amount_hkd].add(("size", False))
    for amount in gold.amounts:
        if amount.role.startswith("previous_"):
            role = {"previous_size": "size", "previous_cap": "cap_per_project"}[amount.role]
            roles[amount.hkd].add((role, True))
        else:
            roles[amount.hkd].add((amount.role, False))
    return roles


def _role_mistakes(fact: Fact, gold: LabelFact) -> list[str]:
    """Amounts the extractor tied to ``fact`` that the label ties to it with another
    role ("a cap taken for the size"); amounts the label does not tie to it at all are
    not role errors (they count against the size when given as one)."""
    labelled = _label_roles(gold)
    said: list[tuple[int, str, bool, str]] = []
    for amount in fact.amounts:
        said.append((amount.hkd, str(amount.role), amount.earlier, amount.text))
        if amount.previous_hkd is not None:
            said.append((amount.previous_hkd, str(amount.role), True, "its old value"))
    if fact.amount_hkd is not None and not any(
            hkd == fact.amount_hkd and role == "size" for hkd, role, _, _ in said):
        said.append((fact.amount_hkd, "size", False, "the size"))
    out = []
    for hkd, role, previous, text in said:
        roles = labelled.get(hkd)
        if roles and (role, previous) not in roles and not (
                role == "other" and not previous):  # "other" claims nothing about the fund
            want = ", ".join(sorted(f"{r}{' (old)' if p else ''}" for r, p in roles))
            out.append(f"role of HK${hkd:,} ({text}) on {fact.key}: "
                       f"{role}{' (old)' if previous else ''}, labelled {want}")
    return out


def score_page(case: Case, predicted: Sequence[Fact]) -> PageResult:
    """One page: every labelled fact found or missed, every extracted fact right or not."""
    result = PageResult(case.name, case.negative, part=case.part, language=case.language)
    facts = [f for f in predicted if f.kind in SCORED]
    matched: dict[int, LabelFact] = {}  # index in facts -> the label it matches
    for gold in case.facts:
        index = next((i for i, f in enumerate(facts)
                      if i not in matched and f.kind is gold.kind and gold.names(f.key)), None)
        if index is None:
            result.kinds[str(gold.kind)].fn += 1
            result.mistakes.append(f"missed {gold.kind} {gold.key}")
        else:
            result.kinds[str(gold.kind)].tp += 1
            matched[index] = gold
    for index, fact in enumerate(facts):
        if index not in matched:
            result.kinds[str(fact.kind)].fp += 1
            result.mistakes.append(f"extra {fact.kind} {fact.key} ({fact.cue})")
            if case.negative and fact.kind is FactKind.FUNDING:
                result.negative_funding += 1
    for index, fact in enumerate(facts):
        gold_or_none = matched.get(index)
        _pair(result.amounts, fact.amount_hkd,
              gold_or_none.amount_hkd if gold_or_none else None, gold_or_none is not None)
        _pair(result.statuses, fact.status, gold_or_none.status if gold_or_none else None,
              gold_or_none is not None)
        if gold_or_none is None:
            continue
        result.sizes_given += fact.amount_hkd is not None
        roles = _role_mistakes(fact, gold_or_none)
        result.role_errors += len(roles)
        result.mistakes.extend(roles)
        if fact.status is not None or gold_or_none.status is not None:
            result.status_judged += 1
            result.status_right += fact.status == gold_or_none.status
        if fact.amount_hkd != gold_or_none.amount_hkd:
            if fact.amount_hkd is not None:
                result.wrong_amounts += 1
            result.mistakes.append(f"amount of {fact.key}: {_amount(fact.amount_hkd)}, "
                                   f"labelled {_amount(gold_or_none.amount_hkd)}")
        if fact.status != gold_or_none.status:
            result.mistakes.append(f"status of {fact.key}: {fact.status or 'none'}, "
                                   f"labelled {gold_or_none.status or 'none'}")
    for gold in case.facts:  # labelled values on facts that were not extracted at all
        if gold not in matched.values():
            result.amounts.fn += gold.amount_hkd is not None
            result.statuses.fn += gold.status is not None
    return result


def _pair(counts: Counts, got: object, want: object, matched: bool) -> None:
    """Score one (key, value) pair of an extracted fact; see the module docstring."""
    if got is not None and matched and got == want:
        counts.tp += 1
        return
    if got is not None:
        counts.fp += 1
    if matched and want is not None:
        counts.fn += 1


def score(results: Iterable[tuple[Case, Sequence[Fact]]]) -> Report:
    """The corpus: each case with the facts extracted from its page."""
    return combine([score_page(case, facts) for case, facts in results])


def combine(pages: list[PageResult]) -> Report:
    """The measures over ``pages``."""
    kinds = {str(k): Counts() for k in SCORED}
    amounts, statuses = Counts(), Counts()
    for page in pages:
        for kind, counts in page.kinds.items():
            kinds[kind].add(counts)
        amounts.add(page.amounts)
        statuses.add(page.statuses)
    return Report(pages, kinds, amounts, statuses,
                  negative_pages=sum(p.negative for p in pages),
                  negative_funding=sum(p.negative_funding for p in pages),
                  wrong_amounts=sum(p.wrong_amounts for p in pages),
                  sizes_given=sum(p.sizes_given for p in pages),
                  role_errors=sum(p.role_errors for p in pages),
                  status_right=sum(p.status_right for p in pages),
                  status_judged=sum(p.status_judged for p in pages))
