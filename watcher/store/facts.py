"""Documents, snapshots, facts and changes: what a poll writes, in the caller's transaction.

The one-row functions here are the reference for what a page leaves in the store; a
poll's pages go through ``watcher.store.chunk.ChunkWriter``, which gives the same answers
and rows with a few queries and bulk statements per chunk (tests compare the two)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Row,
    Select,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    update,
)
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from watcher.models import (
    Change,
    ChangeType,
    Document,
    Fact,
    FactKind,
    FactOrigin,
    FetchResult,
    KnownFact,
    RoleAmount,
    Status,
)
from watcher.store import delta
from watcher.store.tables import (
    ChangeDocumentRow,
    ChangeRow,
    DocumentRow,
    FactRow,
    FetchRow,
    PageStateRow,
    SnapshotRow,
)
from watcher.store.timeutil import as_utc

BASELINE = "baseline"
CURRENT = "current"


def doc_scope(document_id: int) -> str:
    return f"doc:{document_id}"


@dataclass(frozen=True, slots=True)
class PageState:
    etag: str | None
    last_modified: str | None
    content_hash: str | None


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A change as stored: ``is_new`` is False when another document had already
    reported the same change and this one was only linked to it."""

    id: int
    change: Change
    is_new: bool


_STATE = PageStateRow.__table__  # type: ignore[attr-defined]
_FETCH = FetchRow.__table__  # type: ignore[attr-defined]
_STATE_SET = ("etag", "last_modified", "content_hash", "last_status", "last_fetched_at",
              "not_modified_count")
_STATE_COLUMNS = [_STATE.c.id, _STATE.c.url] + [_STATE.c[name] for name in _STATE_SET]
_UPDATE_STATE = update(_STATE).where(_STATE.c.id == bindparam("b_id")).values(
    {name: bindparam(f"b_{name}") for name in _STATE_SET})


def where_in(query: Select[Any], column: Any) -> Select[Any]:
    """``query`` for the rows whose ``column`` is in the list ``rows_in`` passes. Build it
    once: SQLAlchemy then reuses its compiled form instead of keying a new statement."""
    return query.where(column.in_(bindparam("values", expanding=True)))


def _in_batches(values: Iterable[Any]) -> Iterator[dict[str, list[Any]]]:
    """A ``where_in`` query's parameters for ``values`` (each once), 500 at a time: IN
    lists of a sane size."""
    wanted = list(dict.fromkeys(values))
    for start in range(0, len(wanted), 500):
        yield {"values": wanted[start : start + 500]}


def rows_in(connection: Connection, query: Select[Any], values: Iterable[Any]
            ) -> list[Row[Any]]:
    """The rows of a ``where_in`` query for ``values``; Core, so no ORM objects are
    built."""
    found: list[Row[Any]] = []
    for batch in _in_batches(values):
        found += connection.execute(query, batch)
    return found


_STATES = where_in(core_select(*_STATE_COLUMNS), _STATE.c.url)
# What a conditional GET needs, and no more: a feed of 1,000 links asks for 1,000 rows.
_VALIDATORS = where_in(core_select(_STATE.c.url, _STATE.c.etag, _STATE.c.last_modified,
                                   _STATE.c.content_hash), _STATE.c.url)
_STATE_COUNT = where_in(core_select(func.count()).select_from(_STATE), _STATE.c.url)


def count_in(connection: Connection, query: Select[Any], values: Iterable[Any]) -> int:
    """The sum of a ``where_in`` count query over ``values``."""
    return sum(connection.execute(query, batch).scalar_one() for batch in _in_batches(values))


def page_states(session: Session, urls: Iterable[str]) -> dict[str, PageState]:
    rows = rows_in(session.connection(), _VALIDATORS, urls)
    return {row.url: PageState(row.etag, row.last_modified, row.content_hash) for row in rows}


def record_fetch(session: Session, source_id: int, result: FetchResult, content_hash: str | None,
                 now: datetime) -> None:
    """Log the request and remember its validators for the next conditional GET."""
    session.add(
        FetchRow(
            source_id=source_id, url=result.url, fetched_at=now, status=result.status,
            etag=result.etag, last_modified=result.last_modified, content_hash=content_hash,
            size=len(result.content), elapsed_ms=int(result.elapsed_s * 1000),
            not_modified=result.not_modified, error=result.error,
        )
    )
    if result.error is not None:
        return
    state = session.exec(select(PageStateRow).where(PageStateRow.url == result.url)).first()
    if state is None:
        state = PageStateRow(url=result.url)
    state.last_status = result.status
    state.last_fetched_at = now
    if result.etag or result.last_modified or not result.not_modified:
        state.etag, state.last_modified = result.etag, result.last_modified
    if content_hash:
        state.content_hash = content_hash
    session.add(state)


