"""A fact found in a PDF carries its page: in the alert's evidence, on the change page
(the sentence highlighted in its page's text, "page 2" beside it) and in the link to the
paper (opened at that page). Real parts: a loopback server serving the built FC paper,
the real pipeline and rules, a SQLite file, the web app."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from tests.helpers.http_server import LocalServer, Reply
from watcher import store
from watcher.pipeline import poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import outbox, queries
from watcher.web import create_app

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "tests/fixtures/sources/legco/yr24-25/english/fc/fc/papers/f24-31e.pdf"
SENTENCE = ("Members are invited to approve a new commitment of $1,200 million for the "
            "Smart Production Line Matching Fund.")


def test_the_page_of_a_pdf_fact_shows_in_the_alert_and_on_the_web(tmp_path: Path) -> None:
    listing = b"<table><tr><td><a href='/f24-31e.pdf'>FCR(2024-25)31</a></td></tr></table>"
    with LocalServer({"/papers": Reply(200, {"Content-Type": "text/html"}, listing),
                      "/f24-31e.pdf": Reply(200, {"Content-Type": "application/pdf"},
                                            PAPER.read_bytes())}) as server:
        sources = tmp_path / "sources"
        sources.mkdir()
        (sources / "papers.yaml").write_text(
            f"name: fc-papers\nkind: html\nurl: {server.url('/papers')}\n"
            "items: \"a[href$='.pdf']\"\nfollow: {}\n")
        rt = Runtime.load(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                                   sources_dir=sources, rules_dir=REPO / "rules", notify="",
                                   per_host_delay_s=0, fetch_retries=0, obey_robots=False))
        rt.init_database()

        async def poll() -> None:
            async with rt.network():
                await poll_source(rt, rt.sources["fc-papers"], force=True)

        asyncio.run(poll())
        paper_url = server.url("/f24-31e.pdf")
    with store.transaction(rt.engine) as session:
        [change] = [e for e in queries.change_log(session)
                    if e.fact_key == "smart-production-line-matching-fund"]
        bodies = [d.body for d in outbox.listing(session) if d.change_id == change.id]
    assert change.evidence == f"[p. 2] {SENTENCE}"
    assert bodies and all(f"[p. 2] {SENTENCE}" in body for body in bodies)

    with TestClient(create_app(rt.engine)) as client:
        page = BeautifulSoup(client.get(f"/changes/{change.id}").text, "lxml")
    rt.engine.dispose()
    assert page.select_one("mark#evidence").get_text() == SENTENCE
    assert "PROPOSAL" in page.select_one("p.context").get_text()  # its page's text around
    source_line = " ".join(page.select_one("p.context").find_next("p").get_text().split())
    assert source_line == "From FCR(2024-25)31, page 2, as watcher read it."
    assert page.select_one("a.source-link")["href"] == f"{paper_url}#page=2"
