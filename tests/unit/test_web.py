"""web pages: the change log and its filters, one change, facts, timelines, sources, the
token, and escaping of page text, over a database filled through the store's functions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.helpers.web_data import HOSTILE, STORIES, TARGET, populate
from watcher import store
from watcher.service.settings import Settings
from watcher.web import create_app


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("web") / "watcher.db"
    engine = store.make_engine(f"sqlite:///{path}")
    store.migrate(engine)
    engine.ids = populate(engine, hostile=True)  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as client:
        yield client


@pytest.fixture
def ids(engine: Engine) -> dict[str, int]:
    return engine.ids  # type: ignore[attr-defined,no-any-return]


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "lxml")


def change_links(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [a["href"] for a in soup(response).select("a.change-link")]


def test_change_log_lists_every_change_newest_first_with_links(client: TestClient,
                                                               ids: dict[str, int]) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = change_links(response)
    assert links[0] == f"/changes/{ids['hostile']}"  # detected last
    assert links[-1] == f"/changes/{ids['nias-launched']}"
    assert len(links) == len(STORIES) + 1
    text = soup(response).get_text(" ")
    assert "New Industrialisation Funding Scheme: amount HK$15 million -> HK$30 million" in text
    assert "Microelectronics Centre: status planned -> opened" in text


@pytest.mark.parametrize(("query", "expected"), [
    ("kind=facility", {"amc2-construction", "mec-opened", "innohk3"}),
    ("type=new", {"raise-plus", "frontier-fund", "hostile"}),
    ("kind=funding&type=changed", {"nias-launched", "nifs-raised"}),
    ("source=itf", {"amc2-construction", "mec-opened"}),
    ("source=gia-zh", set()),  # the Chinese twins are linked, not the change's own source
    ("q=microelectronics", {"mec-opened"}),
    ("q=YUEN+LONG", {"amc2-construction", "mec-opened"}),  # evidence, any case
    ("q=100%25", set()),  # % is a literal character, not a wildcard
    ("from=2025-05-08&to=2025-10-16", {"amc2-construction", "nifs-raised", "mec-opened"}),
    ("from=2026-01-01", {"frontier-fund", "innohk3", "hostile"}),
    ("kind=&type=&source=&q=&from=&to=", None),  # an empty form means no filter
])
def test_filters(client: TestClient, ids: dict[str, int], query: str,
                 expected: set[str] | None) -> None:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    wanted = set(ids) if expected is None else expected
    assert set(change_links(response)) == {f"/changes/{ids[name]}" for name in wanted}


@pytest.mark.parametrize(("query", "message"), [
    ("kind=money", "unknown kind 'money' (choose from: funding, facility, organisation, "
                   "figure)"),
    ("type=moved", "unknown type 'moved'"),
    ("from=2025-13-01", "from: '2025-13-01' is not a date (use YYYY-MM-DD)"),
    ("from=2026-01-02&to=2026-01-01", "from 2026-01-02 is after to 2026-01-01"),
    ("page=0", "page must be between 1 and"),
    ("page=x", "page: 'x' is not a number"),
])
def test_bad_filters_say_why_with_400(client: TestClient, query: str, message: str) -> None:
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert message in soup(response).select_one("[role=alert]").get_text()


def test_filter_form_keeps_the_chosen_values(client: TestClient) -> None:
    page = soup(client.get("/?kind=facility&q=centre&from=2025-01-01"))
    assert page.select_one("select[name=kind] option[selected]")["value"] == "facility"
    assert page.select_one("input[name=q]")["value"] == "centre"
    assert page.select_one("input[name=from]")["value"] == "2025-01-01"
    assert page.select_one("form.filters")["method"] == "get"  # works without JS


def test_pagination_links_carry_the_filters(engine: Engine) -> None:
    from watcher.web import pages

    original = pages.PAGE_SIZE
    pages.PAGE_SIZE = 2  # a small page so nine changes make five pages
    try:
        with TestClient(create_app(engine)) as client:
            first = client.get("/?kind=funding")
            older = soup(first).select_one("a[rel=next]")["href"]
            assert older == "?kind=funding&page=2"
            assert soup(first).select_one("a[rel=prev]") is None
            second = client.get("/" + older)
            assert not set(change_links(first)) & set(change_links(second))
            assert "Showing 3–4 of 5 changes" in soup(second).select_one("#count").get_text()
            assert soup(second).select_one("a[rel=prev]")["href"] == "?kind=funding"
            last = client.get("/?kind=funding&page=3")
            assert soup(last).select_one("a[rel=next]") is None
    finally:
        pages.PAGE_SIZE = original


def test_change_page_shows_before_after_evidence_sources_and_deliveries(
        client: TestClient, ids: dict[str, int]) -> None:
    response = client.get(f"/changes/{ids['nifs-raised']}")
    assert response.status_code == 200
    page = soup(response)
    row = [td.get_text(strip=True) for td in page.select("table.diff tbody td")]
    assert row == ["amount", "HK$15 million", "HK$30 million"]
    mark = page.select_one("mark#evidence")
    assert mark.get_text().startswith("The funding ceiling of the New Industrialisation")
    assert "The Government today announced the following." in mark.parent.get_text()
    link = page.select_one("a.source-link")
    assert link["href"].startswith("https://www.info.gov.hk/gia/general/202508/27/")
    assert "#:~:text=The%20funding%20ceiling" in link["href"]  # scrolls to the evidence
    delivery = [td.get_text(strip=True) for td in page.select("table.deliveries tbody td")]
    assert delivery[1:4] == ["funding-changed", TARGET, "dead"]
    assert "SMTP 550 mailbox unavailable" in delivery
    assert page.select_one("a[href='/facts/new-industrialisation-funding-scheme']")


def test_change_page_links_the_source_page_in_every_language(client: TestClient,
                                                             ids: dict[str, int]) -> None:
    page = soup(client.get(f"/changes/{ids['nias-launched']}"))
    links = {a["hreflang"]: a for a in page.select("a.source-link")}
    assert set(links) == {"en", "zh"}
    assert links["zh"].get_text() == "「新型工業加速計劃」接受申請"
    assert links["zh"]["href"].endswith("_zh.htm")  # no English text fragment on the twin
    assert "sent" in page.select_one("table.deliveries").get_text()


def test_missing_change_and_fact_are_404_pages(client: TestClient) -> None:
    assert client.get("/changes/999999").status_code == 404
    assert client.get(f"/changes/{2**70}").status_code == 404
    response = client.get("/facts/no-such-thing")
    assert response.status_code == 404
    assert "no-such-thing" in response.text


def test_markup_from_monitored_pages_renders_as_text(client: TestClient,
                                                     ids: dict[str, int]) -> None:
    for path in ("/", f"/changes/{ids['hostile']}", "/facts", "/facts/hostile-fund",
                 "/?q=alert"):
        response = client.get(path)
        assert response.status_code == 200
        assert HOSTILE not in response.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, path
        assert not [s for s in soup(response).find_all("script")], path
    page = soup(client.get(f"/changes/{ids['hostile']}"))
    assert HOSTILE in page.select_one("h1").get_text()  # shown, as text
    assert HOSTILE in page.select_one("a.source-link").get_text()


def test_facts_page_lists_baseline_and_present_values_with_charts(client: TestClient) -> None:
    page = soup(client.get("/facts"))
    rows = {tr.select_one("td a").get_text(): [td.get_text(" ", strip=True)
                                              for td in tr.select("td")]
            for tr in page.select("table.facts-list tbody tr")}
    assert rows["New Industrialisation Funding Scheme"][2:5] == [
        "HK$15 million, launched", "HK$30 million, launched", "1"]
    assert rows["Advanced Manufacturing Centre"][2:4] == ["existing", "unchanged"]
    assert rows["I&T Industry-Oriented Fund"][2] == "not in article"
    svgs = page.select("svg")
    assert len(svgs) == 2
    assert "2025-Q1" in svgs[0].get_text() and "under construction" in svgs[1].get_text()
    facilities = soup(client.get("/facts?kind=facility")).select("table.facts-list tbody tr")
    assert {tr.select_one("td a").get_text() for tr in facilities} == {
        "Advanced Manufacturing Centre", "Microelectronics Centre",
        "Second Advanced Manufacturing Centre", "Third InnoHK research cluster"}


def test_fact_timeline_shows_baseline_then_each_change(client: TestClient,
                                                       ids: dict[str, int]) -> None:
    page = soup(client.get("/facts/new-industrialisation-acceleration-scheme"))
    items = page.select("ol.timeline li")
    assert "Baseline" in items[0].get_text()
    assert "HK$10 billion, earmarked" in items[0].get_text()
    assert "has been earmarked" in items[0].select_one("blockquote").get_text()
    assert "2025-02-14 17:30 HKT" in items[1].get_text()  # 09:30 UTC, shown in HKT
    assert items[1].select_one(f"a[href='/changes/{ids['nias-launched']}']")
    assert "now open for applications" in items[1].select_one("blockquote").get_text()
    assert {a["hreflang"] for a in items[1].select("a.source-link")} == {"en", "zh"}


def test_sources_page_shows_health(client: TestClient) -> None:
    rows = {tr.select_one("strong").get_text(): tr.get_text(" ", strip=True)
            for tr in soup(client.get("/sources")).select("table.sources tbody tr")}
    assert set(rows) == {"gia-en", "gia-zh", "itf"}
    assert "ok" in rows["gia-en"]
    assert "failing" in rows["itf"] and "HTTP 503" in rows["itf"] and " 3 " in rows["itf"]


def test_only_http_links_become_links() -> None:
    from watcher.web.links import evidence_url, safe_url

    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,x") is None
    assert safe_url(" https://a.example/x ") == "https://a.example/x"
    assert evidence_url("javascript:alert(1)", "x") is None
    long = ("The funding ceiling of the scheme will be raised from HK$15 million to "
            "HK$30 million per enterprise, co-funded 1:2.")
    assert evidence_url("http://h/p#top", long) == (
        "http://h/p#top:~:text=The%20funding%20ceiling%20of%20the,"
        "million%20per%20enterprise%2C%20co%2Dfunded%201%3A2.")
    short = evidence_url("http://h/p", "A, B & C-D")
    assert short == "http://h/p#:~:text=A%2C%20B%20%26%20C%2DD"


TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine, token=TOKEN)) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/facts", "/feed.atom", "/api/changes",
                                  "/openapi.json", "/changes/1"])
def test_token_is_required_on_every_path(guarded: TestClient, path: str) -> None:
    guarded.cookies.clear()
    assert guarded.get(path).status_code == 401
    assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get(path, params={"token": "wrong"}).status_code == 401
    assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get(path, params={"token": TOKEN}).status_code == 200


def test_token_link_leaves_a_cookie_so_the_pages_links_work(guarded: TestClient) -> None:
    guarded.cookies.clear()
    first = guarded.get("/", params={"token": TOKEN})
    assert first.status_code == 200
    assert "httponly" in first.headers["set-cookie"].lower()
    assert guarded.get("/facts").status_code == 200  # no token in this URL
    assert TOKEN not in first.text  # never echoed into the page


@pytest.mark.parametrize(("url", "headers", "secure"), [
    ("http://testserver/", {}, False),
    ("https://testserver/", {}, True),
    ("http://testserver/", {"X-Forwarded-Proto": "https"}, True),  # behind a TLS proxy
])
def test_the_token_cookie_is_secure_over_https(guarded: TestClient, url: str,
                                               headers: dict[str, str], secure: bool) -> None:
    guarded.cookies.clear()
    response = guarded.get(url, params={"token": TOKEN}, headers=headers)
    assert response.status_code == 200
    attributes = {part.strip().lower() for part in response.headers["set-cookie"].split(";")}
    assert ("secure" in attributes) is secure
    assert {"httponly", "samesite=strict"} <= attributes


SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer"}


@pytest.mark.parametrize("path", ["/", "/facts", "/sources", "/changes/1", "/missing",
                                  "/feed.atom", "/api/changes", "/api/docs"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    if path != "/api/docs":  # Swagger UI runs its own script; the pages run none
        assert policy.startswith("default-src 'none'; style-src 'sha256-")
        assert "script-src" not in policy and "unsafe-inline" not in policy


def test_the_refused_answer_carries_them_too(guarded: TestClient) -> None:
    guarded.cookies.clear()
    refused = guarded.get("/")
    assert refused.status_code == 401
    assert refused.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in refused.headers["content-security-policy"]


def test_the_policy_allows_exactly_the_pages_own_style(client: TestClient) -> None:
    """The CSP names the hash of the inline <style> block as the browser receives it."""
    import base64
    import hashlib

    response = client.get("/")
    [style] = re.findall(r"<style>(.*?)</style>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["content-security-policy"]


def test_settings_give_the_database_and_the_token(tmp_path: Path, engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, web_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/").status_code == 401
        response = client.get("/api/sources", headers={"Authorization": f"Bearer {TOKEN}"})
        assert [s["name"] for s in response.json()] == ["gia-en", "gia-zh", "itf"]


def test_pages_on_sqlite_and_postgresql(database_url: str) -> None:
    engine = store.make_engine(database_url)
    try:
        store.migrate(engine)
        ids = populate(engine, hostile=True)
        with TestClient(create_app(engine)) as client:
            assert set(change_links(client.get("/?q=yuen+long&kind=facility"))) == {
                f"/changes/{ids['amc2-construction']}", f"/changes/{ids['mec-opened']}"}
            assert client.get("/?q=a%00b").status_code == 200  # NUL is not sent to PG
            assert client.get("/?from=2026-01-01").status_code == 200
            page = soup(client.get(f"/changes/{ids['nias-launched']}"))
            assert {a["hreflang"] for a in page.select("a.source-link")} == {"en", "zh"}
            assert re.search(r"HK\$10bn", client.get("/facts").text)
            assert client.get("/feed.atom").status_code == 200
            assert client.get("/sources").status_code == 200
    finally:
        engine.dispose()


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("192.0.2.7", False), ("example.org", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    from watcher.service.http import is_loopback

    assert is_loopback(host) is loopback


def test_serve_refuses_a_public_address_without_a_token(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from watcher.cli import app

    monkeypatch.delenv("WATCHER_WEB_TOKEN", raising=False)
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.chdir(tmp_path)  # no watcher.toml here
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0: set WATCHER_WEB_TOKEN" in result.output
    assert not (tmp_path / "w.db").exists()  # refused before touching anything


def test_state_text_reads_like_the_article() -> None:
    from watcher.web.views import state_text

    assert state_text(10_000_000_000, "earmarked") == "HK$10 billion, earmarked"
    assert state_text(None, None, {"value": "27", "unit": "percent"}) == "27%"
    assert state_text(None, "under_construction", {}) == "under construction"
    assert state_text(None, None) == "–"
