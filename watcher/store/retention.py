"""Retention: raw snapshots and fetch logs age out; facts, changes and alerts never do."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session, col

from watcher.store.tables import DocumentRow, FetchRow, SnapshotRow


def prune(session: Session, before: datetime) -> tuple[int, int]:
    """Delete snapshots first seen before ``before`` that no document still points at,
    and fetch records older than ``before``. Returns (snapshots, fetches) deleted."""
    in_use = select(col(DocumentRow.content_hash)).where(col(DocumentRow.content_hash).is_not(None))
    snapshots = session.execute(
        delete(SnapshotRow).where(col(SnapshotRow.first_seen) < before,
                                  col(SnapshotRow.hash).not_in(in_use))
    )
    fetches = session.execute(delete(FetchRow).where(col(FetchRow.fetched_at) < before))
    return snapshots.rowcount or 0, fetches.rowcount or 0  # type: ignore[attr-defined]
