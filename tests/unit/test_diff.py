"""diff: new, changed, removed; page memory; forward-only status moves."""

from __future__ import annotations

from watcher.diff import diff
from watcher.models import ChangeType, Fact, FactKind, FactOrigin, KnownFact, Status

FUND = "new-industrialisation-acceleration-scheme"


def fact(key: str = FUND, amount: int | None = None, status: Status | None = None,
         **attributes: str) -> Fact:
    return Fact(kind=FactKind.FUNDING, key=key, name=key.replace("-", " ").title(),
                evidence=f"{key} sentence", amount_hkd=amount, status=status,
                attributes=tuple(sorted(attributes.items())))


def known(key: str = FUND, amount: int | None = None, status: Status | None = None,
          origin: FactOrigin = FactOrigin.BASELINE, **attributes: str) -> KnownFact:
    return KnownFact(key=key, kind=FactKind.FUNDING, name=key, origin=origin,
                     amount_hkd=amount, status=status,
                     attributes=tuple(sorted(attributes.items())))


def test_unknown_key_is_new_with_its_state() -> None:
    [change] = diff([fact(amount=10_000_000_000, status=Status.LAUNCHED)], current={})
    assert change.type == ChangeType.NEW
    assert change.after == {"amount_hkd": 10_000_000_000, "status": "launched"}
    assert change.before == {}


def test_same_values_as_baseline_is_not_news() -> None:
    current = {FUND: known(amount=10_000_000_000, status=Status.EARMARKED)}
    assert diff([fact(amount=10_000_000_000, status=Status.EARMARKED)], current=current) == []


def test_changed_amount_records_before_and_after() -> None:
    current = {FUND: known(amount=15_000_000, status=Status.LAUNCHED)}
    [change] = diff([fact(amount=30_000_000)], current=current)
    assert change.type == ChangeType.CHANGED
    assert (change.before, change.after) == ({"amount_hkd": 15_000_000},
                                             {"amount_hkd": 30_000_000})
    assert change.current == {"amount_hkd": 30_000_000, "status": "launched"}


def test_status_only_moves_forward() -> None:
    current = {FUND: known(status=Status.OPENED)}
    assert diff([fact(status=Status.PLANNED)], current=current) == []
    [change] = diff([fact(status=Status.OPENED)], current={FUND: known(status=Status.PLANNED)})
    assert change.after == {"status": "opened"} and change.before == {"status": "planned"}


def test_bare_mention_does_not_change_status() -> None:
    assert diff([fact(status=Status.EXISTING)], current={FUND: known(status=Status.PLANNED)}) == []


def test_missing_amount_never_erases_a_known_one() -> None:
    assert diff([fact(amount=None)], current={FUND: known(amount=5)}) == []


def test_changed_term_is_a_change() -> None:
    current = {FUND: known(amount=15_000_000, matching_ratio="1:2")}
    [change] = diff([fact(amount=15_000_000, matching_ratio="1:1")], current=current)
    assert change.after == {"matching_ratio": "1:1"}
    assert change.before == {"matching_ratio": "1:2"}


def test_page_repeating_itself_is_not_news_even_if_current_moved_on() -> None:
    previous = {FUND: known(amount=15_000_000, origin=FactOrigin.OBSERVED)}
    current = {FUND: known(amount=30_000_000, origin=FactOrigin.OBSERVED)}
    assert diff([fact(amount=15_000_000)], current=current, previous_on_page=previous) == []


def test_fact_gone_from_page_is_removed() -> None:
    previous = {FUND: known(amount=15_000_000), "other": known("other", amount=1)}
    changes = diff([fact(amount=15_000_000)], current=previous, previous_on_page=previous)
    assert [(c.type, c.fact_key) for c in changes] == [(ChangeType.REMOVED, "other")]


def test_identity_is_shared_by_twins() -> None:
    english = diff([fact(amount=10)], current={})[0]
    chinese = diff([Fact(kind=FactKind.FUNDING, key=FUND, name="新型工業加速計劃",
                         evidence="…", amount_hkd=10, language="zh")], current={})[0]
    assert english.identity == chinese.identity
    assert english.identity != diff([fact(amount=11)], current={})[0].identity


def test_bare_mention_of_an_unknown_body_is_not_new() -> None:
    mention = Fact(kind=FactKind.ORGANISATION, key="hkstp", name="HKSTP", evidence="e")
    assert diff([mention], current={}) == []
    assert diff([fact("x", status=Status.EXISTING)], current={}) == []
    [change] = diff([Fact(kind=FactKind.ORGANISATION, key="nido", name="NIDO", evidence="e",
                          status=Status.PLANNED)], current={})
    assert change.type == ChangeType.NEW
