"""Backfill over a local archive of 30 days of GIA index pages (English and Chinese) with
their releases: it stops on a failing day and resumes there, stops after --max-days and
goes on, reads every day exactly once, builds facts and changes, and queues alerts only
when asked. Real parts: a loopback HTTP server, a SQLite file, the real pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers.http_server import LocalServer, Reply
from watcher import store
from watcher.config.sources import HtmlSource
from watcher.service.backfill import (
    BackfillError,
    BackfillReport,
    archive_sources,
    archive_url,
    backfill,
    days_between,
)
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import outbox
from watcher.store.progress import get_marker
from watcher.store.queries import change_log

REPO = Path(__file__).resolve().parents[2]
FIRST = date(2023, 10, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(30)]
LAST = DAYS[-1]
FUND_EN = "Industry Upgrading Matching Fund"
FUND_ZH = "工業升級配對基金"


def release_en(title: str, text: str, day: date) -> bytes:
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title}</title></head><body>
<div id="contentBody" class="row">
 <div class="rel"><div class="fontSize1" id="PRHeadline">
  <span id="PRHeadlineSpan">{title}</span></div></div>
 <span id="pressrelease" class="fontSize1">
     {text}
  <div> </div>
  <div class="mB15 f15">Ends/{day:%A, %B} {day.day}, {day.year}
  <br>
   Issued at HKT 16:30
  </div>
  <div style="margin-top:10px;">
   NNNN
  </div>
 </span>
</div></body></html>""".encode()


def release_zh(title: str, text: str, day: date) -> bytes:
    weekday = "一二三四五六日"[day.weekday()]
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title}</title></head><body>
<div id="contentBody" class="row">
 <div class="rel"><div class="fontSize1" id="PRHeadline">
  <span id="PRHeadlineSpan">{title}</span></div></div>
 <span id="pressrelease" class="fontSize1">
     {text}
  <div> </div>
  <div class="mB15 f15">完
  <br>
  {day.year}年{day.month}月{day.day}日（星期{weekday}）
  <br>
  香港時間16時30分
  </div>
 </span>
</div></body></html>""".encode()


def index_page(day: date, links: list[tuple[str, str]]) -> bytes:
    items = "\n".join(f'    <li><a href="{href}">{title}</a></li>' for href, title in links)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Press Releases</title></head><body>
<div id="headerBanner">{day:%d-%m-%Y}</div>
<div id="contentBody">
  <ul class="list fontSize1">
{items}
  </ul>
</div></body></html>""".encode()


def html(body: bytes) -> Reply:
    return Reply(200, {"Content-Type": "text/html"}, body)


def index_path(day: date, chinese: bool = False) -> str:
    return f"/gia/general/{day:%Y%m}/{day:%d}{'c' if chinese else ''}.htm"


def fund_text(day: date) -> tuple[str, str] | None:
    """Day 5 launches the fund at HK$500 million; day 20 raises it to HK$800 million."""
    if day == DAYS[4]:
        return (f"The Government today launched the HK$500 million {FUND_EN} to subsidise "
                "manufacturers on a 1:1 matching basis.",
                f"政府今日推出5億元的「{FUND_ZH}」，以1:1配對形式資助生產商。")
    if day == DAYS[19]:
        return (f"The Government today announced that the {FUND_EN} will be increased from "
                "HK$500 million to HK$800 million.",
                f"政府今日宣布，「{FUND_ZH}」的金額由5億元增加至8億元。")
    return None


def archive() -> dict[str, Reply]:
    routes: dict[str, Reply] = {}
    for day in DAYS:
        folder = f"/gia/general/{day:%Y%m}/{day:%d}"
        en = [(f"{folder}/P{day:%Y%m%d}00100.htm", f"Weather report for {day}")]
        zh = [(f"{folder}/P{day:%Y%m%d}00101.htm", f"{day.month}月{day.day}日天氣報告")]
        routes[en[0][0]] = html(release_en(en[0][1], "Mainly fine. Light winds.", day))
        routes[zh[0][0]] = html(release_zh(zh[0][1], "大致天晴，微風。", day))
        fund = fund_text(day)
        if fund is not None:
            en.append((f"{folder}/P{day:%Y%m%d}00200.htm", f"{FUND_EN} news"))
            zh.append((f"{folder}/P{day:%Y%m%d}00201.htm", f"{FUND_ZH}消息"))
            routes[en[1][0]] = html(release_en(en[1][1], fund[0], day))
            routes[zh[1][0]] = html(release_zh(zh[1][1], fund[1], day))
        routes[index_path(day)] = html(index_page(day, en))
        routes[index_path(day, chinese=True)] = html(index_page(day, zh))
    return routes


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer(dict(archive())) as server:
        yield server


