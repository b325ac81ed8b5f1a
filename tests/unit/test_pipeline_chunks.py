"""A poll that follows many items works in chunks (fetch, read, extract, store), each chunk
one transaction: the result is the same as one big transaction, the source's bookkeeping
happens once, and a followed page's 304 is counted on its page state, not logged."""

from __future__ import annotations

import asyncio
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


def _runtime(directory: Path, site: LocalServer) -> Runtime:
    sources = directory / "sources"
    sources.mkdir(parents=True)
    (sources / "feed.yaml").write_text(
        f"name: feed\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: 15m\n"
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
