"""Alerts -> outbox rows, one per (alert, target), in the caller's transaction.

Dedup and realert: a delivery's unique key is the alert's dedup key plus the target, so
one key alerts a target once. A rule with ``realert: 1d`` may alert the same key again
once a day has passed since it last did (looked up in the store, so it holds across
restarts and replicas); the repeat's unique key then carries the time.

Routes set when a delivery may first go (``not_before``): now, the next digest, or the
end of quiet hours. Nothing is dropped for timing; it is only held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from watcher.config.targets import Target
from watcher.delivery.routing import Routes, destinations
from watcher.models import Alert
from watcher.store import outbox


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def enqueue_alerts(session: Session, alerts: Sequence[Alert], *,
                   realert: Mapping[str, timedelta | None], routes: Routes,
                   targets: Sequence[Target], change_id: int | None, source_id: int | None,
                   now: datetime) -> int:
    """Queue each alert for each of its destinations; returns how many rows were added.
    ``realert`` maps rule ids to their realert period (None: never again)."""
    added = 0
    for alert in alerts:
        period = realert.get(alert.rule_id)
        for place in destinations(alert.tags, routes, targets):
            name = place.target.name
            key = f"{alert.dedup_key}|{name}"
            if period is not None:
                last = outbox.last_alerted(session, alert.dedup_key, name)
                if last is not None:
                    if now - _aware(last) < period:
                        continue
                    key = f"{key}|{now.isoformat()}"
            added += outbox.enqueue(
                session, change_id=change_id, source_id=source_id, rule_id=alert.rule_id,
                target=name, dedup_key=key, subject=alert.subject, body=alert.body,
                severity=alert.severity, now=now, alert_key=alert.dedup_key,
                route=place.route.name if place.route else None,
                not_before=place.route.release_at(now) if place.route else None,
            )
    return added
