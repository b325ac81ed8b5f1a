"""Documents, snapshots, facts and changes: what a poll writes, in the caller's transaction."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, bindparam, case, delete, func, insert, update
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


def page_states(session: Session, urls: Iterable[str]) -> dict[str, PageState]:
    wanted = list(dict.fromkeys(urls))
    states: dict[str, PageState] = {}
    for chunk_start in range(0, len(wanted), 500):  # keep IN lists a sane size
        chunk = wanted[chunk_start : chunk_start + 500]
        for row in session.exec(select(PageStateRow).where(col(PageStateRow.url).in_(chunk))):
            states[row.url] = PageState(row.etag, row.last_modified, row.content_hash)
    return states


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
                   log_not_modified: bool = True) -> None:
    """``record_fetch`` for every response of a poll: one insert for the log and one query
    (per 500 URLs) for the page states, instead of a query and a flush per response.

    With ``log_not_modified=False`` (a poll's followed pages) an unchanged answer adds no
    ``fetch`` row: its page state counts it (``not_modified_count``) and keeps its time
    and validators, in one executemany UPDATE for all of them. A warm poll of N pages
    then writes a log row only for the list, the pages that changed and the errors."""
    fetched = list(fetched)
    if not fetched:
        return
    logged = fetched if log_not_modified else [
        (r, h) for r, h in fetched if r.error is not None or not r.not_modified]
    if logged:
        session.execute(insert(FetchRow), [
            {"source_id": source_id, "url": r.url, "fetched_at": now, "status": r.status,
             "etag": r.etag, "last_modified": r.last_modified, "content_hash": content_hash,
             "size": len(r.content), "elapsed_ms": int(r.elapsed_s * 1000),
             "not_modified": r.not_modified, "error": r.error}
            for r, content_hash in logged
        ])
    unchanged = [(r, h) for r, h in fetched if r.error is None and r.not_modified]
    counted = _count_not_modified(session, unchanged, now)
    rest = [(r, h) for r, h in fetched if r.error is None and r.url not in counted]
    wanted = list(dict.fromkeys(r.url for r, _ in rest))
    states: dict[str, PageStateRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.exec(select(PageStateRow).where(col(PageStateRow.url).in_(chunk))):
            states[row.url] = row
    for result, content_hash in rest:
        state = states.get(result.url)
        if state is None:
            state = states[result.url] = PageStateRow(url=result.url)
            session.add(state)
        state.last_status = result.status
        state.last_fetched_at = now
        if result.not_modified:
            state.not_modified_count = (state.not_modified_count or 0) + 1
        if result.etag or result.last_modified or not result.not_modified:
            state.etag, state.last_modified = result.etag, result.last_modified
        if content_hash:
            state.content_hash = content_hash


_STATE = PageStateRow.__table__  # type: ignore[attr-defined]
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


def _count_not_modified(session: Session, unchanged: list[tuple[FetchResult, str | None]],
                        now: datetime) -> set[str]:
    """Update the states of unchanged pages in bulk; the URLs handled (all of them, unless
    a state row was missing: then none, and the caller's row-by-row path does them)."""
    params: dict[str, dict[str, Any]] = {}
    for result, content_hash in unchanged:
        params[result.url] = {
            "b_url": result.url, "b_status": result.status, "b_now": now,
            "b_validators": bool(result.etag or result.last_modified),
            "b_etag": result.etag, "b_lm": result.last_modified, "b_hash": content_hash}
    if not params:
        return set()
    present = 0
    urls = list(params)
    for start in range(0, len(urls), 500):
        chunk = urls[start : start + 500]
        present += len(session.exec(
            select(PageStateRow.url).where(col(PageStateRow.url).in_(chunk))).all())
    if present != len(urls):  # a 304 for a page never stored: let the ORM path add it
        return set()
    session.execute(_COUNT_NOT_MODIFIED, list(params.values()))
    return set(urls)


_PRELOADED = "watcher.preloaded"  # key in Session.info; lives as long as the transaction


@dataclass
class _Preloaded:
    urls: set[str]  # looked up: a URL here but not in documents had no document
    documents: dict[str, DocumentRow]
    scopes: dict[str, list[FactRow]]  # doc scope -> the page's fact rows
    snapshots: set[str]
    created: set[int] = field(default_factory=set)  # by save_documents, facts not yet saved


def preload_pages(session: Session, urls: Iterable[str], hashes: Iterable[str]) -> None:
    """Load, in a few queries, what ``page_facts``, ``save_document`` and ``save_snapshot``
    would otherwise query one page at a time; they use it for the rest of the session."""
    wanted = list(dict.fromkeys(urls))
    documents: dict[str, DocumentRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.exec(select(DocumentRow).where(col(DocumentRow.url).in_(chunk))):
            documents[row.url] = row
    scopes: dict[str, list[FactRow]] = {}
    ids = [row.id for row in documents.values() if row.id is not None]
    for id_ in ids:
        scopes[doc_scope(id_)] = []
    for start in range(0, len(ids), 500):
        names = [doc_scope(i) for i in ids[start : start + 500]]
        for fact in session.exec(select(FactRow).where(col(FactRow.scope).in_(names))):
            scopes[fact.scope].append(fact)
    digests = list(dict.fromkeys(hashes))
    snapshots: set[str] = set()
    for start in range(0, len(digests), 500):
        chunk = digests[start : start + 500]
        snapshots.update(session.exec(
            select(SnapshotRow.hash).where(col(SnapshotRow.hash).in_(chunk))))
    session.info[_PRELOADED] = _Preloaded(set(wanted), documents, scopes, snapshots)


def save_documents(session: Session, source_id: int,
                   pages: Iterable[tuple[Document, str | None]], now: datetime) -> None:
    """Insert the documents seen for the first time in one flush, after ``preload_pages``;
    ``save_document`` then finds each row with its id and needs no flush of its own."""
    preloaded = _preloaded(session)
    if preloaded is None:
        return
    new: dict[str, DocumentRow] = {}
    for document, content_hash in pages:
        if document.url in preloaded.documents or document.url in new:
            continue
        new[document.url] = DocumentRow(
            url=document.url, source_id=source_id, title=document.title[:1000],
            text=document.text, language=document.language,
            published_at=document.published, content_hash=content_hash,
            first_seen=now, last_seen=now)
    if not new:
        return
    session.add_all(new.values())
    session.flush()
    for url, row in new.items():
        assert row.id is not None
        preloaded.documents[url] = row
        preloaded.created.add(row.id)


def _preloaded(session: Session) -> _Preloaded | None:
    found = session.info.get(_PRELOADED)
    return found if isinstance(found, _Preloaded) else None


# A snapshot body that starts with this is a reverse delta (watcher.store.delta) against
# the snapshot whose hash follows; any other body is the whole page, zlib-compressed
# (a zlib stream never starts with a NUL byte).
_DELTA_MAGIC = b"\x00delta1:"
_HASH_LENGTH = 64
_MAX_CHAIN = 1000  # a delta's base may itself be a delta; bounded in case of a cycle


def save_snapshot(session: Session, content_hash: str, content: bytes, now: datetime, *,
                  replaces: str | None = None, url: str | None = None) -> None:
    """Keep a raw body once per distinct content, compressed. ``replaces`` is the hash of
    the body this one replaces at ``url``: that snapshot becomes a small reverse delta
    against this one, unless another document still points at it."""
    preloaded = _preloaded(session)
    known = preloaded is not None and content_hash in preloaded.snapshots
    row = None if known else session.get(SnapshotRow, content_hash)
    if known or row is not None:
        if replaces is not None and replaces != content_hash:
            # The page went back to a body kept as a delta: keep it whole again, since
            # a document points at it now.
            row = row or session.get(SnapshotRow, content_hash)
            if row is not None and row.body.startswith(_DELTA_MAGIC):
                row.body = zlib.compress(content, 6)
                session.add(row)
    else:
        session.add(SnapshotRow(hash=content_hash, body=zlib.compress(content, 6),
                                size=len(content), first_seen=now))
    if preloaded is not None:
        preloaded.snapshots.add(content_hash)
    if replaces is not None and replaces != content_hash and len(content_hash) == _HASH_LENGTH:
        _to_delta(session, replaces, content_hash, content, url)


def _to_delta(session: Session, old_hash: str, new_hash: str, new: bytes,
              url: str | None) -> None:
    row = session.get(SnapshotRow, old_hash)
    if row is None or row.body.startswith(_DELTA_MAGIC):
        return
    shared = select(DocumentRow.id).where(DocumentRow.content_hash == old_hash)
    if url is not None:
        shared = shared.where(DocumentRow.url != url)
    if session.exec(shared.limit(1)).first() is not None:
        return  # another page shows this body: it stays whole
    try:
        old = zlib.decompress(row.body)
    except zlib.error:
        return
    encoded = delta.encode(old, new)
    if encoded is None:
        return
    body = _DELTA_MAGIC + new_hash.encode("ascii") + encoded
    if len(body) < len(row.body):
        row.body = body
        session.add(row)


def delta_base(body: bytes) -> str | None:
    """The hash a stored snapshot body is a delta against; None for a whole body."""
    if not body.startswith(_DELTA_MAGIC):
        return None
    header = len(_DELTA_MAGIC)
    return body[header : header + _HASH_LENGTH].decode("ascii", "replace")


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
        current = row.body[header : header + _HASH_LENGTH].decode("ascii")
        chain.append(row.body[header + _HASH_LENGTH :])
    return None


def document_hash(session: Session, url: str) -> str | None:
    """The content hash the stored document at ``url`` has now (before this poll saves
    it again), from the preloaded rows when there are any."""
    preloaded = _preloaded(session)
    if preloaded is not None and url in preloaded.urls:
        row = preloaded.documents.get(url)
        return row.content_hash if row is not None else None
    return session.exec(select(DocumentRow.content_hash).where(DocumentRow.url == url)).first()


def save_document(session: Session, source_id: int, document: Document,
                  content_hash: str | None, now: datetime) -> int:
    preloaded = _preloaded(session)
    row: DocumentRow | None = None
    if preloaded is not None and document.url in preloaded.urls:
        row = preloaded.documents.get(document.url)
    else:
        row = session.exec(select(DocumentRow).where(DocumentRow.url == document.url)).first()
    if row is None:
        row = DocumentRow(url=document.url, source_id=source_id, first_seen=now, last_seen=now)
    row.title = document.title[:1000]
    row.text = document.text
    row.language = document.language
    row.published_at = document.published
    row.content_hash = content_hash
    row.last_seen = now
    session.add(row)
    if row.id is None:  # a new row: its id comes from the database
        session.flush()
    assert row.id is not None
    if preloaded is not None:
        preloaded.documents[document.url] = row
    return row.id


def _known(row: FactRow) -> KnownFact:
    return KnownFact(
        key=row.key, kind=FactKind(row.kind), name=row.name, origin=FactOrigin(row.origin),
        amount_hkd=row.amount_hkd, status=Status(row.status) if row.status else None,
        attributes=tuple(sorted((str(k), str(v)) for k, v in row.attributes.items())),
    )


def page_facts(session: Session, url: str) -> dict[str, KnownFact] | None:
    """What the previous version of the page at ``url`` said; None if never read."""
    preloaded = _preloaded(session)
    if preloaded is not None and url in preloaded.documents:
        document_id = preloaded.documents[url].id
        if document_id in preloaded.created:
            return None  # inserted by save_documents in this poll: never read before
    elif preloaded is not None and url in preloaded.urls:
        return None  # looked up in preload_pages: no document then, none saved since
    else:
        document_id = session.exec(
            select(DocumentRow.id).where(DocumentRow.url == url)).first()
    if document_id is None:
        return None
    scope = doc_scope(document_id)
    if preloaded is not None and scope in preloaded.scopes:
        return {row.key: _known(row) for row in preloaded.scopes[scope]}
    rows = session.exec(select(FactRow).where(FactRow.scope == scope))
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
    preloaded = _preloaded(session)
    none_yet = False  # known to have no rows: a new document, or none when preloaded
    if preloaded is not None:
        none_yet = document_id in preloaded.created or preloaded.scopes.get(scope) == []
        preloaded.scopes.pop(scope, None)  # page_facts reads the new rows from now on
        preloaded.created.discard(document_id)
    if not none_yet:  # an ORM delete costs a flush and a walk of the session's objects
        session.execute(delete(FactRow).where(col(FactRow.scope) == scope))
    for fact in facts:
        session.add(FactRow(
            key=fact.key, scope=scope, kind=str(fact.kind), name=fact.name,
            amount_hkd=fact.amount_hkd, status=str(fact.status) if fact.status else None,
            attributes=dict(fact.attributes), evidence=fact.evidence[:4000],
            language=fact.language, document_id=document_id,
            origin=FactOrigin.OBSERVED.value, first_seen=now, last_seen=now,
        ))


def _set_current(session: Session, change: Change, change_id: int, document_id: int | None,
                 now: datetime) -> None:
    row = session.exec(
        select(FactRow).where(FactRow.key == change.fact_key, FactRow.scope == CURRENT)
    ).first()
    if row is None:
        row = FactRow(key=change.fact_key, scope=CURRENT, kind=str(change.kind),
                      name=change.name, origin=FactOrigin.OBSERVED.value,
                      first_seen=now, last_seen=now)
    state: dict[str, Any] = dict(change.current)
    row.amount_hkd = state.pop("amount_hkd", None)
    row.status = state.pop("status", None)
    row.attributes = state
    row.evidence = change.evidence[:4000]
    row.language = change.language
    row.document_id = document_id
    row.last_change_id = change_id
    row.last_seen = now
    session.add(row)


def change_identity(change: Change, document_url: str) -> str:
    """A removal is specific to its page; every other change is the same news wherever
    it is read (EN and ZH twins, the feed and the page)."""
    identity = change.identity
    if change.type == ChangeType.REMOVED:
        identity += f"@{document_url}"
    return identity[:500]


def save_changes(session: Session, changes: Iterable[Change], *, document_id: int,
                 document_url: str, source_id: int, now: datetime) -> list[StoredChange]:
    """Store each change once; a change already known gains this document as a source."""
    stored: list[StoredChange] = []
    for change in changes:
        identity = change_identity(change, document_url)
        row = session.exec(select(ChangeRow).where(ChangeRow.identity == identity)).first()
        is_new = row is None
        if row is None:
            row = ChangeRow(
                identity=identity, type=str(change.type), fact_key=change.fact_key,
                kind=str(change.kind), name=change.name, before=change.before,
                after=change.after, current=change.current, evidence=change.evidence[:4000],
                language=change.language, document_id=document_id, source_id=source_id,
                detected_at=now,
            )
            session.add(row)
            session.flush()
        assert row.id is not None
        link_document(session, row.id, document_id, now)
        if is_new and change.type != ChangeType.REMOVED:
            _set_current(session, change, row.id, document_id, now)
        stored.append(StoredChange(row.id, change, is_new))
    return stored


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
