"""Dismissals: a person says a change is wrong (``watcher dismiss``, the web page's button).

The change stays in the log, marked with when and why. What it claimed is taken back: each
field of the fact's current state that still holds the change's value returns to what it
was before the change (``ChangeRow.prior``); a fact that the change alone brought into
being is forgotten. Deliveries of it still waiting (a digest) are not sent. The claim
itself, (fact key, field, value), is kept as dismissed: the differ reads those claims
(``watcher.store.chunk``, ``_DISMISSED``) and never reports the same value again, from any
page.

The evidence time of the fact is left as it was: the page was published when it was; only
what was read from it was wrong.

``dismissed_pages`` gives each dismissed change's page with the facts stored for it, for
``watcher eval --export-dismissed`` to write as new evaluation cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from watcher.models import ChangeType
from watcher.store.facts import BASELINE, CURRENT, doc_scope
from watcher.store.outbox import PENDING
from watcher.store.tables import ChangeRow, DocumentRow, FactRow, OutboxRow
from watcher.store.timeutil import as_utc

DISMISSED = "dismissed"  # an outbox row's status when its change was dismissed first
MAX_REASON = 500
# Which of a fact's role amounts a field's value came from.
_FIELD_ROLES = {"amount_hkd": "size", "cap_per_project_hkd": "cap_per_project",
                "threshold_hkd": "threshold", "added_hkd": "added"}


@dataclass(frozen=True, slots=True)
class Dismissal:
    change_id: int
    already: bool  # dismissed before: nothing was done
    restored: dict[str, Any]  # the fact's current state afterwards ({}: forgotten)
    held_back: int  # deliveries still waiting that will not be sent


def dismiss(session: Session, change_id: int, reason: str, now: datetime
            ) -> Dismissal | None:
    """Mark a change dismissed and take back what it claimed; None if there is no such
    change. Dismissing twice changes nothing the second time."""
    row = session.get(ChangeRow, change_id)
    if row is None:
        return None
    if row.dismissed_at is not None:
        return Dismissal(change_id, True, {}, 0)
    row.dismissed_at = now
    row.dismiss_reason = " ".join(reason.split())[:MAX_REASON] or None
    session.add(row)
    restored: dict[str, Any] = {}
    if row.type != ChangeType.REMOVED:
        restored = _take_back(session, row)
    waiting = session.exec(select(OutboxRow).where(OutboxRow.change_id == change_id,
                                                   OutboxRow.status == PENDING)).all()
    for delivery in waiting:
        delivery.status, delivery.last_error = DISMISSED, "the change was dismissed"
        session.add(delivery)
    return Dismissal(change_id, False, restored, len(waiting))


def _state(row: FactRow) -> dict[str, Any]:
    state: dict[str, Any] = dict(row.attributes)
    if row.amount_hkd is not None:
        state["amount_hkd"] = row.amount_hkd
    if row.status is not None:
        state["status"] = row.status
    return state


def _take_back(session: Session, change: ChangeRow) -> dict[str, Any]:
    current = session.exec(select(FactRow).where(FactRow.key == change.fact_key,
                                                 FactRow.scope == CURRENT)).first()
    if current is None:
        return {}
    state = _state(current)
    amounts = list(current.amounts)
    previous = _previous(session, change)
    for name, value in change.after.items():
        if str(state.get(name)) != str(value):
            continue  # a later change has moved this field on: it stays
        old = change.prior.get(name)
        if old is None:
            state.pop(name, None)
        else:
            state[name] = old
        role = _FIELD_ROLES.get(name)
        if role is not None:  # the amounts of that role go back to the earlier page's
            amounts = [a for a in amounts if a.get("role") != role] + [
                a for a in (previous.amounts if previous else []) if a.get("role") == role
                and old is not None and str(a.get("hkd")) == str(old)]
    if not state and not _has_baseline(session, change.fact_key):
        session.delete(current)  # the change alone made the fact: forget it
        return {}
    current.amount_hkd = state.pop("amount_hkd", None)
    current.status = state.pop("status", None)
    current.attributes = state
    current.amounts = amounts
    if current.last_change_id == change.id:
        # The current row names the change that set it: now the one before, if any.
        current.last_change_id = previous.id if previous is not None else None
        if previous is not None:
            current.evidence, current.language = previous.evidence, previous.language
            current.document_id = previous.document_id
    session.add(current)
    return _state(current)


def _has_baseline(session: Session, key: str) -> bool:
    return session.exec(select(FactRow.id).where(FactRow.key == key,
                                                 FactRow.scope == BASELINE)).first() is not None


def _previous(session: Session, change: ChangeRow) -> ChangeRow | None:
    """The change of the same fact before ``change`` that still stands."""
    return session.exec(
        select(ChangeRow).where(ChangeRow.fact_key == change.fact_key,
                                col(ChangeRow.id) < change.id,
                                col(ChangeRow.dismissed_at).is_(None),
                                ChangeRow.type != ChangeType.REMOVED.value)
        .order_by(col(ChangeRow.id).desc())).first()


@dataclass(frozen=True, slots=True)
class PageFact:
    """A fact as stored for one page."""

    kind: str
    key: str
    name: str
    amount_hkd: int | None
    status: str | None
    amounts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DismissedPage:
    """A dismissed change and the page it was read from."""

    change_id: int
    change_type: str
    fact_key: str
    claimed: dict[str, Any]  # the change's ``after``: what was dismissed
    reason: str
    dismissed_at: datetime
    url: str
    title: str
    text: str
    language: str
    published_at: datetime | None
    facts: list[PageFact]


def dismissed_pages(session: Session) -> list[DismissedPage]:
    """Every dismissed change that has a page, oldest dismissal first."""
    rows = session.exec(select(ChangeRow, DocumentRow)
                        .join(DocumentRow, col(DocumentRow.id) == col(ChangeRow.document_id))
                        .where(col(ChangeRow.dismissed_at).is_not(None))
                        .order_by(col(ChangeRow.dismissed_at), col(ChangeRow.id))).all()
    pages = []
    for change, document in rows:
        assert change.id is not None and document.id is not None
        facts = session.exec(select(FactRow).where(FactRow.scope == doc_scope(document.id))
                             .order_by(col(FactRow.id))).all()
        dismissed_at = as_utc(change.dismissed_at)
        assert dismissed_at is not None
        pages.append(DismissedPage(
            change.id, change.type, change.fact_key, dict(change.after),
            change.dismiss_reason or "", dismissed_at, document.url, document.title,
            document.text, document.language, as_utc(document.published_at),
            [PageFact(f.kind, f.key, f.name, f.amount_hkd, f.status, list(f.amounts))
             for f in facts]))
    return pages