def sources_dir(tmp_path: Path, server: LocalServer) -> Path:
    directory = tmp_path / "sources"
    directory.mkdir(exist_ok=True)
    text = (REPO / "sources" / "gia.yaml").read_text(encoding="utf-8")
    (directory / "gia.yaml").write_text(
        text.replace("https://www.info.gov.hk", server.base_url), encoding="utf-8")
    return directory


def settings(tmp_path: Path, server: LocalServer, database_url: str) -> Settings:
    return Settings(database_url=database_url, sources_dir=sources_dir(tmp_path, server),
                    rules_dir=REPO / "rules", notify="", per_host_delay_s=0, fetch_retries=0)


def open_runtime(tmp_path: Path, site: LocalServer, database_url: str) -> Runtime:
    rt = Runtime.load(settings(tmp_path, site, database_url))
    rt.init_database()
    return rt


@pytest.fixture
def runtime(tmp_path: Path, site: LocalServer) -> Iterator[Runtime]:
    """SQLite only; the full stop-and-resume walk also runs on PostgreSQL."""
    rt = open_runtime(tmp_path, site, f"sqlite:///{tmp_path / 'watcher.db'}")
    yield rt
    rt.engine.dispose()


@pytest.fixture
def any_runtime(tmp_path: Path, site: LocalServer, database_url: str) -> Iterator[Runtime]:
    rt = open_runtime(tmp_path, site, database_url)
    yield rt
    rt.engine.dispose()  # PostgreSQL: close the pool before the database is dropped


def run(rt: Runtime, *, since: date = FIRST, until: date = LAST, alert: bool = False,
        max_days: int | None = None) -> BackfillReport:
    async def go() -> BackfillReport:
        async with rt.network():
            return await backfill(rt, archive_sources(rt.sources, "gia"), since, until,
                                  alert=alert, max_days=max_days)
    return asyncio.run(go())


def index_hits(server: LocalServer) -> dict[str, int]:
    return {index_path(d, zh): server.hits[index_path(d, zh)] for d in DAYS for zh in (False, True)}


def fund_changes(rt: Runtime) -> list[tuple[str, object, object]]:
    with store.transaction(rt.engine) as session:
        entries = change_log(session, limit=1000)
    key = "industry-upgrading-matching-fund"
    return sorted((e.type, e.before, e.after) for e in entries if e.fact_key == key)


def outbox_rows(rt: Runtime) -> int:
    with store.transaction(rt.engine) as session:
        return len(outbox.listing(session))


def marker(rt: Runtime, name: str) -> str | None:
    with store.transaction(rt.engine) as session:
        return get_marker(session, f"backfill:{name}")


def test_stops_on_a_failing_day_and_resumes_there(any_runtime: Runtime,
                                                  site: LocalServer) -> None:
    runtime = any_runtime
    failing = index_path(DAYS[11])
    good = site.routes[failing]
    site.routes[failing] = Reply(503, {"Content-Type": "text/plain"}, b"busy")

    first = run(runtime)

    assert (first.stopped_at, first.error) == (DAYS[11], f"{site.url(failing)}: HTTP 503")
    assert first.days == 11 * 2  # both languages of days 1-11
    assert marker(runtime, "gia-daily-index-en") == DAYS[10].isoformat()
    assert site.hits[index_path(DAYS[12])] == 0  # nothing after the failure was read

    site.routes[failing] = good
    second = run(runtime)

    assert second.error is None and second.stopped_at is None
    assert second.days == 19 * 2 and second.already_done == 11 * 2
    hits = index_hits(site)
    assert hits.pop(failing) == 2  # the failed attempt, then the resumed one
    assert set(hits.values()) == {1}, "every other day was read exactly once"
    assert marker(runtime, "gia-daily-index-en") == LAST.isoformat()
    assert marker(runtime, "gia-daily-index-zh") == LAST.isoformat()
    # History was built: the fund appeared on day 5 and changed on day 20, in both
    # languages stored once per change.
    (changed, before, after), (new, _, first_seen) = fund_changes(runtime)
    assert (changed, new) == ("changed", "new")
    assert first_seen["amount_hkd"] == 500_000_000  # type: ignore[index]
    assert (before["amount_hkd"], after["amount_hkd"]) == (  # type: ignore[index]
        500_000_000, 800_000_000)
    assert outbox_rows(runtime) == 0, "no alerts without --alert"


