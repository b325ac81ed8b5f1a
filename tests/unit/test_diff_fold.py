"""diff.fold: a chunk's pages in publication order, each fact's changes folded into one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from watcher.diff.fold import Folder, publication_order
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

KEY = "scheme-x"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def page(amount: int | None = None, status: Status | None = None, known: bool = False,
         **attributes: str) -> Fact:
    amounts = (RoleAmount(AmountRole.SIZE, amount, f"${amount}"),) if amount else ()
    return Fact(kind=FactKind.FUNDING, key=KEY, name="Scheme X", evidence=f"{amount} {status}",
                amount_hkd=amount, status=status, attributes=tuple(sorted(attributes.items())),
                amounts=amounts, known=known)


def stored(amount: int | None = None, status: Status | None = None,
           evidence_at: datetime | None = None) -> dict[str, KnownFact]:
    return {KEY: KnownFact(KEY, FactKind.FUNDING, "Scheme X", FactOrigin.OBSERVED, amount,
                           status, evidence_at=evidence_at)}


def run(folder: Folder, pages: list[tuple[Fact, datetime]],
        store: dict[str, KnownFact] | None = None) -> None:
    for number, (fact, when) in enumerate(pages, start=1):
        folder.page([fact], stored=store or {}, previous_on_page=None, published=when,
                    document=number)


def test_publication_order_puts_undated_pages_last() -> None:
    fetched = day(10)
    assert publication_order(["c", "a", "x", "b"], [day(3), day(1), None, day(2)],
                             fetched) == ["a", "b", "c", "x"]
    assert publication_order(["a", "b"], [day(1), day(1)], fetched) == ["a", "b"]  # stable


def test_a_fund_that_ends_where_it_started_yields_nothing() -> None:
    folder = Folder()
    run(folder, [(page(100_000_000), day(2)), (page(300_000_000), day(3)),
                 (page(5_000_000_000), day(4))], stored(5_000_000_000, evidence_at=day(1)))
    assert folder.net() == []


def test_a_chunk_yields_one_net_change_per_fact() -> None:
    folder = Folder()
    run(folder, [(page(100_000_000), day(2)), (page(300_000_000, Status.LAUNCHED), day(3))],
        stored(5_000_000_000, Status.PLANNED, evidence_at=day(1)))
    [net] = folder.net()
    assert net.change.type == ChangeType.CHANGED
    assert net.change.before == {"amount_hkd": 5_000_000_000, "status": "planned"}
    assert net.change.after == {"amount_hkd": 300_000_000, "status": "launched"}
    assert net.change.prior == {"amount_hkd": 5_000_000_000, "status": "planned"}
    assert (net.document, net.documents) == (2, (1, 2))
    assert net.state.evidence_at == day(3)
    assert [a.hkd for a in net.state.amounts] == [300_000_000]


def test_a_new_fund_stays_new_whatever_the_pages_after() -> None:
    folder = Folder()
    run(folder, [(page(5_000_000_000), day(1)), (page(status=Status.LAUNCHED), day(2))])
    [net] = folder.net()
    assert net.change.type == ChangeType.NEW
    assert net.change.after == {"amount_hkd": 5_000_000_000, "status": "launched"}


def test_an_older_page_later_in_the_chunk_is_history() -> None:
    folder = Folder()
    # The caller orders pages; a page older than what a previous chunk stored is history.
    run(folder, [(page(100_000_000), day(2))], stored(5_000_000_000, evidence_at=day(3)))
    assert folder.net() == []


def test_a_newer_repeat_moves_the_evidence_time_on() -> None:
    folder = Folder()
    run(folder, [(page(5_000_000_000), day(5))], stored(5_000_000_000, evidence_at=day(1)))
    assert folder.net() == []
    [touched] = folder.unchanged()
    assert touched.evidence_at == day(5)
    # ...so a page between the two, read later, cannot move the fact.
    later = Folder()
    run(later, [(page(100_000_000), day(3))], {KEY: touched})
    assert later.net() == []


def test_a_known_thing_seen_then_announced_in_one_chunk_alerts_the_announcement() -> None:
    folder = Folder()
    run(folder, [(page(5_000_000_000, Status.OPENED, known=True), day(1)),
                 (page(added_hkd="3000000000", known=True), day(2))])
    [net] = folder.net()
    assert net.change.type == ChangeType.CHANGED
    assert net.change.after == {"added_hkd": "3000000000"}
    assert net.change.current == {"amount_hkd": 5_000_000_000, "status": "opened",
                                  "added_hkd": "3000000000"}


def test_a_known_thing_only_seen_is_seen() -> None:
    folder = Folder()
    run(folder, [(page(5_000_000_000, Status.OPENED, known=True), day(1)),
                 (replace(page(status=Status.OPENED, known=True)), day(2))])
    [net] = folder.net()
    assert net.change.type == ChangeType.SEEN


def test_dismissed_claims_never_enter_the_state() -> None:
    folder = Folder(dismissed={KEY: {("amount_hkd", "100000000")}})
    run(folder, [(page(100_000_000), day(2))], stored(5_000_000_000, evidence_at=day(1)))
    assert folder.net() == []
