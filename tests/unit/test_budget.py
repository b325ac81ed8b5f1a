"""Memory bounds shared by all polls: the page budget (pages fetched but not yet stored,
across polls) and host turns (polls that follow a list's links take turns per host)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.http_server import LocalServer, Reply
from watcher.fetch.budget import HostTurns, PageBudget
from watcher.fetch.poll import PollReport
from watcher.pipeline import poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings

PAGES = 9


def test_budget_takes_gives_and_refuses_more_than_it_has() -> None:
    budget = PageBudget(2)
    assert budget.try_take() and budget.try_take()
    assert not budget.try_take() and budget.taken == 2
    budget.give(2)
    assert budget.free == 2
    with pytest.raises(RuntimeError, match="returned"):
        budget.give()
    with pytest.raises(ValueError):
        PageBudget(0)


def test_a_waiter_wakes_when_a_slot_comes_back() -> None:
    async def scenario() -> list[str]:
        budget = PageBudget(1)
        assert budget.try_take()
        events: list[str] = []

        async def waiter() -> None:
            await budget.wait_for_free()
            events.append("woke")

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)
        events.append("giving")
        budget.give()
        await asyncio.wait_for(task, 2)
        return events

    assert asyncio.run(scenario()) == ["giving", "woke"]


def test_budget_and_turns_work_in_one_event_loop_after_another() -> None:
    # asyncio's primitives bind to the loop that first waits on them; a runtime used by
    # two asyncio.run calls (a test, a backfill) must not trip over the first loop's.
    budget, turns = PageBudget(1), HostTurns()

    async def contend() -> None:
        assert budget.try_take()
        waiter = asyncio.create_task(budget.wait_for_free())
        lock = turns.turn("example.org")
        async with lock:
            other = asyncio.create_task(lock.acquire())  # waits: binds the lock's loop
            await asyncio.sleep(0.01)
            budget.give()
        await asyncio.wait_for(asyncio.gather(waiter, other), 2)
        lock.release()

    asyncio.run(contend())
    asyncio.run(contend())  # raised "bound to a different event loop" before


def _feed(server: LocalServer, prefix: str, host: str) -> bytes:
    base = server.base_url.replace("127.0.0.1", host)
    items = "".join(f"<item><title>{prefix} {i}</title><link>{base}/{prefix}/{i}.htm</link>"
                    "</item>" for i in range(PAGES))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
            ).encode()


def _page(title: str) -> bytes:
    return (f'<html><body><span id="PRHeadlineSpan">{title}</span><span id="pressrelease">'
            f"{title}: the office reopens on Monday.</span></body></html>").encode()


@pytest.fixture
def site() -> Iterator[LocalServer]:
    """Feeds "a" and "b" on 127.0.0.1, feed "c" on localhost (another host to watcher),
    and a single page "solo" on 127.0.0.1; every followed page is a little slow."""
    with LocalServer() as server:
        html = {"Content-Type": "text/html; charset=utf-8"}
        for prefix, host in (("a", "127.0.0.1"), ("b", "127.0.0.1"), ("c", "localhost")):
            server.routes[f"/{prefix}.xml"] = Reply(
                200, {"Content-Type": "application/rss+xml"}, _feed(server, prefix, host))
            for i in range(PAGES):
                server.routes[f"/{prefix}/{i}.htm"] = Reply(200, html, _page(f"{prefix} {i}"),
                                                           delay_s=0.05)
        server.routes["/solo.htm"] = Reply(200, html, _page("solo"))
        yield server


def _runtime(tmp_path: Path, site: LocalServer, sources: dict[str, str], pages: int) -> Runtime:
    folder = tmp_path / "sources"
    folder.mkdir()
    follow = 'follow:\n  title: "span#PRHeadlineSpan"\n  body: "span#pressrelease"\n'
    for name, url in sources.items():
        kind = "rss" if url.endswith(".xml") else "html"
        extra = follow if kind == "rss" else (
            'page:\n  title: "span#PRHeadlineSpan"\n  body: "span#pressrelease"\n')
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nkind: {kind}\nurl: {url}\ninterval: 15m\n{extra}")
    rt = Runtime.load(Settings(
        database_url=f"sqlite:///{tmp_path / 'watcher.db'}", sources_dir=folder,
        rules_dir=Path("rules").resolve(), notify="", per_host_delay_s=0,
        per_host_concurrency=8, obey_robots=False, fetch_retries=0, pages_in_memory=pages))
    rt.init_database()
    return rt


def _poll_all(rt: Runtime, chunk_size: int) -> list[PollReport]:
    async def run() -> list[PollReport]:
        async with rt.network():
            return await asyncio.gather(*(poll_source(rt, s, force=True, chunk_size=chunk_size)
                                          for s in rt.sources.values()))
    return asyncio.run(run())


def test_polls_side_by_side_never_hold_more_pages_than_the_budget(
        tmp_path: Path, site: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two hosts, so the polls do run side by side; 3 pages for both, chunks of 4.
    rt = _runtime(tmp_path, site, {"a": site.url("/a.xml"),
                                   "c": site.url("/c.xml").replace("127.0.0.1", "localhost")},
                  pages=3)
    budget = rt.page_budget
    most: list[int] = [0]
    take = budget.try_take

    def counting_take() -> bool:
        ok = take()
        most[0] = max(most[0], budget.taken)
        return ok

    monkeypatch.setattr(budget, "try_take", counting_take)
    reports = _poll_all(rt, chunk_size=4)
    assert [r.error for r in reports] == [None, None]
    assert [r.documents for r in reports] == [PAGES, PAGES]  # nothing lost to the bound
    assert most[0] == 3  # the bound was reached, and never passed
    assert budget.free == 3  # every slot came back


def test_follow_polls_of_one_host_take_turns_and_a_single_page_does_not_wait(
        tmp_path: Path, site: LocalServer) -> None:
    # Followed pages answer in 0.3 s, so each long poll lasts well over 0.3 s; a single
    # page that waited for a turn could only arrive after the first long poll's last page.
    for prefix in ("a", "b"):
        for i in range(PAGES):
            site.routes[f"/{prefix}/{i}.htm"].delay_s = 0.3
    rt = _runtime(tmp_path, site, {"a": site.url("/a.xml"), "b": site.url("/b.xml"),
                                   "solo": site.url("/solo.htm")}, pages=100)
    reports = _poll_all(rt, chunk_size=2)
    arrivals = [(seen.path, seen.at) for seen in site.requests]
    assert all(r.error is None for r in reports)
    assert sorted(r.documents for r in reports) == [1, PAGES, PAGES]

    def span(prefix: str) -> tuple[float, float]:
        times = [at for path, at in arrivals if path.startswith(f"/{prefix}")]
        return min(times), max(times)

    (a0, a1), (b0, b1) = span("a"), span("b")
    assert a1 < b0 or b1 < a0, "two polls of one host followed links at the same time"
    solo = next(at for path, at in arrivals if path == "/solo.htm")
    assert solo < min(a1, b1), "the single page waited for a long poll to finish"


def test_a_stopped_poll_gives_back_every_slot(tmp_path: Path, site: LocalServer) -> None:
    rt = _runtime(tmp_path, site, {"a": site.url("/a.xml")}, pages=4)
    # Pages 0 and 1 answer at once and wait in the chunk being filled (chunks of 3);
    # the rest are slow, so the poll is stopped with slots both in its pipe and its chunk.
    for i in range(PAGES):
        site.routes[f"/a/{i}.htm"] = Reply(200, {"Content-Type": "text/html"},
                                           _page(f"a {i}"), delay_s=0 if i < 2 else 0.5)

    async def run() -> None:
        async with rt.network():
            poll = asyncio.create_task(poll_source(rt, rt.sources["a"], force=True,
                                                   chunk_size=3))
            while rt.page_budget.taken < 4:  # the pipe is full: the poll is mid-way
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # pages 0 and 1 have arrived
            assert rt.page_budget.taken == 4
            poll.cancel()
            with pytest.raises(asyncio.CancelledError):
                await poll
            for _ in range(100):  # a chunk's store may still be finishing in its thread
                if rt.page_budget.free == 4:
                    break
                await asyncio.sleep(0.05)

    asyncio.run(run())
    assert rt.page_budget.free == 4
