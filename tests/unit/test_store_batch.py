"""store.facts batching: ``record_fetches`` and ``preload_pages`` leave the database as the
one-at-a-time functions do, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from watcher import store
from watcher.models import Document, Fact, FactKind, FetchResult
from watcher.store import facts as fact_store
from watcher.store import sources as source_store
from watcher.store.tables import DocumentRow, FetchRow, SnapshotRow
from watcher.store.timeutil import utcnow

A, B, C = "http://x/a", "http://x/b", "http://x/c"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = store.make_engine(database_url)
    store.migrate(engine)
    with store.transaction(engine) as session:
        source_store.register_sources(session, [("s", "rss", "http://x/", ())])
    yield engine
    engine.dispose()


def _source_id(engine: Engine) -> int:
    with store.transaction(engine) as session:
        found = source_store.source_id(session, "s")
    assert found is not None
    return found


def test_record_fetches_logs_every_response_and_keeps_validators(engine: Engine) -> None:
    source_id = _source_id(engine)
    now = utcnow()
    first = [(FetchResult(A, 200, b"a", etag='"a1"', last_modified="Mon"), "ha"),
             (FetchResult(B, 200, b"b", etag='"b1"'), "hb"),
             (FetchResult(C, None, error="connection refused"), None)]
    with store.transaction(engine) as session:
        fact_store.record_fetches(session, source_id, first, now)
    # Second poll: A answers 304 without validators (keeps its old ones), B changes.
    second = [(FetchResult(A, 304, not_modified=True), None),
              (FetchResult(B, 200, b"bb", etag='"b2"'), "hb2")]
    with store.transaction(engine) as session:
        fact_store.record_fetches(session, source_id, second, now)
        fact_store.record_fetches(session, source_id, [], now)  # nothing: no error
        states = fact_store.page_states(session, [A, B, C])
        log = session.exec(select(FetchRow)).all()
    assert states[A] == fact_store.PageState('"a1"', "Mon", "ha")
    assert states[B] == fact_store.PageState('"b2"', None, "hb2")
    assert C not in states  # a failed fetch leaves no validators
    assert len(log) == 5
    assert [r.error for r in log if r.url == C] == ["connection refused"]
    assert sum(r.not_modified for r in log) == 1


def test_preloaded_pages_read_and_write_like_single_queries(engine: Engine) -> None:
    source_id = _source_id(engine)
    now = utcnow()
    fund = Fact(kind=FactKind.FUNDING, key="f", name="F Fund", evidence="F Fund, $1m",
                amount_hkd=1_000_000)
    with store.transaction(engine) as session:
        doc_id = fact_store.save_document(session, source_id, Document(A, "s", "t", "x"),
                                          "ha", now)
        fact_store.replace_page_facts(session, doc_id, [fund], now)
        fact_store.save_snapshot(session, "ha", b"page a", now)
    with store.transaction(engine) as session:
        fact_store.preload_pages(session, [A, B], ["ha", "hb"])
        assert set(fact_store.page_facts(session, A) or {}) == {"f"}
        assert fact_store.page_facts(session, B) is None  # preloaded: known to be new
        again = fact_store.save_document(session, source_id, Document(A, "s", "t2", "y"),
                                         "ha", now)
        new_id = fact_store.save_document(session, source_id, Document(B, "s", "u", "z"),
                                          "hb", now)
        assert again == doc_id and new_id != doc_id
        fact_store.replace_page_facts(session, new_id, [fund], now)
        assert set(fact_store.page_facts(session, B) or {}) == {"f"}  # saved since
        fact_store.replace_page_facts(session, doc_id, [], now)
        assert fact_store.page_facts(session, A) == {}
        fact_store.save_snapshot(session, "ha", b"page a", now)  # known: not added twice
        fact_store.save_snapshot(session, "hb", b"page b", now)
        fact_store.save_snapshot(session, "hb", b"page b", now)
    with store.transaction(engine) as session:
        assert sorted(session.exec(select(SnapshotRow.hash)).all()) == ["ha", "hb"]
        assert fact_store.page_facts(session, A) == {}
        assert set(fact_store.page_facts(session, B) or {}) == {"f"}


def test_save_documents_inserts_new_pages_once_and_they_still_read_as_new(
        engine: Engine) -> None:
    source_id = _source_id(engine)
    now = utcnow()
    fund = Fact(kind=FactKind.FUNDING, key="f", name="F Fund", evidence="F Fund, $1m")
    with store.transaction(engine) as session:
        old_id = fact_store.save_document(session, source_id, Document(A, "s", "t", "x"),
                                          "ha", now)
    with store.transaction(engine) as session:
        fact_store.preload_pages(session, [A, B], [])
        fact_store.save_documents(session, source_id, [(Document(A, "s", "t", "x2"), "ha2"),
                                                       (Document(B, "s", "u", "y"), "hb"),
                                                       (Document(B, "s", "u", "y"), "hb")], now)
        assert fact_store.page_facts(session, A) == {}  # read before, had no facts
        assert fact_store.page_facts(session, B) is None  # new in this poll
        b_id = fact_store.save_document(session, source_id, Document(B, "s", "u", "y"),
                                        "hb", now)
        assert fact_store.save_document(session, source_id, Document(A, "s", "t", "x2"),
                                        "ha2", now) == old_id
        fact_store.replace_page_facts(session, b_id, [fund], now)
        assert set(fact_store.page_facts(session, B) or {}) == {"f"}
    with store.transaction(engine) as session:
        rows = session.exec(select(DocumentRow)).all()
    assert sorted((r.url, r.text) for r in rows) == [(A, "x2"), (B, "y")]
