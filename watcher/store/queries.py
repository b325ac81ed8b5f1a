"""Read-only views for the CLI (and later the web): the change log and one change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select as core_select  # SQLModel's select types at most 4 columns
from sqlmodel import Session, col, select

from watcher.store.outbox import Delivery, _delivery
from watcher.store.tables import ChangeDocumentRow, ChangeRow, DocumentRow, OutboxRow, SourceRow
from watcher.store.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class DocumentRef:
    url: str
    title: str
    language: str
    source: str
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    id: int
    type: str
    kind: str
    fact_key: str
    name: str
    before: dict[str, Any]
    after: dict[str, Any]
    current: dict[str, Any]
    evidence: str
    language: str
    detected_at: datetime
    documents: list[DocumentRef] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # Every amount the page tied to the fact: role, hkd, text, qualifier, previous_hkd...
    amounts: list[dict[str, Any]] = field(default_factory=list)
    dismissed_at: datetime | None = None  # a person said it is wrong (watcher dismiss)
    dismiss_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "type": self.type, "kind": self.kind, "key": self.fact_key,
            "name": self.name, "before": self.before, "after": self.after,
            "current": self.current, "evidence": self.evidence, "language": self.language,
            "amounts": self.amounts,
            "detected_at": self.detected_at.isoformat(),
            "dismissed_at": self.dismissed_at.isoformat() if self.dismissed_at else None,
            "dismiss_reason": self.dismiss_reason,
            "sources": [
                {"url": d.url, "title": d.title, "language": d.language, "source": d.source,
                 "published_at": d.published_at.isoformat() if d.published_at else None}
                for d in self.documents
            ],
            "deliveries": [
                {"id": d.id, "rule": d.rule_id, "target": d.target, "status": d.status,
                 "attempts": d.attempts, "last_error": d.last_error}
                for d in self.deliveries
            ],
        }


def change_documents(session: Session, change_ids: list[int]) -> dict[int, list[DocumentRef]]:
    found: dict[int, list[DocumentRef]] = {i: [] for i in change_ids}
    if not change_ids:
        return found
    # The columns a reference shows, not whole rows: a document row carries the page's
    # text, and a dispatch of 500 alerts loaded 6.5 MB of it only to read titles.
    rows = session.execute(
        core_select(col(ChangeDocumentRow.change_id), col(DocumentRow.url),
                    col(DocumentRow.title), col(DocumentRow.language), col(SourceRow.name),
                    col(DocumentRow.published_at))
        .join(DocumentRow, col(DocumentRow.id) == col(ChangeDocumentRow.document_id))
        .join(SourceRow, col(SourceRow.id) == col(DocumentRow.source_id))
        .where(col(ChangeDocumentRow.change_id).in_(change_ids))
        .order_by(col(ChangeDocumentRow.seen_at))
    ).all()
    for change_id, url, title, language, source, published_at in rows:
        found[change_id].append(DocumentRef(url, title, language, source,
                                            as_utc(published_at)))
    return found


def _entry(row: ChangeRow, documents: list[DocumentRef],
           deliveries: list[Delivery] | None = None) -> ChangeEntry:
    assert row.id is not None
    detected = as_utc(row.detected_at)
    assert detected is not None
    return ChangeEntry(row.id, row.type, row.kind, row.fact_key, row.name, row.before,
                       row.after, row.current, row.evidence, row.language, detected,
                       documents, deliveries or [], list(row.amounts),
                       as_utc(row.dismissed_at), row.dismiss_reason)


def change_log(session: Session, *, since: datetime | None = None, kind: str | None = None,
               change_type: str | None = None, source: str | None = None,
               limit: int = 100) -> list[ChangeEntry]:
    """Changes, newest first."""
    query = select(ChangeRow).order_by(col(ChangeRow.detected_at).desc(),
                                       col(ChangeRow.id).desc())
    if since is not None:
        query = query.where(ChangeRow.detected_at >= since)
    if kind:
        query = query.where(ChangeRow.kind == kind)
    if change_type:
        query = query.where(ChangeRow.type == change_type)
    if source:
        query = query.join(SourceRow, col(SourceRow.id) == col(ChangeRow.source_id)).where(
            SourceRow.name == source)
    rows = session.exec(query.limit(limit)).all()
    documents = change_documents(session, [r.id for r in rows if r.id is not None])
    return [_entry(row, documents.get(row.id or 0, [])) for row in rows]


def change(session: Session, change_id: int) -> ChangeEntry | None:
    row = session.get(ChangeRow, change_id)
    if row is None:
        return None
    deliveries = session.exec(
        select(OutboxRow).where(OutboxRow.change_id == change_id).order_by(col(OutboxRow.id))
    ).all()
    return _entry(row, change_documents(session, [change_id])[change_id],
                  [_delivery(d) for d in deliveries])
