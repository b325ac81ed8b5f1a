"""Backfill over an older GIA archive day (tests/fixtures/sources/gia-old/): the index
lists releases in div.leftBody and a release has no span#PRHeadlineSpan, its headline
opening the body span, underlined with asterisks. The headline must be the document's
title and appear once: not again at the top of its text.

Real parts: a loopback HTTP server, a SQLite file, the shipped gia sources, the real
backfill and pipeline."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from sqlmodel import select

from tests.helpers.catalogue import FIXTURES, Site
from tests.helpers.http_server import LocalServer
from watcher import store
from watcher.service.backfill import archive_sources, backfill
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store.tables import DocumentRow

REPO = Path(__file__).resolve().parents[2]
DAY = date(2016, 1, 15)
HEADLINE = ("S for IT's opening remarks at press conference on innovation and technology "
            "initiatives in 2016 Policy Address")


def test_backfill_of_the_older_layout_reads_the_headline_once(tmp_path: Path) -> None:
    site = Site.load(FIXTURES / "gia-old")
    with LocalServer() as server:
        site.serve(server)
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                            sources_dir=REPO / "sources", rules_dir=REPO / "rules",
                            notify="", per_host_delay_s=0, fetch_retries=0,
                            obey_robots=False)
        rt = Runtime.load(settings)
        rt.init_database()
        english = [s.model_copy(update={"url": server.url("/gia/general/today.htm")})
                   for s in archive_sources(rt.sources, "gia-daily-index-en")]

        async def go() -> object:
            async with rt.network():
                return await backfill(rt, english, DAY, DAY)

        report = asyncio.run(go())
        with store.transaction(rt.engine) as session:
            documents = list(session.exec(select(DocumentRow)))
        rt.engine.dispose()
    assert report.error is None and report.days == 1  # type: ignore[attr-defined]
    [document] = documents
    assert document.title == HEADLINE
    assert HEADLINE not in document.text and "****" not in document.text
    assert document.text.startswith("Following are the opening remarks by the Secretary")
    assert document.text.endswith("to improve our daily life.")  # footer and NNNN gone
    assert document.published_at is not None and document.published_at.date() == DAY
