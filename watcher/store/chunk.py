"""A chunk of a poll's pages written with a few queries and one statement per table.

The pipeline stores pages one after another: each page is diffed against what the
store knows once the pages before it are stored (two pages may report the same fund).
A ``PageWriter`` is what it stores through. ``DirectWriter`` is the reference: each step
is one of the one-row functions of ``watcher.store.facts``, a query or a flush apiece.
``ChunkWriter`` answers every step the same way and leaves the same rows, but

- reads up front, in a few queries, what the chunk's pages can touch: their documents
  (new ones are inserted at once, for their ids), those documents' facts, the
  ``current`` and ``baseline`` rows of every key they mention, the snapshots they keep
  or replace, the documents elsewhere that share a replaced body, the change links;
- keeps the chunk's writes in memory, where the next page reads them;
- writes them in ``finish`` with Core executemany statements (no ORM unit of work).

A change's identity is looked up once per page that reports changes: whether a change
is new decides the ``current`` row that the next page is diffed against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlmodel import Session

from watcher.diff.changes import Claim, claims
from watcher.models import Change, ChangeType, Document, Fact, KnownFact
from watcher.store import facts as fact_store
from watcher.store.facts import BASELINE, CURRENT, doc_scope, known_fact, rows_in, where_in
from watcher.store.tables import ChangeDocumentRow, ChangeRow, DocumentRow, FactRow, SnapshotRow


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


_DOC, _FACT, _CHANGE = _table(DocumentRow), _table(FactRow), _table(ChangeRow)
_SNAPSHOT, _LINK = _table(SnapshotRow), _table(ChangeDocumentRow)
_FACT_COLUMNS = ("key", "kind", "name", "origin", "amount_hkd", "status", "attributes",
                 "amounts", "evidence_at")
_CURRENT_SET = ("amount_hkd", "status", "attributes", "evidence", "language", "document_id",
                "last_change_id", "last_seen", "amounts", "evidence_at")
_DOC_SET = ("title", "text", "language", "published_at", "content_hash", "last_seen")


def _update_by(table: Table, key: str, names: Iterable[str]) -> Any:
    """UPDATE ``table`` SET names... WHERE key = ..., for executemany with ``b_`` params."""
    return update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
        {name: bindparam(f"b_{name}") for name in names})


_DOCS = where_in(select(_DOC.c.id, _DOC.c.url, _DOC.c.content_hash), _DOC.c.url)
_PAGE_FACTS = where_in(select(_FACT.c.scope, *(_FACT.c[name] for name in _FACT_COLUMNS)),
                       _FACT.c.scope)
# With every column a current row's update sets, so that a row only touched (evidence
# time and amounts) writes back the rest as it was.
_KEY_FACTS = where_in(select(_FACT.c.id, _FACT.c.scope,
                             *(_FACT.c[name] for name in dict.fromkeys(
                                 (*_FACT_COLUMNS, *_CURRENT_SET)))),
                      _FACT.c.key
                      ).where(_FACT.c.scope.in_([CURRENT, BASELINE]))
_SNAPSHOTS = where_in(select(_SNAPSHOT.c.hash, _SNAPSHOT.c.body), _SNAPSHOT.c.hash)
# content_hash has no index: each of these reads the whole table, so a chunk asks once.
_HOLDERS = where_in(select(_DOC.c.url, _DOC.c.content_hash), _DOC.c.content_hash)
_CHANGES = where_in(select(_CHANGE.c.id, _CHANGE.c.identity), _CHANGE.c.identity)
_DISMISSED = where_in(select(_CHANGE.c.fact_key, _CHANGE.c.after), _CHANGE.c.fact_key
                      ).where(_CHANGE.c.dismissed_at.is_not(None))
_LINKS = where_in(select(_LINK.c.change_id, _LINK.c.document_id), _LINK.c.document_id)
_UPDATE_DOC = _update_by(_DOC, "id", _DOC_SET)
_UPDATE_CURRENT = _update_by(_FACT, "id", _CURRENT_SET)
_UPDATE_SNAPSHOT = _update_by(_SNAPSHOT, "hash", ["body"])


@dataclass(eq=False, slots=True)
class ChangeRef:
    """A change row; ``id`` is None until a ChunkWriter has written the chunk."""

    id: int | None = None


@dataclass(frozen=True, slots=True)
class WrittenChange:
    ref: ChangeRef
    change: Change
    is_new: bool  # False: another document had reported it; this one was linked to it

    @property
    def id(self) -> int:
        assert self.ref.id is not None, "the chunk is not written yet"
        return self.ref.id


class PageWriter(Protocol):
    def page_facts(self, url: str) -> dict[str, KnownFact] | None: ...
    def current_facts(self, keys: Iterable[str]) -> dict[str, KnownFact]: ...
    def document_hash(self, url: str) -> str | None: ...
    def save_snapshot(self, content_hash: str, content: bytes, *, replaces: str | None,
                      url: str) -> None: ...
    def save_document(self, document: Document, content_hash: str | None) -> int: ...
    def replace_page_facts(self, document_id: int, facts: Sequence[Fact]) -> None: ...
    def dismissed_claims(self, keys: Iterable[str]) -> dict[str, set[Claim]]: ...
    def save_changes(self, changes: Sequence[Change], *, document_id: int,
                     document_url: str, states: Mapping[str, KnownFact] | None = None
                     ) -> list[WrittenChange]: ...
    def link(self, written: WrittenChange, document_id: int) -> None: ...
    def corroborate(self, facts: Iterable[Fact], current: Mapping[str, KnownFact],
                    document_id: int) -> None: ...
    def touch(self, states: Iterable[KnownFact]) -> None:
        """Facts a newer page repeated: their evidence time and amounts move on."""
    def finish(self) -> None:
        """Write what is held back; every WrittenChange has its id from then on."""


@dataclass
class DirectWriter:
    """The reference writer: one-row functions, each in the session's unit of work."""

    session: Session
    source_id: int
    now: datetime

    @classmethod
    def open(cls, session: Session, source_id: int, pages: Sequence[tuple[Document, str]],
             keys: Iterable[str], now: datetime) -> DirectWriter:
        return cls(session, source_id, now)

    def page_facts(self, url: str) -> dict[str, KnownFact] | None:
        return fact_store.page_facts(self.session, url)

    def current_facts(self, keys: Iterable[str]) -> dict[str, KnownFact]:
        return fact_store.current_facts(self.session, keys)

    def document_hash(self, url: str) -> str | None:
        return fact_store.document_hash(self.session, url)

    def save_snapshot(self, content_hash: str, content: bytes, *, replaces: str | None,
                      url: str) -> None:
        fact_store.save_snapshot(self.session, content_hash, content, self.now,
                                 replaces=replaces, url=url)

    def save_document(self, document: Document, content_hash: str | None) -> int:
        return fact_store.save_document(self.session, self.source_id, document, content_hash,
                                        self.now)

    def replace_page_facts(self, document_id: int, facts: Sequence[Fact]) -> None:
        fact_store.replace_page_facts(self.session, document_id, facts, self.now)

    def dismissed_claims(self, keys: Iterable[str]) -> dict[str, set[Claim]]:
        return dismissed_claims(rows_in(self.session.connection(), _DISMISSED, keys))

    def save_changes(self, changes: Sequence[Change], *, document_id: int,
                     document_url: str, states: Mapping[str, KnownFact] | None = None
                     ) -> list[WrittenChange]:
        stored = fact_store.save_changes(self.session, changes, document_id=document_id,
                                         document_url=document_url,
                                         source_id=self.source_id, now=self.now,
                                         states=states)
        return [WrittenChange(ChangeRef(s.id), s.change, s.is_new) for s in stored]

    def link(self, written: WrittenChange, document_id: int) -> None:
        fact_store.link_document(self.session, written.id, document_id, self.now)

    def corroborate(self, facts: Iterable[Fact], current: Mapping[str, KnownFact],
                    document_id: int) -> None:
        fact_store.corroborate(self.session, facts, current, document_id, self.now)

    def touch(self, states: Iterable[KnownFact]) -> None:
        fact_store.touch_current(self.session, states, self.now)

    def finish(self) -> None:
        pass