def record_fetches(session: Session, source_id: int,
                   fetched: Iterable[tuple[FetchResult, str | None]], now: datetime, *,
                   log_not_modified: bool = True, remember: bool = True) -> None:
    """``record_fetch`` for every response of a poll: one insert for the log and one query
    (per 500 URLs) for the page states, instead of a query and a flush per response.

    With ``log_not_modified=False`` (a poll's followed pages) an unchanged answer adds no
    ``fetch`` row: its page state counts it (``not_modified_count``) and keeps its time
    and validators, in one executemany UPDATE for all of them. A warm poll of N pages
    then writes a log row only for the list, the pages that changed and the errors.

    With ``remember=False`` the responses are only logged: their validators wait
    (a list's, until its items are followed: ``remember_validators`` then)."""
    fetched = list(fetched)
    if not fetched:
        return
    logged = fetched if log_not_modified else [
        (r, h) for r, h in fetched if r.error is not None or not r.not_modified]
    connection = session.connection()
    if logged:
        connection.execute(insert(_FETCH), [
            {"source_id": source_id, "url": r.url, "fetched_at": now, "status": r.status,
             "etag": r.etag, "last_modified": r.last_modified, "content_hash": content_hash,
             "size": len(r.content), "elapsed_ms": int(r.elapsed_s * 1000),
             "not_modified": r.not_modified, "error": r.error}
            for r, content_hash in logged
        ])
    if remember:
        remember_validators(session, fetched, now)


def remember_validators(session: Session, fetched: Iterable[tuple[FetchResult, str | None]],
                        now: datetime) -> None:
    """Keep each successful response's validators and body hash for the next conditional
    GET (an unchanged answer is counted on its state)."""
    fetched = list(fetched)
    connection = session.connection()
    unchanged = [(r, h) for r, h in fetched if r.error is None and r.not_modified]
    counted = _count_not_modified(connection, unchanged, now)
    rest = [(r, h) for r, h in fetched if r.error is None and r.url not in counted]
    known = {row.url: row for row in rows_in(connection, _STATES, [r.url for r, _ in rest])}
    _save_states(connection, rest, now, known)


def _save_states(connection: Connection, fetched: list[tuple[FetchResult, str | None]],
                 now: datetime, known: Mapping[str, Row[Any]]) -> None:
    """``record_fetch``'s page-state half for many responses: the states are worked out
    here, then written with one executemany INSERT and one UPDATE."""
    new: dict[str, dict[str, Any]] = {}
    changed: dict[str, dict[str, Any]] = {}
    for result, content_hash in fetched:
        url = result.url
        state = new.get(url) or changed.get(url)
        if state is None and url in known:
            state = changed[url] = dict(known[url]._mapping)
        elif state is None:
            state = new[url] = {"url": url, "etag": None, "last_modified": None,
                                "content_hash": None, "not_modified_count": 0}
        state["last_status"] = result.status
        state["last_fetched_at"] = now
        if result.not_modified:
            state["not_modified_count"] = (state["not_modified_count"] or 0) + 1
        if result.etag or result.last_modified or not result.not_modified:
            state["etag"], state["last_modified"] = result.etag, result.last_modified
        if content_hash:
            state["content_hash"] = content_hash
    if new:
        connection.execute(insert(_STATE), list(new.values()))
    if changed:
        connection.execute(_UPDATE_STATE, [{f"b_{k}": state[k] for k in ("id", *_STATE_SET)}
                                           for state in changed.values()])


# One statement for every unchanged answer; validators are replaced only when the
# answer carried one (as record_fetch does), the body's hash only when there was a body.
_COUNT_NOT_MODIFIED = (
    update(_STATE)
    .where(_STATE.c.url == bindparam("b_url"))
    .values(
        last_status=bindparam("b_status"),
        last_fetched_at=bindparam("b_now"),
        not_modified_count=_STATE.c.not_modified_count + 1,
        etag=case((bindparam("b_validators", type_=Boolean), bindparam("b_etag")),
                  else_=_STATE.c.etag),
        last_modified=case((bindparam("b_validators", type_=Boolean), bindparam("b_lm")),
                           else_=_STATE.c.last_modified),
        content_hash=func.coalesce(bindparam("b_hash", type_=String), _STATE.c.content_hash),
    )
)