def test_max_days_stops_and_the_next_run_goes_on(runtime: Runtime, site: LocalServer) -> None:
    until = DAYS[14]
    first = run(runtime, until=until, max_days=10)
    assert first.days == 20 and first.error is None
    assert marker(runtime, "gia-daily-index-zh") == DAYS[9].isoformat()
    assert site.hits[index_path(DAYS[10])] == 0

    second = run(runtime, until=until)
    assert second.days == 10 and second.already_done == 20
    walked = {k: v for k, v in index_hits(site).items() if v}
    assert len(walked) == 30 and set(walked.values()) == {1}

    third = run(runtime, until=until)  # all done: nothing is fetched again
    assert (third.days, third.already_done, third.requests) == (0, 30, 0)
    assert {k: v for k, v in index_hits(site).items() if v} == walked


def test_alerts_only_when_asked(runtime: Runtime) -> None:
    report = run(runtime, since=DAYS[4], until=DAYS[19], alert=True)
    assert report.alerts >= 2  # the new fund, then its changed amount
    assert outbox_rows(runtime) == report.alerts


def test_a_day_without_an_archive_page_is_missing_not_fatal(runtime: Runtime,
                                                            site: LocalServer) -> None:
    del site.routes[index_path(DAYS[2], chinese=True)]
    report = run(runtime, until=DAYS[3])
    assert (report.missing, report.days, report.error) == (1, 7, None)
    assert marker(runtime, "gia-daily-index-zh") == DAYS[3].isoformat()


def test_archive_urls_and_source_names(runtime: Runtime, site: LocalServer) -> None:
    sources = archive_sources(runtime.sources, "gia")
    assert [s.name for s in sources] == ["gia-daily-index-en", "gia-daily-index-zh"]
    assert archive_url(sources[0], date(2024, 5, 10)) == site.url("/gia/general/202405/10.htm")
    assert archive_url(sources[1], date(2024, 5, 1)) == site.url("/gia/general/202405/01c.htm")
    assert [s.name for s in archive_sources(runtime.sources, "gia-daily-index-zh")] == [
        "gia-daily-index-zh"]
    with pytest.raises(BackfillError, match=r"has no daily archive.*gia-daily-index-en"):
        archive_sources(runtime.sources, "gia-press-releases-en")
    with pytest.raises(BackfillError, match="unknown backfill source 'hkstp'"):
        archive_sources(runtime.sources, "hkstp")
    with pytest.raises(BackfillError, match="before --since"):
        days_between(date(2024, 1, 2), date(2024, 1, 1))
    shipped = [s for s in runtime.sources.values() if isinstance(s, HtmlSource)]
    assert {s.name for s in shipped} >= {"gia-daily-index-en", "gia-daily-index-zh"}


def test_command_shows_progress_stops_and_resumes(tmp_path: Path, site: LocalServer) -> None:
    from watcher.cli import app

    env = {"WATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "WATCHER_SOURCES_DIR": str(sources_dir(tmp_path, site)),
           "WATCHER_RULES_DIR": str(REPO / "rules"), "WATCHER_NOTIFY": "",
           "WATCHER_PER_HOST_DELAY_S": "0", "WATCHER_FETCH_RETRIES": "0"}
    runner = CliRunner()
    args = ["backfill", "--source", "gia", "--since", "2023-10-01", "--until", "2023-10-05"]

    first = runner.invoke(app, [*args, "--max-days", "2"], env=env)
    assert first.exit_code == 0, first.output
    assert "4 days read (0 already done" in first.output

    site.routes[index_path(DAYS[3])] = Reply(503)
    second = runner.invoke(app, args, env=env)
    assert second.exit_code == 1
    assert "backfill stopped at 2023-10-04" in second.output
    assert "run the same command again to resume" in second.output

    del site.routes[index_path(DAYS[3])]
    site.routes.update({k: v for k, v in archive().items() if k == index_path(DAYS[3])})
    third = runner.invoke(app, args, env=env)
    assert third.exit_code == 0, third.output
    assert "(6 already done" in third.output

    bad = runner.invoke(app, ["backfill", "--source", "gia", "--since", "2023-13-01"], env=env)
    assert bad.exit_code == 2 and "--since: '2023-13-01' is not a date" in bad.output
