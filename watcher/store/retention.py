"""Retention: raw snapshots and fetch logs age out; facts, changes and alerts never do."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from watcher.store.facts import delta_base
from watcher.store.tables import DocumentRow, FetchRow, SnapshotRow
from watcher.store.timeutil import as_utc

_HEADER = 72  # enough of a body to read a delta's base hash


def prune(session: Session, before: datetime) -> tuple[int, int]:
    """Delete snapshots first seen before ``before`` that no document points at and no
    kept snapshot is a delta against, and fetch records older than ``before``. Returns
    (snapshots, fetches) deleted."""
    in_use = set(session.execute(
        select(col(DocumentRow.content_hash)).where(col(DocumentRow.content_hash).is_not(None))
    ).scalars())
    rows = session.execute(
        select(col(SnapshotRow.hash), col(SnapshotRow.first_seen),
               func.substr(col(SnapshotRow.body), 1, _HEADER))
    ).all()
    base_of = {h: delta_base(bytes(head)) for h, _, head in rows}
    doomed = {h for h, first_seen, _ in rows if _aware(first_seen) < before and h not in in_use}
    # A kept snapshot's delta chain must stay whole: keep every base it leads to.
    needed = {base_of[h] for h in base_of if h not in doomed and base_of[h]}
    while needed & doomed:
        rescued = needed & doomed
        doomed -= rescued
        needed = {base_of[h] for h in rescued if base_of[h]}
    deleted = 0
    for start in range(0, len(doomed), 500):
        chunk = sorted(doomed)[start:start + 500]
        result = session.execute(delete(SnapshotRow).where(col(SnapshotRow.hash).in_(chunk)))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    fetches = session.execute(delete(FetchRow).where(col(FetchRow.fetched_at) < before))
    return deleted, fetches.rowcount or 0  # type: ignore[attr-defined]


def _aware(value: datetime) -> datetime:
    aware = as_utc(value)
    assert aware is not None
    return aware