def _count_not_modified(connection: Connection,
                        unchanged: list[tuple[FetchResult, str | None]], now: datetime
                        ) -> set[str]:
    """Update the states of unchanged pages in bulk; the URLs handled (all of them, unless
    a state row was missing: then none, and _save_states does them)."""
    params: dict[str, dict[str, Any]] = {}
    for result, content_hash in unchanged:
        params[result.url] = {
            "b_url": result.url, "b_status": result.status, "b_now": now,
            "b_validators": bool(result.etag or result.last_modified),
            "b_etag": result.etag, "b_lm": result.last_modified, "b_hash": content_hash}
    if not params:
        return set()
    if count_in(connection, _STATE_COUNT, params) != len(params):
        return set()  # a 304 for a page never stored: let _save_states add it
    connection.execute(_COUNT_NOT_MODIFIED, list(params.values()))
    return set(params)


# A snapshot body that starts with this is a reverse delta (watcher.store.delta) against
# the snapshot whose hash follows; any other body is the whole page, zlib-compressed
# (a zlib stream never starts with a NUL byte).
_DELTA_MAGIC = b"\x00delta1:"
HASH_LENGTH = 64
_MAX_CHAIN = 1000  # a delta's base may itself be a delta; bounded in case of a cycle


def save_snapshot(session: Session, content_hash: str, content: bytes, now: datetime, *,
                  replaces: str | None = None, url: str | None = None) -> None:
    """Keep a raw body once per distinct content, compressed. ``replaces`` is the hash of
    the body this one replaces at ``url``: that snapshot becomes a small reverse delta
    against this one, unless another document still points at it."""
    row = session.get(SnapshotRow, content_hash)
    if row is not None:
        if replaces is not None and replaces != content_hash and is_delta(row.body):
            # The page went back to a body kept as a delta: keep it whole again, since
            # a document points at it now.
            row.body = compress(content)
            session.add(row)
    else:
        session.add(SnapshotRow(hash=content_hash, body=compress(content),
                                size=len(content), first_seen=now))
    if replaces is not None and replaces != content_hash and len(content_hash) == HASH_LENGTH:
        _to_delta(session, replaces, content_hash, content, url)


def _to_delta(session: Session, old_hash: str, new_hash: str, new: bytes,
              url: str | None) -> None:
    row = session.get(SnapshotRow, old_hash)
    if row is None or is_delta(row.body):
        return
    shared = select(DocumentRow.id).where(DocumentRow.content_hash == old_hash)
    if url is not None:
        shared = shared.where(DocumentRow.url != url)
    if session.exec(shared.limit(1)).first() is not None:
        return  # another page shows this body: it stays whole
    body = delta_body(row.body, new_hash, new)
    if body is not None:
        row.body = body
        session.add(row)


def compress(content: bytes) -> bytes:
    """A whole snapshot body. Level 1: a 45 KB page compresses in a quarter of the time
    of level 6 (0.27 ms against 0.9) into a body about 5% larger."""
    return zlib.compress(content, 1)


def is_delta(body: bytes) -> bool:
    return body.startswith(_DELTA_MAGIC)


def delta_body(whole: bytes, new_hash: str, new: bytes) -> bytes | None:
    """The stored body ``whole`` (compressed) as a reverse delta against ``new``; None
    when that is not smaller (or ``whole`` does not decompress)."""
    try:
        old = zlib.decompress(whole)
    except zlib.error:
        return None
    encoded = delta.encode(old, new)
    if encoded is None:
        return None
    body = _DELTA_MAGIC + new_hash.encode("ascii") + encoded
    return body if len(body) < len(whole) else None


def delta_base(body: bytes) -> str | None:
    """The hash a stored snapshot body is a delta against; None for a whole body."""
    if not body.startswith(_DELTA_MAGIC):
        return None
    header = len(_DELTA_MAGIC)
    return body[header : header + HASH_LENGTH].decode("ascii", "replace")


def snapshot_body(session: Session, content_hash: str) -> bytes | None:
    """The raw body kept for ``content_hash``; None if not kept (or pruned from under a
    delta: retention drops old snapshots that no document points at)."""
    chain: list[bytes] = []  # deltas, newest base last
    current = content_hash
    for _ in range(_MAX_CHAIN):
        row = session.get(SnapshotRow, current)
        if row is None:
            return None
        if not row.body.startswith(_DELTA_MAGIC):
            body = zlib.decompress(row.body)
            for step in reversed(chain):
                body = delta.decode(step, body)
            return body
        header = len(_DELTA_MAGIC)
        current = row.body[header : header + HASH_LENGTH].decode("ascii")
        chain.append(row.body[header + HASH_LENGTH :])
    return None


