"""Source rows: registration from config, leases between replicas, and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from watcher.store.tables import SourceRow
from watcher.store.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    kind: str
    url: str
    tags: tuple[str, ...]
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_due_at: datetime | None


def register_sources(session: Session, sources: list[tuple[str, str, str, tuple[str, ...]]]
                     ) -> dict[str, int]:
    """Insert or update (name, kind, url, tags) rows; returns name -> id.

    Rows of sources no longer configured are kept: their history still matters.
    """
    existing = {row.name: row for row in session.exec(select(SourceRow)).all()}
    for name, kind, url, tags in sources:
        row = existing.get(name)
        if row is None:
            row = SourceRow(name=name, kind=kind, url=url, tags=list(tags))
            session.add(row)
            existing[name] = row
        elif (row.kind, row.url, tuple(row.tags)) != (kind, url, tags):
            row.kind, row.url, row.tags = kind, url, list(tags)
            session.add(row)
    session.flush()
    return {name: row.id for name, row in existing.items() if row.id is not None}


def source_id(session: Session, name: str) -> int | None:
    return session.exec(select(SourceRow.id).where(SourceRow.name == name)).first()


def claim(session: Session, name: str, owner: str, now: datetime, lease: timedelta,
          *, force: bool = False, slack: timedelta = timedelta(0)) -> bool:
    """Take the lease on a due source. True when this caller may poll it now.

    A source is due when its ``next_due_at`` is at most ``slack`` away: a scheduler's
    jitter may fire a little early, and that must not skip a whole interval.

    One conditional UPDATE, atomic on SQLite and PostgreSQL alike: of two replicas
    racing for the same source, exactly one sees a row count of 1.
    """
    conditions: list[ColumnElement[bool]] = [
        col(SourceRow.name) == name,
        or_(col(SourceRow.lease_until).is_(None), col(SourceRow.lease_until) < now,
            col(SourceRow.lease_owner) == owner),
    ]
    if not force:
        conditions.append(
            or_(col(SourceRow.next_due_at).is_(None), col(SourceRow.next_due_at) <= now + slack)
        )
    result = session.execute(
        update(SourceRow).where(*conditions).values(lease_owner=owner, lease_until=now + lease)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_poll(session: Session, name: str, now: datetime, next_due: datetime,
                error: str | None) -> tuple[int, int]:
    """Record a poll's outcome and release the lease.

    Returns (failures before, failures now), which tell the caller whether the source
    just started failing or just recovered.
    """
    row = session.exec(select(SourceRow).where(SourceRow.name == name)).one()
    before = row.consecutive_failures
    row.last_polled_at = now
    row.next_due_at = next_due
    row.lease_owner = None
    row.lease_until = None
    if error is None:
        row.last_success_at = now
        row.consecutive_failures = 0
    else:
        row.last_error = error[:2000]
        row.last_error_at = now
        row.consecutive_failures = before + 1
    session.add(row)
    return before, row.consecutive_failures


def record_failures(session: Session, name: str, error: str, at: datetime,
                    count: int) -> None:
    """Record ``count`` failed polls of ``name`` that could not be recorded when they
    happened (the database refused), the last at ``at``."""
    row = session.exec(select(SourceRow).where(SourceRow.name == name)).one()
    row.last_error = error[:2000]
    row.last_error_at = at
    row.consecutive_failures += count
    session.add(row)


def last_polled(session: Session, name: str) -> datetime | None:
    """When ``name``'s last poll was recorded, by any replica."""
    return as_utc(session.exec(select(SourceRow.last_polled_at)
                               .where(SourceRow.name == name)).first())


def renew(session: Session, name: str, owner: str, until: datetime) -> bool:
    """Extend a lease this owner still holds (a long poll). False if it lost it."""
    result = session.execute(
        update(SourceRow)
        .where(col(SourceRow.name) == name, col(SourceRow.lease_owner) == owner)
        .values(lease_until=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, name: str, owner: str) -> None:
    """Give a lease back without recording a poll (shutdown mid-poll)."""
    session.execute(
        update(SourceRow)
        .where(col(SourceRow.name) == name, col(SourceRow.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )


def health(session: Session) -> list[SourceHealth]:
    rows = session.exec(select(SourceRow).order_by(SourceRow.name)).all()
    return [
        SourceHealth(
            name=row.name, kind=row.kind, url=row.url, tags=tuple(row.tags),
            last_polled_at=as_utc(row.last_polled_at),
            last_success_at=as_utc(row.last_success_at), last_error=row.last_error,
            last_error_at=as_utc(row.last_error_at),
            consecutive_failures=row.consecutive_failures,
            next_due_at=as_utc(row.next_due_at),
        )
        for row in rows
    ]


def next_due(session: Session) -> dict[str, datetime | None]:
    """When each source is next due, as the database remembers it (resume after restart)."""
    return {row.name: as_utc(row.next_due_at) for row in session.exec(select(SourceRow)).all()}
