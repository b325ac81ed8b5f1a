"""store batching: ``record_fetches`` keeps page states as ``record_fetch`` does, and a
poll stored through the ChunkWriter leaves exactly the rows that the one-row reference
(DirectWriter) leaves, on SQLite and PostgreSQL alike.

The reference and the batch run the same randomised polls on an emptied database each;
the polls are drawn from small pools of URLs, bodies and facts, so that chunks hold the
awkward cases: a URL twice in one chunk, two pages with one body, a page that goes back
to an older body (a reverse delta made whole again), twin pages reporting one change,
facts that disappear, baseline keys, 304s and errors among the responses."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from watcher import pipeline, store
from watcher.fetch.poll import Fetched, Page, PollReport
from watcher.models import Document, Fact, FactKind, FactOrigin, FetchResult, KnownFact, Status
from watcher.pipeline import store_poll
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import facts as fact_store
from watcher.store import sources as source_store
from watcher.store.baseline import seed_baseline
from watcher.store.chunk import ChunkWriter, DirectWriter
from watcher.store.tables import FetchRow
from watcher.store.timeutil import utcnow

A, B, C, D = "http://x/a", "http://x/b", "http://x/c", "http://x/d"
REPO = Path(__file__).resolve().parents[2]


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


def test_record_fetches_leaves_the_states_record_fetch_leaves(database_url: str) -> None:
    engine = store.make_engine(database_url)
    store.migrate(engine)
    with store.transaction(engine) as session:
        source_store.register_sources(session, [("s", "rss", "http://x/", ())])
    source_id = _source_id(engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    polls = [
        [(FetchResult(A, 200, b"a", etag='"a1"'), "ha"), (FetchResult(B, 200, b"b"), "hb"),
         (FetchResult(A, 200, b"a2", last_modified="Tue"), "ha2")],  # A twice: last wins
        [(FetchResult(A, 304, not_modified=True), None), (FetchResult(C, 200, b"c"), "hc"),
         (FetchResult(B, 304, not_modified=True, etag='"b9"'), None),
         (FetchResult(D, 304, not_modified=True, etag='"d1"'), None)],  # D: no state yet
        [(FetchResult(C, None, error="refused"), None), (FetchResult(B, 200, b"b"), "hb")],
    ]
    try:
        for batched in (False, True):
            for index, poll in enumerate(polls):
                with store.transaction(engine) as session:
                    when = now + timedelta(minutes=index)
                    if batched:
                        fact_store.record_fetches(session, source_id, poll, when)
                    else:
                        for result, content_hash in poll:
                            fact_store.record_fetch(session, source_id, result, content_hash,
                                                    when)
            rows = _dump(engine, ["page_state"])["page_state"]
            # record_fetch does not count unchanged answers; record_fetches does.
            rows = sorted(repr({k: v for k, v in r.items() if k != "not_modified_count"})
                          for r in rows)
            if not batched:
                expected = rows
                _wipe(engine)
                with store.transaction(engine) as session:
                    source_store.register_sources(session, [("s", "rss", "http://x/", ())])
        assert rows == expected
    finally:
        engine.dispose()


# --- the ChunkWriter against the reference ------------------------------------------

URLS = [f"http://x/p{i}.htm" for i in range(6)]
FUNDS = ["alpha-fund", "beta-fund", "delta-fund"]
BASELINE_KEY = "delta-fund"  # known from the baseline before any poll
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _body(family: int, version: int) -> bytes:
    """Pages of one family share most lines, so a replaced one becomes a small delta."""
    rng = random.Random(family)
    rows = [f"<li>Section {rng.randrange(10**9)} of family {family}</li>\n" for _ in range(80)]
    rows[40] = f"<p>Version {version} of this page.</p>\n"
    return "".join(rows).encode()


def _fund(key: str, amount: int | None, status: Status | None = None,
          attributes: tuple[tuple[str, str], ...] = ()) -> Fact:
    return Fact(kind=FactKind.FUNDING, key=key, name=key.replace("-", " ").title(),
                evidence=f"{key} said {amount} {status}", amount_hkd=amount, status=status,
                attributes=attributes)


def _random_facts(rng: random.Random) -> list[Fact]:
    return [_fund(key, rng.choice([None, 100_000_000, 200_000_000]),
                  rng.choice([None, Status.EXISTING, Status.PLANNED, Status.LAUNCHED]),
                  rng.choice([(), (("matching_ratio", "1:1"),)]))
            for key in rng.sample(FUNDS, rng.randrange(0, 3))]


Chunk = tuple[Fetched, list[list[Fact]]]


def _chunk(*entries: tuple[str, int | str, int, list[Fact]]) -> Chunk:
    """(url, family, version, facts) per response; family "304" or "error" for those."""
    fetched, extracted = Fetched(list_results=0), []
    for url, family, version, facts in entries:
        if family == "304":
            fetched.results.append((FetchResult(url, 304, not_modified=True), None))
        elif family == "error":
            fetched.results.append((FetchResult(url, None, error="refused"), None))
        else:
            assert isinstance(family, int)
            body = _body(family, version)
            content_hash = hashlib.sha256(body).hexdigest()
            document = Document(url, "s", f"Title {version}", body.decode()[:200])
            fetched.results.append((FetchResult(url, 200, body, etag='"e"'), content_hash))
            fetched.pages.append(Page(document, body, content_hash))
            extracted.append(facts)
    return fetched, extracted


def _polls(seed: int, count: int) -> list[list[Chunk]]:
    """``count`` polls of one or two chunks of up to 10 responses each."""
    rng = random.Random(seed)
    return [[_chunk(*[(url, rng.choices([0, 1, "304", "error"], [8, 8, 1, 1])[0],
                       rng.randrange(3), _random_facts(rng))
                      for url in rng.choices(URLS, k=rng.randrange(1, 11))])  # repeats too
             for _ in range(rng.choice([1, 1, 2]))]
            for _ in range(count)]


def _runtime(tmp_path: Path, database_url: str) -> Runtime:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "s.yaml").write_text(
        "name: s\nkind: rss\nurl: http://x/feed.xml\ninterval: 15m\n"
        "follow:\n  title: \"h1\"\n  body: \"p\"\n")
    settings = Settings(database_url=database_url, sources_dir=sources,
                        rules_dir=REPO / "rules", notify="json://127.0.0.1:9/",
                        obey_robots=False)
    return Runtime.load(settings)


def _run(rt: Runtime, polls: list[list[Chunk]]) -> list[Any]:
    rt.init_database()
    with store.transaction(rt.engine) as session:
        seed_baseline(session, [(KnownFact(key=BASELINE_KEY, kind=FactKind.FUNDING,
                                           name="Delta Fund", origin=FactOrigin.BASELINE,
                                           amount_hkd=100_000_000), "seed")], T0)
    reports = []
    for index, chunks in enumerate(polls):
        report = PollReport(source="s")
        now = T0 + timedelta(hours=index)
        for position, (fetched, extracted) in enumerate(chunks):
            store_poll(rt, rt.sources["s"], fetched, extracted, report, now, True, now,
                       final=position == len(chunks) - 1)
        reports.append((report.documents, report.facts, report.changes, report.alerts))
    return reports


TABLES = ["document", "snapshot", "fact", "change", "change_document", "outbox",
          "page_state", "fetch", "source"]


def _dump(engine: Engine, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    found = {}
    with engine.connect() as connection:
        for table in tables:
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            found[table] = [
                {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()
                 # SQLite gives a deleted fact row's id to the next insert; the reference
                 # deletes and inserts page by page, the batch all deletes first. Nothing
                 # refers to fact ids.
                 if not (table == "fact" and k == "id")
                 and not (table == "fact" and row["scope"] == "baseline" and k.endswith("_seen"))
                 and k not in ("lease_owner", "lease_until")}
                for row in rows]
            found[table].sort(key=repr)
    return found


def _wipe(engine: Engine) -> None:
    """Every table dropped (PostgreSQL's id sequences with them) for a fresh migrate."""
    SQLModel.metadata.drop_all(engine)
    leftover = MetaData()
    leftover.reflect(engine)
    leftover.drop_all(engine)
    store.migrate(engine)


M100, M200 = 100_000_000, 200_000_000
U0, U1, U2, U3, U4, U5 = URLS
# The cases by name, each in one chunk.
SCRIPTED = [
    # U5 is new, and twice in its first chunk: the second version is the one kept.
    [_chunk((U0, 0, 0, []), (U1, 0, 0, []), (U2, 1, 0, [_fund("alpha-fund", M100)]),
            (U5, 0, 1, [_fund("beta-fund", M100)]), (U5, 0, 2, [_fund("beta-fund", M200)]))],
    # U1 still shows U0's old body when U0 moves on: it stays whole. alpha goes to 200,
    # back to 100 and to 200 again: the third is the first change again (linked, not new).
    [_chunk((U1, 0, 0, []), (U0, 0, 1, []), (U2, 1, 1, [_fund("alpha-fund", M200)]),
            (U3, 1, 2, [_fund("alpha-fund", M100)]), (U4, 1, 0, [_fund("alpha-fund", M200)]),
            (U0, "304", 0, []))],
    # U0 goes back to its first body (a delta now: whole again); U2 twice in one chunk,
    # dropping alpha the second time (removed); delta-fund differs from its baseline.
    [_chunk((U0, 0, 0, []), (U2, 1, 2, [_fund("alpha-fund", M200), _fund("beta-fund", M100)]),
            (U2, 1, 0, [_fund("beta-fund", M100), _fund("delta-fund", M200)]),
            (U3, "error", 0, []), (U4, 1, 1, [_fund("beta-fund", M100)]))],
    [_chunk((U2, 1, 1, []), (U1, 0, 2, []))],
]


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4, 5])
def test_chunk_writer_leaves_the_rows_the_reference_leaves(
        seed: int | None, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    polls = SCRIPTED if seed is None else _polls(seed, count=8)
    rt = _runtime(tmp_path, database_url)
    try:
        monkeypatch.setattr(pipeline, "_open_writer", DirectWriter.open)
        expected_reports = _run(rt, polls)
        expected = _dump(rt.engine, TABLES)
        _wipe(rt.engine)
        monkeypatch.setattr(pipeline, "_open_writer", ChunkWriter.open)
        assert _run(rt, polls) == expected_reports
        found = _dump(rt.engine, TABLES)
    finally:
        rt.engine.dispose()
    assert any(changes for _, _, changes, _ in expected_reports), "no change to compare"
    for table in TABLES:
        assert found[table] == expected[table], table