def document_hash(session: Session, url: str) -> str | None:
    """The content hash the stored document at ``url`` has now (before this poll saves
    it again)."""
    return session.exec(select(DocumentRow.content_hash).where(DocumentRow.url == url)).first()


def save_document(session: Session, source_id: int, document: Document,
                  content_hash: str | None, now: datetime) -> int:
    row = session.exec(select(DocumentRow).where(DocumentRow.url == document.url)).first()
    if row is None:
        row = DocumentRow(url=document.url, source_id=source_id, first_seen=now, last_seen=now)
    for name, value in document_values(document, content_hash, now).items():
        setattr(row, name, value)
    session.add(row)
    if row.id is None:  # a new row: its id comes from the database
        session.flush()
    assert row.id is not None
    return row.id


def document_values(document: Document, content_hash: str | None,
                    now: datetime) -> dict[str, Any]:
    """The columns a poll sets on a document's row, new or not."""
    return {"title": document.title[:1000], "text": document.text,
            # In UTC: SQLite would keep a Hong Kong time's wall clock and drop its zone.
            "language": document.language, "published_at": as_utc(document.published),
            "content_hash": content_hash, "last_seen": now}


def _known(row: FactRow) -> KnownFact:
    return known_fact(row.key, row.kind, row.name, row.origin, row.amount_hkd, row.status,
                      row.attributes, row.amounts, row.evidence_at)


def known_fact(key: str, kind: str, name: str, origin: str, amount_hkd: int | None,
               status: str | None, attributes: Mapping[str, Any],
               amounts: Iterable[Mapping[str, Any]] | None = (),
               evidence_at: datetime | None = None) -> KnownFact:
    """A fact row's columns as the differ reads them."""
    return KnownFact(
        key=key, kind=FactKind(kind), name=name, origin=FactOrigin(origin),
        amount_hkd=amount_hkd, status=Status(status) if status else None,
        attributes=tuple(sorted((str(k), str(v)) for k, v in attributes.items())),
        amounts=tuple(RoleAmount.from_json(dict(a)) for a in amounts or ()),
        evidence_at=as_utc(evidence_at),
    )


def amounts_json(amounts: Iterable[RoleAmount]) -> list[dict[str, Any]]:
    """Amounts as the store keeps them: each with the words that decided its role."""
    return [a.as_json() | ({"cue": a.cue} if a.cue else {}) for a in amounts]


def page_facts(session: Session, url: str) -> dict[str, KnownFact] | None:
    """What the previous version of the page at ``url`` said; None if never read."""
    document_id = session.exec(select(DocumentRow.id).where(DocumentRow.url == url)).first()
    if document_id is None:
        return None
    rows = session.exec(select(FactRow).where(FactRow.scope == doc_scope(document_id)))
    return {row.key: _known(row) for row in rows}


def current_facts(session: Session, keys: Iterable[str]) -> dict[str, KnownFact]:
    """The store's present belief about each key: its ``current`` row, else baseline."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    found: dict[str, KnownFact] = {}
    rows = session.exec(
        select(FactRow).where(col(FactRow.key).in_(wanted),
                              col(FactRow.scope).in_([CURRENT, BASELINE]))
    ).all()
    for row in sorted(rows, key=lambda r: r.scope != CURRENT):  # current rows first
        found.setdefault(row.key, _known(row))
    return found


def replace_page_facts(session: Session, document_id: int, facts: Iterable[Fact],
                       now: datetime) -> None:
    """The page's facts become exactly ``facts``."""
    scope = doc_scope(document_id)
    session.execute(delete(FactRow).where(col(FactRow.scope) == scope))
    for fact in facts:
        session.add(FactRow(**page_fact_values(fact, document_id, now)))


def page_fact_values(fact: Fact, document_id: int, now: datetime) -> dict[str, Any]:
    """The row that records what a document says about one fact."""
    return {"key": fact.key, "scope": doc_scope(document_id), "kind": str(fact.kind),
            "name": fact.name, "amount_hkd": fact.amount_hkd,
            "status": str(fact.status) if fact.status else None,
            "attributes": dict(fact.attributes), "evidence": fact.evidence[:4000],
            "language": fact.language, "document_id": document_id,
            "origin": FactOrigin.OBSERVED.value, "first_seen": now, "last_seen": now,
            "amounts": amounts_json(fact.amounts), "evidence_at": None}


def _set_current(session: Session, change: Change, change_id: int, document_id: int | None,
                 now: datetime, state: KnownFact | None) -> None:
    row = session.exec(
        select(FactRow).where(FactRow.key == change.fact_key, FactRow.scope == CURRENT)
    ).first()
    if row is None:
        row = FactRow(**new_current_values(change, now))
    for name, value in current_values(change, change_id, document_id, now, state).items():
        setattr(row, name, value)
    session.add(row)


