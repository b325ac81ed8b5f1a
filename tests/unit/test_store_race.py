"""Two polls that report the same news at the same moment store it once.

A chunk reads what the store knows (is this change new?), decides, then writes. Two polls
side by side (two sources, or two replicas) used to both decide "new": on PostgreSQL the
second insert broke change.identity's uniqueness and failed its poll. Chunks now take the
database's write turn first (watcher.store.serialize_writes). Here the two chunks are made
to meet: each waits, after reading, for the other to have read too; with the write turn,
the second cannot read before the first has committed, so the wait times out instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.helpers.http_server import LocalServer, Reply
from watcher import pipeline
from watcher.fetch.poll import PollReport
from watcher.pipeline import poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings

PAGE = (b'<html><body><span id="PRHeadlineSpan">Government launches Pilot Fund</span>'
        b'<span id="pressrelease">The Government today launched the New Industrialisation '
        b"Pilot Fund with HK$800 million to support companies that set up production lines "
        b"in Hong Kong.</span></body></html>")


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        for name in ("one", "two"):  # the same release, at two addresses
            server.routes[f"/{name}.htm"] = Reply(
                200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)
        yield server


def test_the_same_change_from_two_polls_at_once_is_stored_once(
        tmp_path: Path, site: LocalServer, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    for name in ("one", "two"):
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nkind: html\nurl: {site.url(f'/{name}.htm')}\ninterval: 15m\n"
            'page:\n  title: "span#PRHeadlineSpan"\n  body: "span#pressrelease"\n')
    rt = Runtime.load(Settings(
        database_url=database_url, sources_dir=folder, rules_dir=Path("rules").resolve(),
        notify="", per_host_delay_s=0, per_host_concurrency=4, obey_robots=False,
        fetch_retries=0))
    rt.init_database()

    both_read = threading.Barrier(2, timeout=1.0)
    opened = pipeline._open_writer

    def open_then_meet(*args: Any) -> Any:
        writer = opened(*args)  # the chunk has read what the store knows
        # A broken barrier: the other chunk could not read yet, it waits for this turn.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return writer

    monkeypatch.setattr(pipeline, "_open_writer", open_then_meet)

    async def poll_both() -> list[PollReport]:
        async with rt.network():
            return await asyncio.gather(*(poll_source(rt, source, force=True)
                                          for source in rt.sources.values()))

    reports = asyncio.run(poll_both())
    assert [r.error for r in reports] == [None, None]
    assert sorted(r.changes for r in reports) == [0, 1]  # new once, seen again once
    with rt.engine.connect() as connection:
        changes = connection.execute(text(
            "SELECT id FROM change WHERE fact_key LIKE '%pilot-fund%'")).scalars().all()
        assert len(changes) == 1, changes
        links = connection.execute(text(
            "SELECT count(*) FROM change_document WHERE change_id = :id"),
            {"id": changes[0]}).scalar_one()
    assert links == 2  # both pages are sources of the one change
    rt.engine.dispose()
