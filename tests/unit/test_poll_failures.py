"""A poll whose store fails is a failed poll: nothing of it is counted as stored, it is
recorded on the source once the database takes writes again, it is due again after a
backoff (not an interval later), and the metrics count it.

The database is made read-only for real: the runtime's engine is swapped, while the page
is being fetched, for one that opens the same SQLite file with ``mode=ro`` (SQLite then
refuses every write: "attempt to write a readonly database"). The daemon's own case, a
file made read-only under a running process, is tests/e2e/test_faults.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers.daemon import fund_page
from tests.helpers.http_server import LocalServer, Reply
from watcher import store
from watcher.fetch.poll import PollReport
from watcher.pipeline import poll_source
from watcher.service.failures import PollFailures, retry_delay
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import sources as source_store
from watcher.store.timeutil import utcnow

REPO = Path(__file__).resolve().parents[2]


def test_retry_delay_doubles_up_to_an_hour_or_the_next_poll() -> None:
    base, day = timedelta(seconds=30), timedelta(days=1)
    assert [retry_delay(n, base, day).total_seconds() for n in (1, 2, 3, 4)] == [
        30, 60, 120, 240]
    assert retry_delay(50, base, day) == timedelta(hours=1)
    assert retry_delay(3, base, timedelta(seconds=45)) == timedelta(seconds=45)


def test_failures_count_attempts_and_what_the_database_has_not_taken() -> None:
    failures = PollFailures()
    now = utcnow()
    assert failures.fail("a", "database error: x", now).attempts == 1
    failures.not_recorded("a")
    assert failures.fail("a", "database error: y", now).attempts == 2
    failures.not_recorded("a")
    pending = failures.unrecorded("a")
    assert pending is not None and (pending.error, pending.unrecorded) == (
        "database error: y", 2)
    failures.recorded("a")
    assert failures.unrecorded("a") is None and failures.names() == ["a"]
    failures.succeeded("a")
    assert failures.names() == []


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def runtime(tmp_path: Path, site: LocalServer) -> Iterator[Runtime]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "alpha.yaml").write_text(
        f"name: alpha\nkind: html\nurl: {site.url('/alpha.htm')}\ninterval: 1h\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", sources_dir=sources,
                        rules_dir=REPO / "rules", notify="", per_host_delay_s=0,
                        fetch_retries=0, obey_robots=False, poll_retry_s=30)
    rt = Runtime.load(settings)
    rt.init_database()
    yield rt
    rt.engine.dispose()


def _poll_while_read_only(rt: Runtime, site: LocalServer, path: Path) -> PollReport:
    """Poll alpha; its page is held until the engine has been swapped for a read-only one."""
    gate = threading.Event()
    site.routes["/alpha.htm"] = Reply(**{**fund_page("Alpha", 500).__dict__, "gate": gate})
    writable = rt.engine
    read_only = store.make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")

    async def run() -> PollReport:
        async with rt.network():
            poll = asyncio.create_task(poll_source(rt, rt.sources["alpha"]))
            deadline = time.monotonic() + 20
            while site.in_flight == 0:  # claimed, and fetching
                assert time.monotonic() < deadline, "the page was never requested"
                await asyncio.sleep(0.02)
            rt.engine = read_only
            gate.set()
            return await poll

    try:
        return asyncio.run(run())
    finally:
        rt.engine = writable
        read_only.dispose()


def test_a_poll_that_cannot_store_is_failed_counted_and_retried(
        runtime: Runtime, site: LocalServer, tmp_path: Path) -> None:
    started = utcnow()
    report = _poll_while_read_only(runtime, site, tmp_path / "w.db")
    assert report.incomplete == ("database error: OperationalError: attempt to write a "
                                 "readonly database")
    assert report.error is not None and report.incomplete in report.error
    # Nothing was stored, so nothing is counted: no false summary.
    assert (report.documents, report.facts, report.changes, report.alerts) == (0, 0, 0, 0)
    assert report.retry_at is not None
    assert timedelta(seconds=29) <= report.retry_at - started <= timedelta(seconds=35)
    assert runtime.poll_failures.names() == ["alpha"]
    metrics = runtime.metrics.render().decode()
    assert 'watcher_polls_unstored_total{source="alpha"} 1.0' in metrics
    assert 'watcher_polls_total{result="error",source="alpha"} 1.0' in metrics
    with store.transaction(runtime.engine) as session:
        [alpha] = source_store.health(session)
    assert alpha.last_polled_at is None  # the database refused the record too

    # Writable again: the retry records the failure first, then stores the poll.
    retried = asyncio.run(_poll(runtime))
    assert retried.incomplete is None and retried.error is None
    assert retried.changes == 1 and retried.alerts >= 1
    assert runtime.poll_failures.names() == []
    with store.transaction(runtime.engine) as session:
        [alpha] = source_store.health(session)
    assert alpha.last_error == report.incomplete  # recorded when the database allowed
    assert alpha.last_success_at is not None and alpha.consecutive_failures == 0


async def _poll(rt: Runtime) -> PollReport:
    async with rt.network():
        return await poll_source(rt, rt.sources["alpha"])


def test_a_claim_the_database_refuses_is_a_failed_poll_too(
        runtime: Runtime, site: LocalServer, tmp_path: Path) -> None:
    site.routes["/alpha.htm"] = fund_page("Alpha", 500)
    writable = runtime.engine
    runtime.engine = store.make_engine(f"sqlite:///file:{tmp_path / 'w.db'}?mode=ro&uri=true")
    try:
        report = asyncio.run(_poll(runtime))
    finally:
        runtime.engine.dispose()
        runtime.engine = writable
    assert not report.skipped and report.requests == 0
    assert report.incomplete is not None and "readonly database" in report.incomplete
    assert report.retry_at is not None
    assert runtime.poll_failures.names() == ["alpha"]


def test_another_replica_storing_the_poll_clears_this_one_s_failure(
        runtime: Runtime, site: LocalServer, tmp_path: Path) -> None:
    _poll_while_read_only(runtime, site, tmp_path / "w.db")
    assert runtime.poll_failures.names() == ["alpha"]
    with store.transaction(runtime.engine) as session:  # its lease runs out (not waited for)
        source_store.release(session, "alpha", runtime.owner)
    other = Runtime.load(runtime.settings.model_copy(update={"replica_id": "other"}))
    try:
        assert asyncio.run(_poll(other)).changes == 1  # the other replica stores it
    finally:
        other.engine.dispose()
    skipped = asyncio.run(_poll(runtime))  # not due: the other one polled it
    assert skipped.skipped
    assert runtime.poll_failures.names() == []  # nothing waits to be stored here now


def test_a_reload_forgets_the_failures_of_sources_no_longer_configured() -> None:
    failures = PollFailures()
    failures.fail("kept", "database error: x", utcnow())
    failures.fail("removed", "database error: x", utcnow())
    failures.keep_only({"kept", "new"})
    assert failures.names() == ["kept"]
