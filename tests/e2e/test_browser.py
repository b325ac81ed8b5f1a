"""A real browser on the change log: Debian's Chromium, driven by Playwright, against
uvicorn serving the app on 127.0.0.1, over a SQLite file filled through the store.

It loads the change log, filters it, opens a change, follows the evidence link to the
press release (served by a local HTTP server), and saves a screenshot; and it clicks a
change's "This is wrong" button and sees the change dismissed and its fact put back. Set
WATCHER_SCREENSHOT=docs/screenshot-changelog.png to also write the README's picture.
Without /usr/bin/chromium it is skipped, saying how to install it; under CI (CI=true) that
is a failure (tests/helpers/browser.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, sync_playwright

from tests.helpers.browser import CHROMIUM, missing_browser
from tests.helpers.http_server import LocalServer
from tests.helpers.web_data import page_bodies, populate
from tests.helpers.web_server import serve_app
from watcher import store
from watcher.web import create_app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = missing_browser(os.environ, CHROMIUM)
    if missing is not None and missing.fail:
        pytest.fail(missing.reason)
    if missing is not None:
        pytest.skip(missing.reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_browse_filter_open_and_follow_the_evidence(browser: Browser, tmp_path: Path) -> None:
    pages = {path: (200, {"Content-Type": "text/html; charset=utf-8"}, body)
             for path, body in page_bodies().items()}
    engine = store.make_engine(f"sqlite:///{tmp_path / 'watcher.db'}")
    store.migrate(engine)
    with LocalServer(pages) as site:
        ids = populate(engine, page_base=site.base_url)
        with serve_app(create_app(engine)) as base:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)  # bounded: a hang fails, never waits forever
            refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
            page.on("console", lambda message: refused.append(message.text)
                    if "Content Security Policy" in message.text else None)
            page.goto(base + "/")
            assert page.locator("table.changes tbody tr").count() == len(ids)
            # The policy lets the page's own style in: the header is its dark blue.
            assert page.evaluate("getComputedStyle(document.querySelector('header'))"
                                 ".backgroundColor") == "rgb(23, 50, 77)"
            if os.environ.get("WATCHER_SCREENSHOT"):
                page.screenshot(path=os.environ["WATCHER_SCREENSHOT"], full_page=True)

            page.select_option("select[name=kind]", "facility")
            page.fill("input[name=q]", "InnoPark")
            page.click("button[type=submit]")
            page.wait_for_url("**/?*kind=facility*")
            links = page.locator("a.change-link")
            assert links.count() == 2
            assert "Microelectronics Centre" in page.locator("table.changes").inner_text()

            page.click("a.change-link >> text=Microelectronics Centre")
            page.wait_for_url(f"**/changes/{ids['mec-opened']}")
            assert "planned -> opened" in page.locator("h1").inner_text()
            assert "commenced operation today" in page.locator("mark#evidence").inner_text()
            shot = tmp_path / "change.png"
            page.screenshot(path=str(shot), full_page=True)

            assert refused == [], refused
            page.click("a.source-link")
            page.wait_for_url(f"{site.base_url}/itf/en/news/mec-opening.html*")
            assert "commenced operation today" in page.locator("#evidence").inner_text()
            assert site.hits["/itf/en/news/mec-opening.html"] == 1
            page.close()
    engine.dispose()
    data = shot.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000


def test_api_docs_render_with_the_network_off(browser: Browser, tmp_path: Path) -> None:
    """Swagger UI's files come from the installed package: every request the page makes
    goes to the local server, and anything else (a CDN) is refused, as offline."""
    engine = store.make_engine(f"sqlite:///{tmp_path / 'watcher.db'}")
    store.migrate(engine)
    outside: list[str] = []
    with serve_app(create_app(engine)) as base:
        page = browser.new_page()
        page.set_default_timeout(15_000)

        def local_only(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort("internetdisconnected")

        page.route("**/*", local_only)
        refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(base + "/api/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "watcher" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector(".opblock-summary-path")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/changes" in paths, paths
        shot = tmp_path / "docs.png"
        page.screenshot(path=str(shot), full_page=True)
        page.close()
    engine.dispose()
    assert outside == []
    assert refused == [], refused
    assert shot.read_bytes().startswith(PNG)


def test_this_is_wrong_button_dismisses_the_change(browser: Browser, tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'watcher.db'}")
    store.migrate(engine)
    ids = populate(engine)
    with serve_app(create_app(engine)) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        page.goto(f"{base}/changes/{ids['mec-opened']}")
        assert page.locator("#dismissed").count() == 0
        page.fill("form.dismiss input[name=reason]", "the centre opened a year later")
        page.click("#dismiss")
        page.wait_for_url(f"**/changes/{ids['mec-opened']}#dismissed")
        banner = page.locator("#dismissed").inner_text()
        assert "Dismissed" in banner and "the centre opened a year later" in banner
        assert page.locator("h1 .t-dismissed").inner_text() == "dismissed"
        assert page.locator("form.dismiss").count() == 0
        # The fact is back to what it was before the change, and the log says so.
        page.goto(f"{base}/facts/microelectronics-centre")
        assert "planned" in page.locator("dl.facts").inner_text()
        page.goto(f"{base}/")
        row = page.locator("table.changes tbody tr", has_text="Microelectronics Centre")
        assert "dismissed" in row.inner_text()
        page.close()
    engine.dispose()
