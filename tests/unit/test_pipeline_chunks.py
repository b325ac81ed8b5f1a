"""A poll that follows many items works in chunks (fetch, read, extract, store), each chunk
one transaction: the result is the same as one big transaction, the source's bookkeeping
happens once, and a followed page's 304 is counted on its page state, not logged."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from tests.helpers.http_server import LocalServer, Reply
from watcher import store
from watcher.fetch.poll import PollReport
from watcher.pipeline import fetch_source, poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store.tables import DocumentRow, FactRow, FetchRow, PageStateRow, SourceRow

PAGES = 7
FUND_EVERY = 3
FUNDS = ["Smart Production Fund", "Green Materials Fund", "Digital Textiles Fund"]


def _page(index: int, version: int) -> bytes:
    if index % FUND_EVERY == 0:
        body = (f"The Government today announced the launch of the {FUNDS[index // FUND_EVERY]}"
                f", a HK${100 + index + version} million fund that will subsidise "
                "manufacturers to set up smart production lines in Hong Kong.")
    else:
        body = f"The department reminded the public to stay alert (notice {index}, v{version})."
    return (f'<html><body><span id="PRHeadlineSpan">Release {index}</span>'
            f'<span id="pressrelease">{body}</span></body></html>').encode()


def _feed(base: str, version: int) -> bytes:
    items = "".join(f"<item><title>Release {i}</title><link>{base}/p/{i}.htm</link>"
                    f"<guid>{base}/p/{i}.htm</guid></item>" for i in range(PAGES))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t v{version}</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>").encode()


def _publish(server: LocalServer, versions: dict[int, int], feed_version: int) -> None:
    server.routes["/feed.xml"] = Reply(200, {"Content-Type": "application/rss+xml",
                                             "ETag": f'"feed-{feed_version}"'},
                                       _feed(server.base_url, feed_version))
    for i in range(PAGES):
        server.routes[f"/p/{i}.htm"] = Reply(
            200, {"Content-Type": "text/html; charset=utf-8", "ETag": f'"p{i}-{versions[i]}"'},
            _page(i, versions[i]))


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        _publish(server, {i: 0 for i in range(PAGES)}, 0)
        yield server


def _runtime(directory: Path, site: LocalServer, extra: str = "") -> Runtime:
    sources = directory / "sources"
    sources.mkdir(parents=True)
    (sources / "feed.yaml").write_text(
        f"name: feed\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: 15m\n{extra}"
        "follow:\n  title: \"span#PRHeadlineSpan\"\n  body: \"span#pressrelease\"\n")
    settings = Settings(database_url=f"sqlite:///{directory / 'watcher.db'}",
                        sources_dir=sources, rules_dir=Path("rules").resolve(), notify="",
                        per_host_delay_s=0, per_host_concurrency=4, obey_robots=False,
                        fetch_retries=0)
    rt = Runtime.load(settings)
    rt.init_database()
    return rt


@pytest.fixture
def runtime(tmp_path: Path, site: LocalServer) -> Runtime:
    return _runtime(tmp_path, site)


def _poll(rt: Runtime, chunk_size: int) -> PollReport:
    async def run() -> PollReport:
        async with rt.network():
            return await poll_source(rt, rt.sources["feed"], force=True, chunk_size=chunk_size)
    return asyncio.run(run())


def _count(rt: Runtime, statement: object) -> int:
    with store.transaction(rt.engine) as session:
        return int(session.exec(statement).one())  # type: ignore[call-overload]


def test_a_poll_in_chunks_stores_every_page_and_finishes_once(runtime: Runtime,
                                                              site: LocalServer) -> None:
    report = _poll(runtime, chunk_size=3)  # 7 items: chunks of 3, 3 and 1
    assert report.error is None
    assert (report.requests, report.documents) == (PAGES + 1, PAGES)
    assert report.changes >= PAGES // FUND_EVERY + 1  # every fund is new
    assert _count(runtime, select(func.count()).select_from(DocumentRow)) == PAGES
    assert _count(runtime, select(func.count()).select_from(FetchRow)) == PAGES + 1
    with store.transaction(runtime.engine) as session:
        row = session.exec(select(SourceRow).where(SourceRow.name == "feed")).one()
        assert row.last_success_at is not None and row.consecutive_failures == 0

    # One fund page changes, the feed too: every other page answers 304, unlogged.
    versions = {i: 0 for i in range(PAGES)}
    versions[3] = 1
    _publish(site, versions, 1)
    again = _poll(runtime, chunk_size=3)
    assert (again.requests, again.not_modified, again.documents) == (PAGES + 1, PAGES - 1, 1)
    assert again.changes == 1  # the amount
    assert _count(runtime, select(func.count()).select_from(FetchRow)) == PAGES + 1 + 2
    counted = _count(runtime, select(func.sum(PageStateRow.not_modified_count)))
    assert counted == PAGES - 1


def _stored(rt: Runtime) -> tuple[list[tuple[str, str | None]], list[tuple[str, int | None]]]:
    with store.transaction(rt.engine) as session:
        documents = sorted((d.url, d.content_hash) for d in session.exec(select(DocumentRow)))
        facts = sorted((f.key, f.amount_hkd) for f in session.exec(
            select(FactRow).where(FactRow.scope == "current")))
    return documents, facts


def test_chunked_and_whole_polls_store_the_same(tmp_path: Path, site: LocalServer) -> None:
    chunked, whole = _runtime(tmp_path / "a", site), _runtime(tmp_path / "b", site)
    _poll(chunked, chunk_size=2)
    _poll(whole, chunk_size=1000)
    assert _stored(chunked) == _stored(whole)
    documents, facts = _stored(chunked)
    assert len(documents) == PAGES and len(facts) == PAGES // FUND_EVERY + 1

    async def again() -> int:
        async with chunked.network():
            fetched = await fetch_source(chunked, chunked.sources["feed"],
                                         PollReport(source="feed"))
            return len(fetched.results)
    # fetch_source (backfill, rules test) still gives the whole poll at once: here the
    # feed's 304, nothing followed.
    assert asyncio.run(again()) == 1


# --- a list's validators wait until every item it names is followed --------------------


def _documents(rt: Runtime) -> int:
    return _count(rt, select(func.count()).select_from(DocumentRow))


def test_a_poll_stopped_between_chunks_is_finished_by_the_next_one(
        runtime: Runtime, site: LocalServer) -> None:
    """Before: the feed's ETag was kept with the first chunk, so the next poll got a 304
    and the pages after the stop were never read."""
    gate = threading.Event()
    held = site.routes["/p/4.htm"]
    assert isinstance(held, Reply)
    site.routes["/p/4.htm"] = Reply(held.status, held.headers, held.body, gate=gate)

    async def stopped_after_the_first_chunk() -> None:
        async with runtime.network():
            poll = asyncio.create_task(
                poll_source(runtime, runtime.sources["feed"], force=True, chunk_size=3))
            deadline = time.monotonic() + 20
            while _documents(runtime) < 3 or site.hits["/p/4.htm"] == 0:
                assert time.monotonic() < deadline, "the first chunk was never stored"
                await asyncio.sleep(0.02)
            poll.cancel()  # what a stop (or a kill) between two chunks leaves
            with contextlib.suppress(asyncio.CancelledError):
                await poll

    asyncio.run(stopped_after_the_first_chunk())
    gate.set()
    assert _documents(runtime) == 3

    rest = _poll(runtime, chunk_size=3)
    assert rest.error is None
    assert rest.not_modified == 3  # the feed was read again; the stored pages said 304
    assert rest.documents == PAGES - 3
    assert _documents(runtime) == PAGES
    # Every item followed: the feed's validators are kept now, and the next poll is one 304.
    settled = _poll(runtime, chunk_size=3)
    assert (settled.requests, settled.not_modified, settled.documents) == (1, 1, 0)


def test_a_feed_longer_than_max_items_is_read_over_successive_polls(
        tmp_path: Path, site: LocalServer) -> None:
    rt = _runtime(tmp_path, site, extra="max_items: 3\n")
    first = _poll(rt, chunk_size=2)
    assert (first.requests, first.documents, first.left) == (4, 3, PAGES - 3)
    second = _poll(rt, chunk_size=2)  # the feed again (not a 304): the next three
    assert (second.requests, second.not_modified, second.documents) == (4, 0, 3)
    assert second.left == 1
    third = _poll(rt, chunk_size=2)  # the last one, then two of the known, for changes
    assert (third.documents, third.not_modified, third.left) == (1, 2, 0)
    assert _documents(rt) == PAGES
    fourth = _poll(rt, chunk_size=2)
    assert (fourth.requests, fourth.not_modified) == (1, 1)


@pytest.mark.parametrize(("failure", "retried"), [(503, True), (404, False)])
def test_an_item_that_failed_for_now_is_tried_again_by_the_next_poll(
        runtime: Runtime, site: LocalServer, failure: int, retried: bool) -> None:
    page = site.routes["/p/5.htm"]
    site.routes["/p/5.htm"] = [Reply(failure), page]
    first = _poll(runtime, chunk_size=3)
    assert first.error is not None and f"HTTP {failure}" in first.error
    assert _documents(runtime) == PAGES - 1

    second = _poll(runtime, chunk_size=3)
    if retried:  # the feed is read again, page 5 with it
        assert second.error is None and second.documents == 1
        assert _documents(runtime) == PAGES
    else:  # a 404 is an answer: the page is recorded as failed, the feed as read
        assert (second.requests, second.not_modified) == (1, 1)
