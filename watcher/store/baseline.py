"""Seeding the baseline facts (db/baseline.yaml) into the ``baseline`` scope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from watcher.models import FactOrigin, KnownFact
from watcher.store.facts import BASELINE
from watcher.store.tables import FactRow


def seed_baseline(session: Session, facts: Iterable[tuple[KnownFact, str]], now: datetime) -> int:
    """Insert or update one baseline row per key; returns how many rows changed.

    Running it twice with the same file changes nothing.
    """
    existing = {row.key: row for row in
                session.exec(select(FactRow).where(FactRow.scope == BASELINE)).all()}
    changed = 0
    for fact, quote in facts:
        values: dict[str, Any] = dict(
            kind=str(fact.kind), name=fact.name, amount_hkd=fact.amount_hkd,
            status=str(fact.status) if fact.status else None,
            attributes=dict(fact.attributes), evidence=quote,
        )
        row = existing.get(fact.key)
        if row is None:
            row = FactRow(key=fact.key, scope=BASELINE, origin=FactOrigin.BASELINE.value,
                          first_seen=now, last_seen=now, **values)
        elif all(getattr(row, name) == value for name, value in values.items()):
            continue
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.last_seen = now
        session.add(row)
        changed += 1
    return changed
