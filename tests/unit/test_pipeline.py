"""pipeline: one bad source never stops the others, and its trouble is recorded on it.

Real parts: a local HTTP server, a SQLite file, the real runtime with the repo's rules and
baseline; alerts go to the console target (no notification target configured).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.http_server import LocalServer, Reply
from watcher import store
from watcher.pipeline import dispatch_outbox, poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import outbox, queries
from watcher.store import sources as source_store

REPO = Path(__file__).resolve().parents[2]
GOOD = """<html><head><title>Government launches Industry Upgrading Matching Fund</title></head>
<body><span id="PRHeadlineSpan">Government launches Industry Upgrading Matching Fund</span>
<span id="pressrelease">The Government today announced the launch of the Industry Upgrading
Matching Fund, a HK$500 million fund that will subsidise manufacturers on a 1:1 matching
basis.<div class="mB15 f15">Ends/Wednesday, November 20, 2024</div></span></body></html>"""
# Unclosed tags, stray bytes, a script: read anyway, without the script.
MALFORMED = (b"<html><body><span id='pressrelease'><p>The Advanced Materials Research Centre "
             b"will be set up.<script>alert(1)</script><b><i>\xff\xfe</span></body>")
READER = """\
page:
  title: "span#PRHeadlineSpan"
  body: "span#pressrelease"
  drop: ["div.mB15.f15"]
