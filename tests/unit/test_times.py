"""Times keep their real instant from the page to the database, and people see them in
Hong Kong time (HKT) while machines get ISO 8601 with an offset (issue 18).

A feed date ``Wed, 16 Oct 2024 14:15:00 +0800`` and a GIA footer "Issued at HKT 14:15"
are both 2024-10-16T06:15:00Z; SQLite used to keep the wall clock and lose the offset
(stored 14:15, read back as 14:15 UTC). These tests poll real pages from a local server
with `watcher check`, on SQLite and PostgreSQL, and read them back through the CLI, the
JSON API and a web page.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.http_server import LOOPBACK_ALLOW, LocalServer, Reply
from watcher.display import hk_time, plural
from watcher.read.dates import find_gia_date, parse_date

INSTANT = datetime(2024, 10, 16, 6, 15, tzinfo=UTC)
FEED_DATE = "Wed, 16 Oct 2024 14:15:00 +0800"

FOOTER_PAGE = """<html><head><title>Release</title></head><body>
<span id="PRHeadlineSpan">Government launches Alpha Innovation Fund</span>
<span id="pressrelease">The Government today announced the launch of the Alpha Innovation
Fund, a HK$500 million fund that will subsidise manufacturers on a 1:1 matching basis.
<br>Ends/Wednesday, October 16, 2024<br>Issued at HKT 14:15</span></body></html>"""

PLAIN_PAGE = """<html><head><title>Release</title></head><body>
<span id="PRHeadlineSpan">Government launches Beta Innovation Fund</span>
<span id="pressrelease">The Government today announced the launch of the Beta Innovation
Fund, a HK$300 million fund that will subsidise manufacturers on a 1:1 matching basis.
</span></body></html>"""


def feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>{name}</title><link>{base}/{name}.htm</link>"
        f"<pubDate>{FEED_DATE}</pubDate></item>" for name in ("alpha", "beta"))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>GIA</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
            ).encode()


def test_the_readers_keep_the_offset() -> None:
    assert parse_date(FEED_DATE) == INSTANT
    assert find_gia_date("Ends/Wednesday, October 16, 2024\nIssued at HKT 14:15") == INSTANT
    assert find_gia_date("完\n2024年10月16日（星期三）\n香港時間14時15分") == INSTANT
    assert parse_date("2024-10-16T14:15:00+08:00") == INSTANT
    assert parse_date("2024-10-16 14:15") == INSTANT  # no offset: Hong Kong time


def test_people_see_hong_kong_time() -> None:
    assert hk_time(INSTANT) == "2024-10-16 14:15 HKT"
    assert hk_time(INSTANT.replace(tzinfo=None)) == "2024-10-16 14:15 HKT"  # naive = UTC
    assert hk_time(datetime(2024, 10, 16, 20, 0, tzinfo=UTC), with_time=False) == "2024-10-17"
    assert hk_time(None) == "-"
    assert [plural(1, "test"), plural(2, "test"), plural(1, "delivery", "deliveries"),
            plural(0, "delivery", "deliveries")] == [
        "1 test", "2 tests", "1 delivery", "0 deliveries"]


@pytest.fixture
def polled(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A feed of two releases polled with `watcher check`: alpha's page has the GIA
    footer, beta's has none (its feed date counts)."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("WATCHER_")]:
        monkeypatch.delenv(name)
    sources = tmp_path / "sources"
    sources.mkdir()
    for name, value in (("DATABASE_URL", database_url), ("SOURCES_DIR", str(sources)),
                        ("PID_FILE", str(tmp_path / "watcher.pid")), ("FETCH_RETRIES", "0"),
                        ("OBEY_ROBOTS", "false"), ("PER_HOST_DELAY_S", "0"),
                        ("FETCH_ALLOW", LOOPBACK_ALLOW)):
        monkeypatch.setenv(f"WATCHER_{name}", value)
    html = {"Content-Type": "text/html; charset=utf-8"}
    with LocalServer() as site:
        site.routes["/rss.xml"] = Reply(200, {"Content-Type": "application/rss+xml"},
                                        feed(site.base_url))
        site.routes["/alpha.htm"] = Reply(200, html, FOOTER_PAGE.encode())
        site.routes["/beta.htm"] = Reply(200, html, PLAIN_PAGE.encode())
        (sources / "gia.yaml").write_text(
            f"name: gia-test\nkind: rss\nurl: {site.url('/rss.xml')}\ninterval: 1h\n"
            "follow:\n  title: 'span#PRHeadlineSpan'\n  body: 'span#pressrelease'\n")
        result = invoke("check")
    assert result.exit_code == 0, result.output
    return database_url


def test_a_feed_date_and_a_gia_footer_keep_their_instant(polled: str) -> None:
    result = invoke("log", "--json")
    assert result.exit_code == 0, result.output
    published = {d["url"].rsplit("/", 1)[1]: d["published_at"]
                 for entry in json.loads(result.stdout) for d in entry["sources"]}
    assert published == {"alpha.htm": "2024-10-16T06:15:00+00:00",
                         "beta.htm": "2024-10-16T06:15:00+00:00"}


def test_the_cli_shows_hkt_and_json_keeps_the_offset(polled: str) -> None:
    entries = json.loads(invoke("log", "--json").stdout)
    detected = datetime.fromisoformat(entries[0]["detected_at"])
    assert detected.utcoffset() is not None  # ISO 8601 with its offset
    table = invoke("log")
    assert hk_time(detected) in table.stdout
    shown = invoke("show", str(entries[0]["id"]))
    assert f"detected: {hk_time(detected)}" in shown.stdout


def test_the_web_pages_show_hkt_and_the_api_iso(polled: str) -> None:
    from fastapi.testclient import TestClient

    from watcher import store
    from watcher.web import create_app

    engine = store.make_engine(polled)
    try:
        with TestClient(create_app(engine)) as client:
            changes = client.get("/api/changes").json()
            change = changes["items"][0] if isinstance(changes, dict) else changes[0]
            detected = datetime.fromisoformat(change["detected_at"])
            assert detected.utcoffset() is not None
            page = client.get(f"/changes/{change['id']}").text
            assert hk_time(detected) in page
            assert "published 2024-10-16" in page
            assert "Times are Hong Kong time (HKT)" in page
    finally:
        engine.dispose()
