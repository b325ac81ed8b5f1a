"""A poll's memory is two chunks of pages, whatever the number of items: the chunk being
fetched and the one being stored. A chunk that is stored is dropped (the first one, which
holds the feed request, too), and none waits in memory for its turn to be stored."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.http_server import LocalServer, Reply
from watcher.fetch import poll as fetch_poll
from watcher.fetch.poll import Fetched, PollReport
from watcher.pipeline import poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings

PAGES = 9


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        items = "".join(f"<item><title>Release {i}</title><link>{server.base_url}/p/{i}.htm"
                        f"</link></item>" for i in range(PAGES))
        server.routes["/feed.xml"] = Reply(
            200, {"Content-Type": "application/rss+xml"},
            (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
             f"<link>{server.base_url}/</link><description>d</description>{items}"
             "</channel></rss>").encode())
        for i in range(PAGES):
            server.routes[f"/p/{i}.htm"] = Reply(
                200, {"Content-Type": "text/html; charset=utf-8"},
                (f'<html><body><span id="PRHeadlineSpan">Release {i}</span><span '
                 f'id="pressrelease">Notice {i}: the office reopens on Monday.</span>'
                 "</body></html>").encode())
        yield server


@pytest.fixture
def runtime(tmp_path: Path, site: LocalServer) -> Runtime:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "feed.yaml").write_text(
        f"name: feed\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: 15m\n"
        "follow:\n  title: \"span#PRHeadlineSpan\"\n  body: \"span#pressrelease\"\n")
    rt = Runtime.load(Settings(
        database_url=f"sqlite:///{tmp_path / 'watcher.db'}", sources_dir=sources,
        rules_dir=Path("rules").resolve(), notify="", per_host_delay_s=0,
        per_host_concurrency=4, obey_robots=False, fetch_retries=0))
    rt.init_database()
    return rt


def test_a_poll_holds_two_chunks_at_most(runtime: Runtime,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[weakref.ref[Fetched]] = []
    alive: list[int] = []  # chunks alive each time a chunk is made, itself included

    class Counted(Fetched):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            gc.collect()  # a stored chunk may sit in a reference cycle of finished tasks
            alive.append(1 + sum(1 for ref in created if ref() is not None))
            created.append(weakref.ref(self))

    monkeypatch.setattr(fetch_poll, "Fetched", Counted)  # where the chunks are made

    async def poll() -> PollReport:
        async with runtime.network():
            return await poll_source(runtime, runtime.sources["feed"], force=True,
                                     chunk_size=1)

    report = asyncio.run(poll())
    assert report.error is None and report.documents == PAGES  # every chunk was stored
    assert len(alive) == PAGES
    assert max(alive) <= 2, alive  # fetching chunk k+1 while chunk k is stored, no more


def test_a_slow_page_does_not_hold_back_the_requests_behind_it(
        runtime: Runtime, site: LocalServer) -> None:
    """Requests flow through a pipe, not in batches: while page 0 takes its time, the
    pages behind it (beyond its chunk) are fetched on the other connections."""
    site.routes["/p/0.htm"] = Reply(200, {"Content-Type": "text/html; charset=utf-8"},
                                    b'<html><body><span id="PRHeadlineSpan">Slow</span>'
                                    b'<span id="pressrelease">Late.</span></body></html>',
                                    delay_s=1.0)

    async def poll() -> PollReport:
        async with runtime.network():
            return await poll_source(runtime, runtime.sources["feed"], force=True,
                                     chunk_size=2)

    report = asyncio.run(poll())
    assert report.error is None
    arrivals = [(seen.path, seen.at) for seen in site.requests]
    slow_at = next(at for path, at in arrivals if path == "/p/0.htm")
    meanwhile = [path for path, at in arrivals if path != "/p/0.htm" and at < slow_at + 0.8]
    # A batch of two would wait for page 0 before asking for page 2.
    assert len(meanwhile) >= 5, meanwhile