"""


@pytest.fixture
def site() -> Iterator[LocalServer]:
    html = {"Content-Type": "text/html; charset=utf-8"}
    with LocalServer({
        "/good.htm": Reply(200, html, GOOD.encode()),
        "/malformed.htm": Reply(200, html, MALFORMED),
        "/empty.htm": Reply(200, html, b""),
        "/binary.htm": Reply(200, {"Content-Type": "application/pdf"}, b"%PDF-1.7\x00\x01\x02"),
        "/huge.htm": Reply(200, html, huge_bytes=20 * 1024 * 1024),
        "/down.htm": Reply(503),
    }) as server:
        yield server


@pytest.fixture
def runtime(tmp_path: Path, site: LocalServer) -> Iterator[Runtime]:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("good", "malformed", "empty", "binary", "huge", "down"):
        (sources / f"{name}.yaml").write_text(
            f"name: {name}\nkind: html\nurl: {site.url(f'/{name}.htm')}\n{READER}")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", sources_dir=sources,
                        rules_dir=REPO / "rules", notify="", per_host_delay_s=0,
                        per_host_concurrency=4, fetch_retries=1, obey_robots=False)
    rt = Runtime.load(settings)
    rt.init_database()
    yield rt
    rt.engine.dispose()


def test_bad_responses_are_the_source_s_error_and_the_rest_goes_on(
        runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    async def cycle() -> list[object]:
        async with runtime.network():
            reports = await asyncio.gather(
                *(poll_source(runtime, s, force=True) for s in runtime.sources.values()))
            await dispatch_outbox(runtime)
            return list(reports)

    reports = {r.source: r for r in asyncio.run(cycle())}  # type: ignore[attr-defined]
    assert reports["good"].error is None and reports["good"].changes >= 1
    assert reports["malformed"].error is None and reports["malformed"].documents == 1
    assert "empty response" in (reports["empty"].error or "")
    assert "binary content" in (reports["binary"].error or "")
    assert "larger than" in (reports["huge"].error or "")
    assert "503" in (reports["down"].error or "")

    with store.transaction(runtime.engine) as session:
        health = {h.name: h for h in source_store.health(session)}
        log = queries.change_log(session)
    assert health["good"].consecutive_failures == 0 and health["good"].last_success_at
    for bad in ("empty", "binary", "huge", "down"):
        assert health[bad].consecutive_failures == 1 and health[bad].last_error
    names = {entry.fact_key for entry in log}
    assert "industry-upgrading-matching-fund" in names
    assert "advanced-materials-research-centre" in names
    # No target configured: the alerts went to the console (stderr), markup shown as text.
    printed = capsys.readouterr().err
    assert "Industry Upgrading Matching Fund" in printed
    assert "<script>" not in printed


def test_a_redesigned_list_page_fails_its_source_naming_the_selector(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """200 with a page whose selectors match nothing is a failure of the source: health
    shows it with the selector, and after ``failing_after`` polls the rule fires."""
    redesigned = (b"<html><body><main><div class='news-card'><a href='/n/1'>New look</a>"
                  b"</div></main></body></html>")
    html = {"Content-Type": "text/html; charset=utf-8"}
    with LocalServer({"/news": Reply(200, html, redesigned),
                      "/table": Reply(200, html, redesigned)}) as server:
        sources = tmp_path / "sources"
        sources.mkdir()
        (sources / "list.yaml").write_text(
            f"name: news-list\nkind: html\nurl: {server.url('/news')}\n"
            "items: \"ul.news li > a\"\nfollow: {body: main}\n")
        (sources / "rows.yaml").write_text(
            f"name: news-rows\nkind: html\nurl: {server.url('/table')}\n"
            "entries: {select: \"table tr\"}\n")
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                            sources_dir=sources, rules_dir=REPO / "rules", notify="",
                            per_host_delay_s=0, fetch_retries=0, obey_robots=False)
        rt = Runtime.load(settings)
        rt.init_database()

        async def polls() -> list[object]:
            async with rt.network():
                reports = []
                for _ in range(settings.failing_after):
                    for source in rt.sources.values():
                        reports.append(await poll_source(rt, source, force=True))
                await dispatch_outbox(rt)
                return reports

        reports = asyncio.run(polls())
        rt.engine.dispose()
    errors = {r.source: r.error for r in reports}  # type: ignore[attr-defined]
    assert errors["news-list"] == (
        f"{server.url('/news')}: items selector 'ul.news li > a' matched nothing")
    assert errors["news-rows"] == (
        f"{server.url('/table')}: entries selector 'table tr' matched nothing")
    with store.transaction(rt.engine) as session:
        health = {h.name: h for h in source_store.health(session)}
        alerts = [d for d in outbox.listing(session) if d.rule_id == "source-failing"]
    for name in ("news-list", "news-rows"):
        assert health[name].consecutive_failures == settings.failing_after
        assert "matched nothing" in (health[name].last_error or "")
    failing = {a.subject: a.body for a in alerts}
    body = failing[f"Source failing: news-list ({settings.failing_after} failed polls)"]
    assert "items selector 'ul.news li > a' matched nothing" in body
    assert "Source failing: news-list" in capsys.readouterr().err  # sent (to the console)


def test_followed_pdfs_are_read_and_a_scanned_one_is_the_source_s_error(
        tmp_path: Path) -> None:
    fixtures = REPO / "tests" / "fixtures"
    paper = fixtures / "sources/legco/yr24-25/english/fc/fc/papers/f24-31e.pdf"
    listing = b"<table><tr><td><a href='/f1.pdf'>FCR</a></td><td><a href='/scan.pdf'>scan</a>"
    pdf = {"Content-Type": "application/pdf"}
    with LocalServer({"/papers": Reply(200, {"Content-Type": "text/html"}, listing),
                      "/f1.pdf": Reply(200, pdf, paper.read_bytes()),
                      "/scan.pdf": Reply(200, pdf, (fixtures / "pdf/scanned.pdf").read_bytes()),
                      }) as server:
        sources = tmp_path / "sources"
        sources.mkdir()
        (sources / "papers.yaml").write_text(
            f"name: papers\nkind: html\nurl: {server.url('/papers')}\n"
            "items: \"a[href$='.pdf']\"\nfollow: {}\n")
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                            sources_dir=sources, rules_dir=REPO / "rules", notify="",
                            per_host_delay_s=0, fetch_retries=0, obey_robots=False)
        rt = Runtime.load(settings)
        rt.init_database()

        async def poll() -> object:
            async with rt.network():
                return await poll_source(rt, rt.sources["papers"], force=True)

        report = asyncio.run(poll())
        with store.transaction(rt.engine) as session:
            log = queries.change_log(session)
        rt.engine.dispose()
    assert report.documents == 1  # type: ignore[attr-defined]
    assert report.error == (  # type: ignore[attr-defined]
        f"{server.url('/scan.pdf')}: PDF of 2 pages has no text layer (a scanned "
        "document?): nothing to read")
    [fund] = [e for e in log if e.fact_key == "smart-production-line-matching-fund"]
    assert fund.evidence.startswith("[p. 2] Members are invited to approve a new commitment")
    assert fund.after["amount_hkd"] == 1_200_000_000
