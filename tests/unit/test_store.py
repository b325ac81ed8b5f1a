"""store: migrations, baseline seeding, leases, changes and the outbox, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from watcher import store
from watcher.models import Change, ChangeType, Document, Fact, FactKind, KnownFact, Status
from watcher.store import facts as fact_store
from watcher.store import outbox
from watcher.store import sources as source_store
from watcher.store.baseline import seed_baseline
from watcher.store.queries import change, change_log
from watcher.store.retention import prune
from watcher.store.timeutil import utcnow

KEY = "new-industrialisation-acceleration-scheme"


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = store.make_engine(database_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


def test_migrations_match_the_models_and_rerun_is_a_noop(engine: Engine) -> None:
    store.migrate(engine)  # second run: nothing to do, no error
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diffs == []
    assert {"source", "fetch", "document", "fact", "change", "outbox"} <= set(
        inspect(engine).get_table_names())


def test_baseline_seed_is_idempotent(engine: Engine) -> None:
    seed = [(KnownFact(key=KEY, kind=FactKind.FUNDING, name="NIAS", origin="baseline",
                       amount_hkd=10_000_000_000, status=Status.EARMARKED), "a quote")]
    with store.transaction(engine) as session:
        assert seed_baseline(session, seed, utcnow()) == 1
    with store.transaction(engine) as session:
        assert seed_baseline(session, seed, utcnow()) == 0
        current = fact_store.current_facts(session, [KEY])
    assert current[KEY].amount_hkd == 10_000_000_000  # BIGINT: does not fit 32 bits


def test_only_one_owner_gets_the_lease_until_it_is_released(engine: Engine) -> None:
    now = utcnow()
    with store.transaction(engine) as session:
        source_store.register_sources(session, [("gia", "rss", "http://x/", ("gov",))])
    lease = timedelta(minutes=5)
    with store.transaction(engine) as session:
        assert source_store.claim(session, "gia", "a", now, lease)
    with store.transaction(engine) as session:
        assert not source_store.claim(session, "gia", "b", now, lease)
    with store.transaction(engine) as session:
        source_store.finish_poll(session, "gia", now, now + timedelta(minutes=15), None)
    with store.transaction(engine) as session:  # released, but not due for 15 minutes
        assert not source_store.claim(session, "gia", "b", now, lease)
        assert source_store.claim(session, "gia", "b", now + timedelta(minutes=16), lease)
    with store.transaction(engine) as session:  # an expired lease is free to take
        assert source_store.claim(session, "gia", "a", now + timedelta(minutes=30), lease)


def _document(session, url: str = "http://x/P1.htm") -> tuple[int, int]:
    ids = source_store.register_sources(session, [("gia", "rss", "http://x/", ())])
    doc = Document(url=url, source="gia", title="t", text="body")
    return ids["gia"], fact_store.save_document(session, ids["gia"], doc, None, utcnow())


def _new_change(amount: int) -> Change:
    return Change(type=ChangeType.NEW, fact_key=KEY, kind=FactKind.FUNDING, name="NIAS",
                  evidence="e", after={"amount_hkd": amount}, current={"amount_hkd": amount})


def test_a_change_is_stored_once_and_lists_every_document(engine: Engine) -> None:
    now = utcnow()
    with store.transaction(engine) as session:
        source_id, first = _document(session, "http://x/en.htm")
        _, second = _document(session, "http://x/zh.htm")
        [a] = fact_store.save_changes(session, [_new_change(10)], document_id=first,
                                      document_url="http://x/en.htm", source_id=source_id,
                                      now=now)
        [b] = fact_store.save_changes(session, [_new_change(10)], document_id=second,
                                      document_url="http://x/zh.htm", source_id=source_id,
                                      now=now)
    assert a.is_new and not b.is_new and a.id == b.id
    with store.transaction(engine) as session:
        entry = change(session, a.id)
        assert entry is not None
        assert [d.url for d in entry.documents] == ["http://x/en.htm", "http://x/zh.htm"]
        assert fact_store.current_facts(session, [KEY])[KEY].amount_hkd == 10
        assert [e.id for e in change_log(session, kind="funding")] == [a.id]
        assert change_log(session, kind="facility") == []


def test_page_facts_are_replaced_not_accumulated(engine: Engine) -> None:
    fact = Fact(kind=FactKind.FUNDING, key=KEY, name="NIAS", evidence="e", amount_hkd=1)
    with store.transaction(engine) as session:
        _, doc = _document(session)
        assert fact_store.page_facts(session, "http://x/P1.htm") == {}
        fact_store.replace_page_facts(session, doc, [fact], utcnow())
        fact_store.replace_page_facts(session, doc, [fact], utcnow())
        assert list(fact_store.page_facts(session, "http://x/P1.htm") or {}) == [KEY]
        assert fact_store.page_facts(session, "http://x/never.htm") is None


def test_outbox_dedups_claims_retries_and_dead_letters(engine: Engine) -> None:
    now = utcnow()
    args = dict(change_id=None, source_id=None, rule_id="r", target="mailto://***@h",
                subject="s", body="b", severity="info")
    with store.transaction(engine) as session:
        assert outbox.enqueue(session, dedup_key="k1", now=now, **args)
        assert not outbox.enqueue(session, dedup_key="k1", now=now, **args)
    lease = timedelta(minutes=2)
    with store.transaction(engine) as session:
        [delivery] = outbox.claim_due(session, "a", now, lease)
    with store.transaction(engine) as session:  # claimed: nobody else gets it
        assert outbox.claim_due(session, "b", now, lease) == []
    with store.transaction(engine) as session:  # its claimer died: the lease runs out
        [again] = outbox.claim_due(session, "b", now + lease * 2, lease)
        assert again.id == delivery.id
        status = outbox.mark_failed(session, delivery.id, "smtp down", now,
                                    timedelta(seconds=30), timedelta(days=1))
        assert status == outbox.PENDING
    with store.transaction(engine) as session:
        assert outbox.claim_due(session, "a", now + timedelta(seconds=10), lease) == []
        [retry] = outbox.claim_due(session, "a", now + timedelta(seconds=31), lease)
        status = outbox.mark_failed(session, retry.id, "still down",
                                    now + timedelta(days=2), timedelta(seconds=30),
                                    timedelta(days=1))
        assert status == outbox.DEAD
        assert outbox.depth(session) == {"dead": 1}
        assert outbox.retry(session, None, now) == 1
        [last] = outbox.claim_due(session, "a", now, lease)
        outbox.mark_sent(session, last.id, now)
        assert outbox.listing(session, "sent")[0].attempts == 3


def test_prune_drops_old_snapshots_but_keeps_facts_and_changes(engine: Engine) -> None:
    old = utcnow() - timedelta(days=100)
    with store.transaction(engine) as session:
        source_id, doc = _document(session)
        fact_store.save_snapshot(session, "a" * 64, b"old page", old)
        fact_store.save_snapshot(session, "b" * 64, b"new page", utcnow())
        fact_store.save_changes(session, [_new_change(10)], document_id=doc,
                                document_url="http://x/P1.htm", source_id=source_id, now=old)
    with store.transaction(engine) as session:
        assert prune(session, utcnow() - timedelta(days=90)) == (1, 0)
        assert fact_store.snapshot_body(session, "a" * 64) is None
        assert fact_store.snapshot_body(session, "b" * 64) == b"new page"
        assert len(change_log(session)) == 1


def test_prune_keeps_the_base_of_a_kept_delta(engine: Engine) -> None:
    """A page goes Y -> X -> back to Y -> Z: X is kept (recent) as a delta against Y,
    and Y (first seen long ago, no document on it) must survive prune for X to decode."""
    import hashlib

    lines = [f"paragraph {i}: the Government announced support for industry.\n"
             for i in range(60)]
    y, x, z = ("".join(lines) + tail for tail in ("Y\n", "X\n", "Z\n"))
    digest = {name: hashlib.sha256(body.encode()).hexdigest()
              for name, body in (("y", y), ("x", x), ("z", z))}
    url = "http://x/page.htm"
    steps = [("y", y, None, 100), ("x", x, "y", 10), ("y", y, "x", 5), ("z", z, "y", 1)]
    with store.transaction(engine) as session:
        source_id, _ = _document(session, url)
        for name, body, replaces, days in steps:
            when = utcnow() - timedelta(days=days)
            fact_store.save_snapshot(session, digest[name], body.encode(), when,
                                     replaces=digest[replaces] if replaces else None, url=url)
            document = Document(url=url, source="gia", title="t", text=body)
            fact_store.save_document(session, source_id, document, digest[name], when)
            session.flush()
    with store.transaction(engine) as session:
        prune(session, utcnow() - timedelta(days=90))
        assert fact_store.snapshot_body(session, digest["x"]) == x.encode()
        assert fact_store.snapshot_body(session, digest["z"]) == z.encode()
