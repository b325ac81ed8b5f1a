"""Changes in publication order, through the real pipeline (a feed on a local server, the
store, the rules, the outbox).

- A feed listing its items newest first, whose pages take a fund from HK$5 billion to
  HK$100 million, HK$300 million and back to HK$5 billion in publication order: one poll,
  one alert for the fund (its net change), every page kept.
- An older page read after a newer one is history: it moves nothing and alerts no one.
- Two polls bringing the same pages in reverse order end in the same state, and no fact
  changes back to a value it had before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from tests.helpers.http_server import LocalServer, Reply
from watcher import store
from watcher.fetch.poll import PollReport
from watcher.pipeline import poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import facts as fact_store
from watcher.store import outbox
from watcher.store.tables import ChangeRow, DocumentRow, FactRow

KEY = "alpha-innovation-fund"
HK = ZoneInfo("Asia/Hong_Kong")  # as GIA dates its releases: SQLite must not keep the zone's
# wall clock for UTC (a same-day page would then look eight hours older than itself)
# (path, published, size in HK$ million), in publication order
PAGES = [("/p/1.htm", datetime(2025, 1, 6, 10, tzinfo=HK), 5_000),
         ("/p/2.htm", datetime(2025, 2, 6, 10, tzinfo=HK), 100),
         ("/p/3.htm", datetime(2025, 3, 6, 10, tzinfo=HK), 300),
         ("/p/4.htm", datetime(2025, 4, 6, 10, tzinfo=HK), 5_000)]


def _money(millions: int) -> str:
    return f"HK${millions // 1000} billion" if millions >= 1000 else f"HK${millions} million"


def _page(number: int, millions: int) -> bytes:
    body = (f"The Government today announced that the {_money(millions)} Alpha Innovation "
            f"Fund will subsidise manufacturers to set up smart production lines (notice "
            f"{number}).")
    return (f'<html><body><span id="PRHeadlineSpan">Release {number}</span>'
            f'<span id="pressrelease">{body}</span></body></html>').encode()


def _publish(server: LocalServer, listed: list[int]) -> None:
    """The feed lists the pages ``listed`` (indexes into PAGES), newest first."""
    items = "".join(
        f"<item><title>Release {i + 1}</title><link>{server.url(PAGES[i][0])}</link>"
        f"<pubDate>{format_datetime(PAGES[i][1])}</pubDate></item>"
        for i in sorted(listed, key=lambda i: PAGES[i][1], reverse=True))
    feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{server.base_url}/</link><description>d</description>{items}"
            "</channel></rss>").encode()
    server.routes["/feed.xml"] = Reply(200, {"Content-Type": "application/rss+xml"}, feed)
    for i, (path, _, millions) in enumerate(PAGES):
        server.routes[path] = Reply(200, {"Content-Type": "text/html; charset=utf-8"},
                                    _page(i + 1, millions))


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def runtime(tmp_path: Path, site: LocalServer, database_url: str) -> Iterator[Runtime]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "feed.yaml").write_text(
        f"name: feed\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: 15m\n"
        "language: en\nfollow:\n  title: \"span#PRHeadlineSpan\"\n"
        "  body: \"span#pressrelease\"\n")
    settings = Settings(database_url=database_url, sources_dir=sources,
                        rules_dir=Path("rules").resolve(), notify="", per_host_delay_s=0,
                        per_host_concurrency=4, obey_robots=False, fetch_retries=0)
    rt = Runtime.load(settings)
    rt.init_database()
    yield rt
    rt.engine.dispose()


def _poll(rt: Runtime, chunk_size: int | None = None) -> PollReport:
    async def run() -> PollReport:
        async with rt.network():
            return await poll_source(rt, rt.sources["feed"], force=True, chunk_size=chunk_size)
    return asyncio.run(run())


def _alerts(rt: Runtime) -> list[str]:
    with store.transaction(rt.engine) as session:
        return [d.subject for d in sorted(outbox.listing(session, limit=1000),
                                          key=lambda d: d.id)]


def _size(rt: Runtime) -> int | None:
    with store.transaction(rt.engine) as session:
        known = fact_store.current_facts(session, [KEY]).get(KEY)
    return known.amount_hkd if known else None


def _amounts_changed_to(rt: Runtime) -> list[int]:
    """Every size the change log moved the fund to, oldest first."""
    with store.transaction(rt.engine) as session:
        rows = session.exec(select(ChangeRow).where(ChangeRow.fact_key == KEY)
                            .order_by(col(ChangeRow.id))).all()
    return [r.after["amount_hkd"] for r in rows if "amount_hkd" in r.after]


def test_one_poll_of_a_newest_first_feed_alerts_the_net_change_once(
        runtime: Runtime, site: LocalServer) -> None:
    _publish(site, [0, 1, 2, 3])
    report = _poll(runtime)
    assert report.documents == 4 and not report.errors
    assert _alerts(runtime) == ["New fund: Alpha Innovation Fund (HK$5 billion)"]
    assert _size(runtime) == 5_000_000_000
    with store.transaction(runtime.engine) as session:
        [change] = session.exec(select(ChangeRow).where(ChangeRow.fact_key == KEY)).all()
        linked = fact_store.page_facts(session, site.url("/p/2.htm"))
        documents = session.exec(select(DocumentRow)).all()
    # Every page is kept, with what it said, as history...
    assert len(documents) == 4
    assert linked is not None and linked[KEY].amount_hkd == 100_000_000
    # ...and the one change rests on the newest page.
    assert change.type == "new" and change.evidence.endswith("(notice 4).")


def test_in_chunks_of_one_each_page_moves_the_fund_forward_in_time(
        runtime: Runtime, site: LocalServer) -> None:
    # Chunks are stored oldest first, so each is a step forward in publication order
    # (what holds across chunks: one alert per fact per chunk, never a step back).
    _publish(site, [0, 1, 2, 3])
    _poll(runtime, chunk_size=1)
    assert _amounts_changed_to(runtime) == [5_000_000_000, 100_000_000, 300_000_000,
                                            5_000_000_000]
    assert _size(runtime) == 5_000_000_000


def test_an_older_page_after_a_newer_one_is_history(runtime: Runtime,
                                                    site: LocalServer) -> None:
    _publish(site, [3])
    _poll(runtime)
    assert _alerts(runtime) == ["New fund: Alpha Innovation Fund (HK$5 billion)"]
    _publish(site, [1, 3])  # the February page turns up late
    report = _poll(runtime)
    assert report.documents == 1 and report.changes == 0
    assert _alerts(runtime) == ["New fund: Alpha Innovation Fund (HK$5 billion)"]
    assert _size(runtime) == 5_000_000_000
    with store.transaction(runtime.engine) as session:
        current = session.exec(select(FactRow).where(FactRow.key == KEY,
                                                     FactRow.scope == "current")).one()
        february = fact_store.page_facts(session, site.url("/p/2.htm"))
    assert fact_store.known_fact(current.key, current.kind, current.name, current.origin,
                                 current.amount_hkd, current.status, current.attributes,
                                 current.amounts, current.evidence_at
                                 ).evidence_at == PAGES[3][1]
    assert february is not None and february[KEY].amount_hkd == 100_000_000  # kept


@pytest.mark.parametrize("first", [[2, 3], [0, 1]], ids=["newest-first", "oldest-first"])
def test_two_polls_in_either_order_end_in_the_same_state_without_flipping(
        runtime: Runtime, site: LocalServer, first: list[int]) -> None:
    _publish(site, first)
    _poll(runtime)
    _publish(site, [0, 1, 2, 3])
    _poll(runtime)
    assert _size(runtime) == 5_000_000_000
    moved = _amounts_changed_to(runtime)
    # The size never goes back to a value it has been moved away from.
    assert all(value not in moved[:i - 1] for i, value in enumerate(moved) if i > 0), moved
    if first == [2, 3]:  # the newer pages came first: the older ones are only history
        assert moved == [5_000_000_000]
        assert len(_alerts(runtime)) == 1


def test_the_same_page_reissued_the_same_day_is_news(runtime: Runtime,
                                                     site: LocalServer) -> None:
    _publish(site, [3])
    _poll(runtime)
    site.routes["/p/4.htm"] = Reply(200, {"Content-Type": "text/html; charset=utf-8"},
                                    _page(4, 800))
    feed = site.routes["/feed.xml"]
    assert isinstance(feed, Reply)
    site.routes["/feed.xml"] = Reply(200, {"Content-Type": "application/rss+xml"},
                                     feed.body.replace(b"Release 4",
                                                                     b"Release 4 (revised)"))
    _poll(runtime)
    assert _size(runtime) == 800_000_000
    assert _alerts(runtime)[-1] == ("Amount changed: Alpha Innovation Fund HK$5 billion -> "
                                    "HK$800 million")
