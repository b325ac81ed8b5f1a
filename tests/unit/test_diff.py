"""diff: new, changed, removed, seen; page memory; forward-only status moves; pages older
than a fact's evidence; known things first seen; dismissed claims."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from watcher.diff import diff
from watcher.models import (
    AmountRole,
    ChangeType,
    Fact,
    FactKind,
    FactOrigin,
    KnownFact,
    RoleAmount,
    Status,
)

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


# --- time: a page older than a fact's newest evidence is history -----------------------

JAN, FEB, MAR = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2, 3))


def test_older_page_never_moves_a_fact_back() -> None:
    current = {FUND: replace(known(amount=300_000_000, origin=FactOrigin.OBSERVED),
                             evidence_at=MAR)}
    assert diff([fact(amount=5_000_000_000)], current=current, published=FEB) == []
    [change] = diff([fact(amount=5_000_000_000)], current=current, published=MAR)
    assert change.after == {"amount_hkd": 5_000_000_000}
    # A page with no date counts as newest; so does a fact with no evidence time.
    assert diff([fact(amount=5_000_000_000)], current=current, published=None)
    assert diff([fact(amount=5_000_000_000)], current={FUND: known(amount=1)}, published=JAN)


def test_naive_times_are_utc() -> None:
    current = {FUND: replace(known(amount=1, origin=FactOrigin.OBSERVED),
                             evidence_at=datetime(2025, 3, 1))}
    assert diff([fact(amount=2)], current=current, published=FEB) == []


# --- known things first seen -------------------------------------------------------------


def known_fund(status: Status | None = None, amount: int | None = None,
               amounts: tuple[RoleAmount, ...] = (), **attributes: str) -> Fact:
    return replace(fact("innovation-and-technology-fund", amount, status, **attributes),
                   known=True, amounts=amounts)


def test_known_thing_first_seen_is_recorded_quietly() -> None:
    [change] = diff([known_fund(Status.OPENED, 5_000_000_000)], current={})
    assert change.type == ChangeType.SEEN
    assert change.after == change.current == {"amount_hkd": 5_000_000_000, "status": "opened"}
    # A bare mention records nothing at all.
    assert diff([known_fund()], current={}) == []
    assert diff([known_fund(Status.EXISTING)], current={}) == []


@pytest.mark.parametrize("status", [Status.PLANNED, Status.LAUNCHED, Status.EARMARKED,
                                    Status.CONTEMPLATED])
def test_known_thing_first_seen_with_a_launch_or_plan_is_a_change(status: Status) -> None:
    [change] = diff([known_fund(status, 5_000_000_000)], current={})
    assert change.type == ChangeType.CHANGED
    assert (change.before, change.after) == ({"status": None}, {"status": str(status)})
    assert change.current == {"amount_hkd": 5_000_000_000, "status": str(status)}
    assert change.prior == {}


def test_known_fund_first_seen_with_money_to_be_added_is_a_change() -> None:
    [change] = diff([known_fund(added_hkd="3000000000")], current={})
    assert change.type == ChangeType.CHANGED
    assert change.after == {"added_hkd": "3000000000"}


def test_known_fund_first_seen_with_a_term_stated_as_changed() -> None:
    raised = (RoleAmount(AmountRole.CAP_PER_PROJECT, 30_000_000, "$30 million",
                         previous_hkd=15_000_000),)
    [change] = diff([known_fund(amounts=raised, cap_per_project_hkd="30000000")], current={})
    assert change.type == ChangeType.CHANGED
    assert (change.before, change.after) == ({"cap_per_project_hkd": "15000000"},
                                             {"cap_per_project_hkd": "30000000"})
    # Only stated, not stated as changed: a first sighting.
    [quiet] = diff([known_fund(cap_per_project_hkd="30000000")], current={})
    assert quiet.type == ChangeType.SEEN


def test_unknown_fund_is_still_new() -> None:
    [change] = diff([fact("industry-upgrading-fund", 500_000_000, Status.OPENED)], current={})
    assert change.type == ChangeType.NEW


# --- dismissed claims --------------------------------------------------------------------


def test_a_dismissed_claim_is_never_reported_again() -> None:
    current = {FUND: known(amount=5_000_000_000)}
    dismissed = {FUND: {("amount_hkd", "100000000")}}
    assert diff([fact(amount=100_000_000)], current=current, dismissed=dismissed) == []
    # The rest of what the page says still counts; another value is another claim.
    [change] = diff([fact(amount=100_000_000, status=Status.LAUNCHED)], current=current,
                    dismissed=dismissed)
    assert change.after == {"status": "launched"}
    assert change.current == {"amount_hkd": 5_000_000_000, "status": "launched"}
    [other] = diff([fact(amount=200_000_000)], current=current, dismissed=dismissed)
    assert other.after == {"amount_hkd": 200_000_000}


def test_a_dismissed_new_fact_is_not_new_again() -> None:
    dismissed = {"pilot-scheme": {("amount_hkd", "300000"), ("status", "launched")}}
    assert diff([fact("pilot-scheme", 300_000, Status.LAUNCHED)], current={},
                dismissed=dismissed) == []


def test_page_states_the_old_value_when_the_store_knows_none() -> None:
    lowered = (RoleAmount(AmountRole.THRESHOLD, 100_000_000, "HK$100 million",
                          previous_hkd=200_000_000),)
    page = replace(fact(threshold_hkd="100000000"), amounts=lowered)
    [change] = diff([page], current={FUND: known(amount=5_000_000_000)})
    assert change.before == {"threshold_hkd": "200000000"}
    assert change.prior == {"amount_hkd": 5_000_000_000}
    assert change.amounts == lowered
