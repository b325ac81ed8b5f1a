"""The replay's judge (tests/helpers/replay.py) agrees with the pipeline: when extraction
is perfect (each page's facts are its labels), every alert the real store and rules raise
on the replay's pages is judged right and every announced thing is alerted; and a wrong
alert or a missing one is counted as such. Only labels are read here, never extraction,
so nothing in this test can tune extraction on the test part."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from tests.helpers.pages import Desk
from tests.helpers.replay import (
    Alert,
    Labels,
    ReplayPage,
    SizeChange,
    gazetteer,
    judge,
    replay_pages,
)
from watcher import store
from watcher.models import AmountRole, Document, Fact, RoleAmount
from watcher.store.tables import ChangeRow, DocumentRow, OutboxRow

_ROLES = {"cap_per_project": "cap_per_project_hkd", "threshold": "threshold_hkd",
          "added": "added_hkd"}


def label_facts(page: ReplayPage, labels: Labels) -> list[Fact]:
    """A page's labels as the facts a perfect extractor would give."""
    facts = []
    for label in page.case.facts:
        key = labels.key(label)
        amounts = tuple(RoleAmount(AmountRole(a.role), a.hkd, a.text)
                        for a in label.amounts if a.role in {r.value for r in AmountRole})
        if label.amount_hkd is not None:
            amounts = (RoleAmount(AmountRole.SIZE, label.amount_hkd), *amounts)
        facts.append(Fact(
            kind=label.kind, key=key, name=label.name or key, evidence=f"{key} on {page.path}",
            amount_hkd=label.amount_hkd, status=label.status, language=page.case.language,
            attributes=tuple(sorted((_ROLES[a.role], str(a.hkd)) for a in label.amounts
                                    if a.role in _ROLES)),
            amounts=amounts, known=labels.known.get(key) is not None))
    return facts


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk.open(f"sqlite:///{tmp_path / 'watcher.db'}", tmp_path)
    yield desk
    desk.close()


def stored_alerts(desk: Desk, base: str) -> tuple[list[Alert], list[SizeChange]]:
    with store.transaction(desk.rt.engine) as session:
        rows = session.exec(select(OutboxRow, ChangeRow, DocumentRow)
                            .join(ChangeRow, col(ChangeRow.id) == col(OutboxRow.change_id))
                            .join(DocumentRow, col(DocumentRow.id) == col(ChangeRow.document_id))
                            ).all()
        sizes = [SizeChange(c.fact_key, (d.url.removeprefix(base),)) for c, d in session.exec(
            select(ChangeRow, DocumentRow)
            .join(DocumentRow, col(DocumentRow.id) == col(ChangeRow.document_id))
            .where(ChangeRow.type == "changed")).all() if "amount_hkd" in c.after]
    return [Alert(o.rule_id, o.subject, c.type, c.kind, c.fact_key, dict(c.after),
                  d.url.removeprefix(base)) for o, c, d in rows], sizes


@pytest.mark.parametrize("part", ["dev", "test"])
def test_a_perfect_extractor_scores_full_marks(desk: Desk, part: str) -> None:
    pages = replay_pages(part)
    labels = Labels(pages, gazetteer())
    base = "https://replay.example"
    desk.poll([(Document(url=base + p.path, source="desk", title=p.title, text=p.body,
                         language=p.case.language, published=p.published),
                 label_facts(p, labels)) for p in pages])  # one poll, as the replay's
    alerts, sizes = stored_alerts(desk, base)
    verdict = judge(pages, alerts, sizes)
    assert verdict.alerts > 0 and verdict.expected > 0
    assert (verdict.precision, verdict.recall, verdict.sizes_unstated) == (1.0, 1.0, 0), (
        verdict.report())


def test_wrong_and_missing_alerts_count_against_the_replay() -> None:
    pages = replay_pages("test")
    labels = Labels(pages, gazetteer())
    page = next(p for p in pages if any(f.amount_hkd for f in p.case.facts))
    fact = next(f for f in page.case.facts if f.amount_hkd)
    key = labels.key(fact)
    right = Alert("r", "s", "changed" if labels.base(fact) else "new", str(fact.kind), key,
                  {"amount_hkd": fact.amount_hkd}, page.path)
    wrong_size = Alert("r", "s", right.change_type, right.kind, key,
                       {"amount_hkd": (fact.amount_hkd or 0) + 1}, page.path)
    not_there = Alert("r", "s", "new", "funding", "no-such-fund", {"amount_hkd": 1}, page.path)
    verdict = judge(pages, [right, wrong_size, not_there],
                    [SizeChange("no-such-fund", (page.path,))])
    assert (verdict.alerts, verdict.right) == (3, 1)
    assert verdict.mistakes == {"the wrong size": 1, "a fact the page does not state": 1}
    assert verdict.sizes_unstated == 1
    assert verdict.alerted <= 1 < verdict.expected and sum(verdict.misses.values()) >= 1
