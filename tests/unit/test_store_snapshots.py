"""What a warm poll writes, kept small: snapshots replaced by a new version become reverse
deltas (watcher.store.delta) and still read back whole; a followed page's 304 is counted on
its page state instead of logged. SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from watcher import store
from watcher.models import Document, FetchResult
from watcher.store import delta
from watcher.store import facts as fact_store
from watcher.store import sources as source_store
from watcher.store.tables import FetchRow, PageStateRow, SnapshotRow
from watcher.store.timeutil import utcnow

URL, OTHER = "http://x/P1.htm", "http://x/P2.htm"


def _page(version: int, lines: int = 300) -> bytes:
    rng = random.Random(1)  # the same chrome in every version, not too compressible
    rows = [f"<li>Section {rng.randrange(10**9)} information</li>\n" for _ in range(lines)]
    rows[lines // 2] = f"<p>The fund is now HK${100 + version} million.</p>\n"
    rows += [f"<p>Paragraph added in version {v}.</p>\n" for v in range(version)]
    return "".join(rows).encode()


def _hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = store.make_engine(database_url)
    store.migrate(engine)
    with store.transaction(engine) as session:
        source_store.register_sources(session, [("s", "rss", "http://x/", ())])
    yield engine
    engine.dispose()


def _save(engine: Engine, url: str, body: bytes) -> None:
    """What _store_page does for one changed page."""
    now = utcnow()
    with store.transaction(engine) as session:
        source_id = source_store.source_id(session, "s")
        assert source_id is not None
        fact_store.save_snapshot(session, _hash(body), body, now,
                                 replaces=fact_store.document_hash(session, url), url=url)
        fact_store.save_document(session, source_id, Document(url, "s", "t", "text"),
                                 _hash(body), now)


def _stored(engine: Engine, body: bytes) -> bytes:
    with store.transaction(engine) as session:
        row = session.get(SnapshotRow, _hash(body))
        assert row is not None
        return row.body


def test_delta_rebuilds_the_old_body_from_the_new() -> None:
    rng = random.Random(7)
    for _ in range(50):
        old = [f"line {rng.randrange(40)}\n".encode() for _ in range(rng.randrange(0, 60))]
        new = list(old)
        for _ in range(rng.randrange(0, 6)):  # inserts, deletes and edits anywhere
            at = rng.randrange(len(new) + 1)
            if rng.random() < 0.5 or not new:
                new.insert(at, b"inserted\n")
            else:
                del new[min(at, len(new) - 1)]
        old_body, new_body = b"".join(old) + b"no newline", b"".join(new)
        encoded = delta.encode(old_body, new_body)
        assert encoded is not None
        assert delta.decode(encoded, new_body) == old_body


def test_a_malformed_delta_is_an_error_not_garbage() -> None:
    with pytest.raises(delta.DeltaError):
        delta.decode(b"not zlib", b"x")
    encoded = delta.encode(b"a\nb\n", b"a\nb\n")
    assert encoded is not None
    with pytest.raises(delta.DeltaError):
        delta.decode(encoded, b"")  # copies lines the body does not have


def test_replaced_snapshots_become_small_deltas_and_read_back_whole(engine: Engine) -> None:
    versions = [_page(v) for v in range(4)]
    for body in versions:
        _save(engine, URL, body)
    newest = _stored(engine, versions[-1])
    for body in versions[:-1]:  # each older version: a delta, a fraction of the page
        assert len(_stored(engine, body)) * 5 < len(newest)
    with store.transaction(engine) as session:
        for body in versions:
            assert fact_store.snapshot_body(session, _hash(body)) == body


def test_a_body_another_page_shows_stays_whole(engine: Engine) -> None:
    first, second = _page(0), _page(1)
    _save(engine, URL, first)
    _save(engine, OTHER, first)  # same content at another URL
    whole = _stored(engine, first)
    _save(engine, URL, second)
    assert _stored(engine, first) == whole
    with store.transaction(engine) as session:
        assert fact_store.snapshot_body(session, _hash(first)) == first


def test_a_page_that_reverts_gets_its_body_whole_again(engine: Engine) -> None:
    first, second = _page(0), _page(1)
    _save(engine, URL, first)
    _save(engine, URL, second)  # first is now a delta against second
    _save(engine, URL, first)  # back: first whole, second a delta against it
    assert len(_stored(engine, second)) * 5 < len(_stored(engine, first))
    with store.transaction(engine) as session:
        assert fact_store.snapshot_body(session, _hash(first)) == first
        assert fact_store.snapshot_body(session, _hash(second)) == second


def test_followed_pages_304s_are_counted_not_logged(engine: Engine) -> None:
    now = utcnow()
    with store.transaction(engine) as session:
        source_id = source_store.source_id(session, "s")
        assert source_id is not None
        fact_store.record_fetches(session, source_id, [
            (FetchResult(URL, 200, b"a", etag='"a1"', last_modified="Mon"), "ha"),
            (FetchResult(OTHER, 200, b"b", etag='"b1"'), "hb")], now)
    with store.transaction(engine) as session:
        fact_store.record_fetches(session, source_id, [
            (FetchResult(URL, 304, not_modified=True), None),  # keeps its validators
            (FetchResult(OTHER, 304, not_modified=True, etag='"b2"'), None),
            (FetchResult("http://x/P3.htm", None, error="connection refused"), None),
        ], now, log_not_modified=False)
    with store.transaction(engine) as session:
        log = session.exec(select(FetchRow)).all()
        states = {s.url: s for s in session.exec(select(PageStateRow)).all()}
    assert len(log) == 3  # two first fetches and the error; no row for the 304s
    assert states[URL].not_modified_count == 1 and states[OTHER].not_modified_count == 1
    assert (states[URL].etag, states[URL].last_modified) == ('"a1"', "Mon")
    assert (states[OTHER].etag, states[OTHER].last_modified) == ('"b2"', None)
    assert states[URL].content_hash == "ha" and states[URL].last_status == 304


def test_a_304_for_a_page_never_stored_still_gets_a_state(engine: Engine) -> None:
    with store.transaction(engine) as session:
        source_id = source_store.source_id(session, "s")
        assert source_id is not None
        fact_store.record_fetches(session, source_id, [
            (FetchResult(URL, 304, not_modified=True, etag='"e"'), None)], utcnow(),
            log_not_modified=False)
        states = fact_store.page_states(session, [URL])
    assert states[URL] == fact_store.PageState('"e"', None, None)
