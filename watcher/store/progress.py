"""Small key/value progress markers in the ``meta`` table, e.g. the last day a backfill
finished, so a long job resumes where it stopped."""

from __future__ import annotations

from sqlmodel import Session

from watcher.store.tables import MetaRow


def get_marker(session: Session, key: str) -> str | None:
    row = session.get(MetaRow, key)
    return row.value if row is not None else None


def set_marker(session: Session, key: str, value: str) -> None:
    row = session.get(MetaRow, key)
    if row is None:
        session.add(MetaRow(key=key, value=value))
    else:
        row.value = value
        session.add(row)