@dataclass(slots=True)
class _Doc:
    id: int
    content_hash: str | None
    facts: dict[str, KnownFact] | None  # None: new in this chunk, no facts saved yet
    rows_stored: bool = False  # has fact rows in the database (to delete when replaced)
    rows_pending: bool = False  # has fact rows waiting in the chunk's inserts
    inserted: dict[str, Any] | None = None  # the values a new document went in with
    update: dict[str, Any] | None = None  # the values to set in finish


@dataclass(slots=True)
class _Current:
    values: dict[str, Any]  # the row's columns; last_change_id may be a pending ChangeRef
    known: KnownFact
    id: int | None  # None: a new row, inserted in finish
    dirty: bool = False


def _known(values: Mapping[Any, Any]) -> KnownFact:
    return known_fact(*(values[name] for name in _FACT_COLUMNS))


@dataclass
class ChunkWriter:
    """The batched writer (see the module docstring). Open it with ``open``."""

    connection: Connection
    source_id: int
    now: datetime
    docs: dict[str, _Doc] = field(default_factory=dict)
    by_id: dict[int, _Doc] = field(default_factory=dict)
    current: dict[str, _Current] = field(default_factory=dict)
    baseline: dict[str, KnownFact] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)  # looked up in current and baseline
    bodies: dict[str, bytes | None] = field(default_factory=dict)  # snapshot hash -> body
    shared_elsewhere: dict[str, bool] = field(default_factory=dict)  # hash -> held outside
    identities: dict[str, ChangeRef | None] = field(default_factory=dict)
    links: set[tuple[int | ChangeRef, int]] = field(default_factory=set)
    # What finish writes, in the order the reference would have written it.
    new_snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty_snapshots: set[str] = field(default_factory=set)
    new_changes: list[tuple[ChangeRef, dict[str, Any]]] = field(default_factory=list)
    new_facts: list[dict[str, Any]] = field(default_factory=list)
    deleted_scopes: list[str] = field(default_factory=list)
    new_links: list[tuple[int | ChangeRef, int]] = field(default_factory=list)

    @classmethod
    def open(cls, session: Session, source_id: int, pages: Sequence[tuple[Document, str]],
             keys: Iterable[str], now: datetime) -> ChunkWriter:
        """A writer for ``pages`` (document, content hash) whose facts mention ``keys``."""
        writer = cls(session.connection(), source_id, now)
        writer._load_documents(pages)
        writer._load_keys(set(keys).union(*(d.facts or {} for d in writer.docs.values())))
        replaced = writer._replaced(pages)
        writer._load_snapshots([h for _, h in pages] + replaced)
        writer._load_shared(replaced)
        existing = [d.id for d in writer.docs.values() if d.inserted is None]
        writer.links.update((row.change_id, row.document_id)
                            for row in rows_in(writer.connection, _LINKS, existing))
        return writer

    # --- reading up front ------------------------------------------------------------

    def _load_documents(self, pages: Sequence[tuple[Document, str | None]]) -> None:
        for row in rows_in(self.connection, _DOCS, [d.url for d, _ in pages]):
            self.docs[row.url] = _Doc(row.id, row.content_hash, {})
        scopes = {doc_scope(d.id): d for d in self.docs.values()}
        for row in rows_in(self.connection, _PAGE_FACTS, scopes):
            doc = scopes[row.scope]
            assert doc.facts is not None
            doc.facts[row.key] = _known(row._mapping)
            doc.rows_stored = True
        new: dict[str, dict[str, Any]] = {}
        for document, content_hash in pages:  # a new URL goes in as first seen
            if document.url not in self.docs and document.url not in new:
                new[document.url] = fact_store.document_values(document, content_hash,
                                                               self.now)
        if new:
            rows = self.connection.execute(
                insert(_DOC).returning(_DOC.c.id, _DOC.c.url),
                [{"url": url, "source_id": self.source_id, "first_seen": self.now, **values}
                 for url, values in new.items()])
            for row in rows:
                values = new[row.url]
                self.docs[row.url] = _Doc(row.id, values["content_hash"], None,
                                          inserted=values)
        self.by_id = {doc.id: doc for doc in self.docs.values()}

    def _load_keys(self, keys: set[str]) -> None:
        wanted = keys - self.keys
        if not wanted:
            return
        self.keys |= wanted
        for row in rows_in(self.connection, _KEY_FACTS, wanted):
            values = dict(row._mapping)
            if row.scope == CURRENT:
                self.current[row.key] = _Current(values, _known(values), row.id)
            else:
                self.baseline[row.key] = _known(values)

    def _replaced(self, pages: Sequence[tuple[Document, str]]) -> list[str]:
        """The bodies the pages replace, in turn (a URL twice in a chunk replaces its own
        first body the second time)."""
        hashes = {url: doc.content_hash for url, doc in self.docs.items()}
        replaced: list[str] = []
        for document, content_hash in pages:
            old = hashes.get(document.url)
            if old is not None and old != content_hash:
                replaced.append(old)
            hashes[document.url] = content_hash
        return replaced

    def _load_snapshots(self, hashes: Iterable[str]) -> None:
        wanted = [h for h in dict.fromkeys(hashes) if h not in self.bodies]
        self.bodies.update(dict.fromkeys(wanted))
        for row in rows_in(self.connection, _SNAPSHOTS, wanted):
            self.bodies[row.hash] = bytes(row.body)

    def _load_shared(self, hashes: Iterable[str]) -> None:
        """Whether a document outside the chunk shows each body (see _HOLDERS)."""
        wanted = [h for h in dict.fromkeys(hashes) if h not in self.shared_elsewhere]
        self.shared_elsewhere.update(dict.fromkeys(wanted, False))
        for row in rows_in(self.connection, _HOLDERS, wanted):
            if row.url not in self.docs:
                self.shared_elsewhere[row.content_hash] = True

    def _doc(self, url: str) -> _Doc:
        if url not in self.docs:
            raise KeyError(f"{url} is not one of the pages the writer was opened for")
        return self.docs[url]

    # --- the steps of a page ---------------------------------------------------------

    def page_facts(self, url: str) -> dict[str, KnownFact] | None:
        facts = self._doc(url).facts
        return None if facts is None else dict(facts)

    def current_facts(self, keys: Iterable[str]) -> dict[str, KnownFact]:
        wanted = set(keys)
        self._load_keys(wanted)
        found: dict[str, KnownFact] = {}
        for key in wanted:
            row = self.current.get(key)
            known = row.known if row is not None else self.baseline.get(key)
            if known is not None:
                found[key] = known
        return found

    def document_hash(self, url: str) -> str | None:
        return self._doc(url).content_hash

    def save_snapshot(self, content_hash: str, content: bytes, *, replaces: str | None,
                      url: str) -> None:
        self._load_snapshots([content_hash] + ([replaces] if replaces else []))
        body = self.bodies[content_hash]
        if body is None:
            self.bodies[content_hash] = body = fact_store.compress(content)
            self.new_snapshots[content_hash] = {"hash": content_hash, "body": body,
                                                "size": len(content), "first_seen": self.now}
        elif replaces is not None and replaces != content_hash and fact_store.is_delta(body):
            # The page went back to a body kept as a delta: whole again (see save_snapshot).
            self._set_body(content_hash, fact_store.compress(content))
        if (replaces is not None and replaces != content_hash
                and len(content_hash) == fact_store.HASH_LENGTH):
            self._to_delta(replaces, content_hash, content, url)

    def _to_delta(self, old_hash: str, new_hash: str, new: bytes, url: str) -> None:
        body = self.bodies[old_hash]
        if body is None or fact_store.is_delta(body) or self._shared(old_hash, url):
            return
        smaller = fact_store.delta_body(body, new_hash, new)
        if smaller is not None:
            self._set_body(old_hash, smaller)

    def _shared(self, content_hash: str, url: str) -> bool:
        """Another document shows this body: outside the chunk, or a chunk page as the
        chunk stands so far."""
        self._load_shared([content_hash])
        return self.shared_elsewhere[content_hash] or any(
            doc.content_hash == content_hash for other, doc in self.docs.items() if other != url)

    def _set_body(self, content_hash: str, body: bytes) -> None:
        self.bodies[content_hash] = body
        if content_hash in self.new_snapshots:
            self.new_snapshots[content_hash]["body"] = body
        else:
            self.dirty_snapshots.add(content_hash)

    def save_document(self, document: Document, content_hash: str | None) -> int:
        doc = self._doc(document.url)
        values = fact_store.document_values(document, content_hash, self.now)
        doc.update = None if values == doc.inserted else values
        doc.content_hash = content_hash
        return doc.id

    def replace_page_facts(self, document_id: int, facts: Sequence[Fact]) -> None:
        doc = self.by_id[document_id]
        scope = doc_scope(document_id)
        if doc.rows_stored:
            self.deleted_scopes.append(scope)
            doc.rows_stored = False
        if doc.rows_pending:  # the same URL earlier in this chunk
            self.new_facts = [row for row in self.new_facts if row["scope"] != scope]
        rows = [{**fact_store.page_fact_values(fact, document_id, self.now),
                 "last_change_id": None} for fact in facts]
        self.new_facts += rows
        doc.rows_pending = bool(rows)
        doc.facts = {row["key"]: _known(row) for row in rows}

    def dismissed_claims(self, keys: Iterable[str]) -> dict[str, set[Claim]]:
        return dismissed_claims(rows_in(self.connection, _DISMISSED, keys))

    def save_changes(self, changes: Sequence[Change], *, document_id: int,
                     document_url: str, states: Mapping[str, KnownFact] | None = None
                     ) -> list[WrittenChange]:
        identities = [fact_store.change_identity(c, document_url) for c in changes]
        self._load_identities(identities)
        written: list[WrittenChange] = []
        for change, identity in zip(changes, identities, strict=True):
            ref = self.identities[identity]
            is_new = ref is None
            if ref is None:
                ref = self.identities[identity] = ChangeRef()
                self.new_changes.append((ref, fact_store.change_values(
                    change, identity, document_id, self.source_id, self.now)))
            self._link(ref, document_id)
            if is_new and change.type != ChangeType.REMOVED:
                self._set_current(change, ref, document_id,
                                  (states or {}).get(change.fact_key))
            written.append(WrittenChange(ref, change, is_new))
        return written

    def link(self, written: WrittenChange, document_id: int) -> None:
        self._link(written.ref, document_id)

    def _load_identities(self, identities: Iterable[str]) -> None:
        wanted = [i for i in dict.fromkeys(identities) if i not in self.identities]
        self.identities.update(dict.fromkeys(wanted))
        for row in rows_in(self.connection, _CHANGES, wanted):
            self.identities[row.identity] = ChangeRef(row.id)

    def _link(self, ref: ChangeRef | int, document_id: int) -> None:
        key = ref.id if isinstance(ref, ChangeRef) and ref.id is not None else ref
        if (key, document_id) not in self.links:
            self.links.add((key, document_id))
            self.new_links.append((key, document_id))

    def _set_current(self, change: Change, ref: ChangeRef, document_id: int,
                     state: KnownFact | None) -> None:
        self._load_keys({change.fact_key})
        values = fact_store.current_values(change, ref, document_id, self.now, state)
        row = self.current.get(change.fact_key)
        if row is None:  # inserted in finish, in the order the reference would
            values = {**fact_store.new_current_values(change, self.now), **values}
            self.current[change.fact_key] = _Current(values, _known(values), None)
            self.new_facts.append(values)
            return
        row.values.update(values)
        row.known = _known(row.values)
        row.dirty = row.id is not None

    def corroborate(self, facts: Iterable[Fact], current: Mapping[str, KnownFact],
                    document_id: int) -> None:
        for fact in facts:
            row = self.current.get(fact.key) if fact.key in current else None
            if row is not None and row.values["last_change_id"] is not None:
                self._link(row.values["last_change_id"], document_id)

    def touch(self, states: Iterable[KnownFact]) -> None:
        for state in states:
            row = self.current.get(state.key)
            if row is not None:
                row.values.update(fact_store.touch_values(state, self.now))
                row.known = _known(row.values)
                row.dirty = row.dirty or row.id is not None

    # --- writing ---------------------------------------------------------------------

    def finish(self) -> None:
        """Write the chunk (once: the writer is spent afterwards)."""
        execute = self.connection.execute
        if self.new_snapshots:
            execute(insert(_SNAPSHOT), list(self.new_snapshots.values()))
        if self.dirty_snapshots:
            execute(_UPDATE_SNAPSHOT, [{"b_hash": h, "b_body": self.bodies[h]}
                                       for h in sorted(self.dirty_snapshots)])
        updates = [{"b_id": d.id, **{f"b_{k}": v for k, v in d.update.items()}}
                   for d in self.docs.values() if d.update is not None]
        if updates:
            execute(_UPDATE_DOC, updates)
        self._write_changes()
        for start in range(0, len(self.deleted_scopes), 500):
            execute(delete(_FACT).where(
                _FACT.c.scope.in_(self.deleted_scopes[start : start + 500])))
        if self.new_facts:
            execute(insert(_FACT), [_resolved(row) for row in self.new_facts])
        dirty = [r for r in self.current.values() if r.dirty]
        if dirty:
            execute(_UPDATE_CURRENT, [
                {"b_id": r.id, **{f"b_{k}": v for k, v in _resolved(r.values).items()
                                  if k in _CURRENT_SET}} for r in dirty])
        if self.new_links:
            execute(insert(_LINK), [
                {"change_id": _id(ref), "document_id": document_id, "seen_at": self.now}
                for ref, document_id in self.new_links])

    def _write_changes(self) -> None:
        if not self.new_changes:
            return
        rows = self.connection.execute(insert(_CHANGE).returning(_CHANGE.c.id, _CHANGE.c.identity),
                                       [values for _, values in self.new_changes])
        ids = {row.identity: row.id for row in rows}
        for ref, values in self.new_changes:
            ref.id = ids[values["identity"]]


def dismissed_claims(rows: Iterable[Any]) -> dict[str, set[Claim]]:
    """(fact_key, after) rows of dismissed changes -> each key's dismissed claims."""
    found: dict[str, set[Claim]] = {}
    for row in rows:
        found.setdefault(row.fact_key, set()).update(claims(row.after))
    return found


def _id(ref: int | ChangeRef) -> int:
    if isinstance(ref, ChangeRef):
        assert ref.id is not None, "a change linked before it was written"
        return ref.id
    return ref


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    change = values.get("last_change_id")
    return {**values, "last_change_id": None if change is None else _id(change)}