def touch_current(session: Session, states: Iterable[KnownFact], now: datetime) -> None:
    """Facts a newer page repeated: their evidence time and amounts move on."""
    for state in states:
        row = session.exec(
            select(FactRow).where(FactRow.key == state.key, FactRow.scope == CURRENT)
        ).first()
        if row is not None:
            for name, value in touch_values(state, now).items():
                setattr(row, name, value)
            session.add(row)


def touch_values(state: KnownFact, now: datetime) -> dict[str, Any]:
    return {"amounts": amounts_json(state.amounts), "evidence_at": state.evidence_at,
            "last_seen": now}


def new_current_values(change: Change, now: datetime) -> dict[str, Any]:
    """The columns a key's ``current`` row is created with (then set by current_values)."""
    return {"key": change.fact_key, "scope": CURRENT, "kind": str(change.kind),
            "name": change.name, "origin": FactOrigin.OBSERVED.value,
            "first_seen": now, "last_seen": now}


def current_values(change: Change, change_id: Any, document_id: int | None,
                   now: datetime, state: KnownFact | None = None) -> dict[str, Any]:
    """The columns a new change sets on its key's ``current`` row; ``state`` (the differ's
    view of the fact afterwards) gives its amounts and evidence time."""
    values: dict[str, Any] = dict(change.current)
    return {"amount_hkd": values.pop("amount_hkd", None), "status": values.pop("status", None),
            "attributes": values, "evidence": change.evidence[:4000],
            "language": change.language, "document_id": document_id,
            "last_change_id": change_id, "last_seen": now,
            "amounts": amounts_json(state.amounts if state else change.amounts),
            "evidence_at": state.evidence_at if state else None}


def change_identity(change: Change, document_url: str) -> str:
    """A removal is specific to its page; every other change is the same news wherever
    it is read (EN and ZH twins, the feed and the page)."""
    identity = change.identity
    if change.type == ChangeType.REMOVED:
        identity += f"@{document_url}"
    return identity[:500]


def save_changes(session: Session, changes: Iterable[Change], *, document_id: int,
                 document_url: str, source_id: int, now: datetime,
                 states: Mapping[str, KnownFact] | None = None) -> list[StoredChange]:
    """Store each change once; a change already known gains this document as a source.
    ``states`` holds each key's state afterwards (amounts, evidence time), as the differ
    saw it."""
    stored: list[StoredChange] = []
    for change in changes:
        identity = change_identity(change, document_url)
        row = session.exec(select(ChangeRow).where(ChangeRow.identity == identity)).first()
        is_new = row is None
        if row is None:
            row = ChangeRow(**change_values(change, identity, document_id, source_id, now))
            session.add(row)
            session.flush()
        assert row.id is not None
        link_document(session, row.id, document_id, now)
        if is_new and change.type != ChangeType.REMOVED:
            _set_current(session, change, row.id, document_id, now,
                         (states or {}).get(change.fact_key))
        stored.append(StoredChange(row.id, change, is_new))
    return stored


def change_values(change: Change, identity: str, document_id: int, source_id: int,
                  now: datetime) -> dict[str, Any]:
    return {"identity": identity, "type": str(change.type), "fact_key": change.fact_key,
            "kind": str(change.kind), "name": change.name, "before": change.before,
            "after": change.after, "current": change.current,
            "evidence": change.evidence[:4000], "language": change.language,
            "document_id": document_id, "source_id": source_id, "detected_at": now,
            "amounts": amounts_json(change.amounts), "prior": change.prior,
            "dismissed_at": None, "dismiss_reason": None}


def link_document(session: Session, change_id: int, document_id: int, now: datetime) -> None:
    if session.get(ChangeDocumentRow, (change_id, document_id)) is None:
        session.add(ChangeDocumentRow(change_id=change_id, document_id=document_id, seen_at=now))


def corroborate(session: Session, facts: Iterable[Fact], current: Mapping[str, KnownFact],
                document_id: int, now: datetime) -> None:
    """Link this document to the change that set a fact it repeats (the ZH twin of an EN
    release), so the change lists every page that reported it."""
    keys = [f.key for f in facts if f.key in current]
    if not keys:
        return
    rows = session.exec(
        select(FactRow).where(col(FactRow.key).in_(keys), FactRow.scope == CURRENT,
                              col(FactRow.last_change_id).is_not(None))
    ).all()
    for row in rows:
        assert row.last_change_id is not None
        link_document(session, row.last_change_id, document_id, now)
