"""The notification outbox: deliveries written with their change, sent at least once.

A delivery is claimed by pushing its ``next_attempt_at`` past a lease; if the sender
dies before marking it, the lease runs out and another dispatcher (or the same one after
a restart) sends it again. It is marked ``sent`` only after the target accepted it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from watcher.store.tables import OutboxRow

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    change_id: int | None
    rule_id: str
    target: str
    subject: str
    body: str
    severity: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    route: str | None = None  # watcher.delivery.routing route name; None = immediate
    alert_key: str | None = None  # the rule's dedup key (without target or time)


def _delivery(row: OutboxRow) -> Delivery:
    assert row.id is not None
    return Delivery(row.id, row.change_id, row.rule_id, row.target, row.subject, row.body,
                    row.severity, row.status, row.attempts, row.last_error, row.created_at,
                    row.next_attempt_at, row.sent_at, row.route, row.alert_key)


def enqueue(session: Session, *, change_id: int | None, source_id: int | None, rule_id: str,
            target: str, dedup_key: str, subject: str, body: str, severity: str,
            now: datetime, alert_key: str | None = None, route: str | None = None,
            not_before: datetime | None = None) -> bool:
    """Add a delivery unless one with the same dedup key exists. True if added.
    ``not_before`` holds it back (a digest's time, the end of quiet hours).

    One INSERT ... ON CONFLICT DO NOTHING on the unique dedup key: a key already queued,
    by this poll or by a concurrent replica, adds nothing (a lookup, a savepoint and an
    ORM flush per alert cost ~2.5 ms each in the benchmark)."""
    values = {
        "change_id": change_id, "source_id": source_id, "rule_id": rule_id, "target": target,
        "dedup_key": dedup_key[:700], "subject": subject, "body": body, "severity": severity,
        "status": PENDING, "attempts": 0, "created_at": now,
        "next_attempt_at": max(now, not_before or now),
        "alert_key": alert_key[:600] if alert_key else None, "route": route,
    }
    table = OutboxRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    insert = _insert_with_on_conflict(session.get_bind().dialect.name)
    statement = insert(table).values(**values).on_conflict_do_nothing(
        index_elements=["dedup_key"]).returning(table.c.id)
    # RETURNING, not rowcount: psycopg reports -1 rows for INSERT ... ON CONFLICT.
    return session.execute(statement).first() is not None


def _insert_with_on_conflict(dialect: str) -> Callable[[Any], Any]:
    """The dialect's own ``insert`` (it has ON CONFLICT), imported where it is used: a
    SQLite daemon need not carry the PostgreSQL dialect (1.5 MB resident)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


def claim_due(session: Session, owner: str, now: datetime, lease: timedelta,
              limit: int = 50) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries for this dispatcher (commit to publish)."""
    query = (
        select(OutboxRow)
        .where(col(OutboxRow.status).in_([PENDING, SENDING]), OutboxRow.next_attempt_at <= now)
        .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.exec(query).all()
    for row in rows:
        row.status = SENDING
        row.claimed_by = owner
        row.next_attempt_at = now + lease
        session.add(row)
    return [_delivery(row) for row in rows]


def last_alerted(session: Session, alert_key: str, target: str) -> datetime | None:
    """When an alert with this key was last queued for ``target`` (for realert)."""
    created = session.exec(
        select(func.max(OutboxRow.created_at))
        .where(OutboxRow.alert_key == alert_key[:600], OutboxRow.target == target)
    ).first()
    return created


def defer(session: Session, delivery_id: int, until: datetime) -> None:
    """Hand a claimed delivery back, due at ``until``; not an attempt (quiet hours)."""
    row = session.get(OutboxRow, delivery_id)
    if row is not None and row.status != SENT:
        row.status, row.next_attempt_at = PENDING, until
        session.add(row)


def mark_sent(session: Session, delivery_id: int, now: datetime) -> None:
    row = session.get(OutboxRow, delivery_id)
    if row is not None:
        row.status, row.sent_at, row.last_error = SENT, now, None
        row.attempts += 1
        session.add(row)


def mark_failed(session: Session, delivery_id: int, error: str, now: datetime,
                base_delay: timedelta, max_age: timedelta) -> str:
    """Schedule a retry with exponential backoff, or dead-letter past ``max_age``."""
    row = session.get(OutboxRow, delivery_id)
    if row is None:
        return DEAD
    row.attempts += 1
    row.last_error = error[:2000]
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=now.tzinfo)
    if now - created >= max_age:
        row.status = DEAD
    else:
        row.status = PENDING
        delay = base_delay * (2 ** min(row.attempts - 1, 10))
        row.next_attempt_at = now + min(delay, timedelta(hours=1))
    session.add(row)
    return row.status


def retry(session: Session, delivery_id: int | None, now: datetime) -> int:
    """Make failed or dead deliveries due now (one, or all when ``delivery_id`` is None)."""
    query = select(OutboxRow).where(col(OutboxRow.status).in_([PENDING, DEAD]))
    if delivery_id is not None:
        query = select(OutboxRow).where(OutboxRow.id == delivery_id,
                                        col(OutboxRow.status) != SENT)
    rows = session.exec(query).all()
    for row in rows:
        row.status, row.next_attempt_at = PENDING, now
        session.add(row)
    return len(rows)


def status_of(session: Session, delivery_id: int) -> str | None:
    """The delivery's status (pending, sent, dead), or None when there is no such id."""
    row = session.get(OutboxRow, delivery_id)
    return None if row is None else row.status


def listing(session: Session, status: str | None = None, limit: int = 200) -> list[Delivery]:
    query = select(OutboxRow).order_by(col(OutboxRow.id).desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxRow.status == status)
    return [_delivery(row) for row in session.exec(query).all()]


def depth(session: Session) -> dict[str, int]:
    rows = session.exec(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
    return {status: count for status, count in rows}
