"""A trickling (slowloris) server costs its own poll the total timeout, once, and nothing
to the polls of other hosts.

Real parts: two local servers (two hosts: watcher's politeness is per host, and a port
makes another one), a SQLite file, the runtime and pipeline as the daemon runs them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.helpers.http_server import LocalServer, Reply
from watcher.pipeline import poll_source
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings

TOTAL_S = 2.0  # long enough for the healthy poll on a busy 2-core machine
HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = (b"<html><head><title>Government launches Industry Upgrading Matching Fund</title>"
        b"</head><body><p>The Industry Upgrading Matching Fund, a HK$500 million fund, opens "
        b"today.</p></body></html>")


def test_a_slowloris_host_fails_after_the_total_timeout_and_others_go_on(
        tmp_path: Path) -> None:
    # 600 bytes a byte every 0.05 s: 30 s, far beyond the total timeout; each byte comes
    # well within the read timeout, so only the total bounds it.
    slow_reply = Reply(200, HTML, PAGE + b" " * (600 - len(PAGE)), trickle_s=0.05)
    with LocalServer({"/p.htm": slow_reply}) as slow, \
            LocalServer({"/p.htm": Reply(200, HTML, PAGE)}) as healthy:
        sources = tmp_path / "sources"
        sources.mkdir()
        for name, server in (("slow", slow), ("healthy", healthy)):
            (sources / f"{name}.yaml").write_text(
                f"name: {name}\nkind: html\nurl: {server.url('/p.htm')}\ninterval: 1h\n")
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                            sources_dir=sources, rules_dir=Path("rules").resolve(), notify="",
                            per_host_delay_s=0, obey_robots=False, fetch_retries=2,
                            read_timeout_s=5.0, total_timeout_s=TOTAL_S)
        rt = Runtime.load(settings)
        rt.init_database()
        finished: dict[str, float] = {}

        async def poll(name: str, started: float) -> str | None:
            report = await poll_source(rt, rt.sources[name], force=True)
            finished[name] = time.monotonic() - started
            return report.error

        async def cycle() -> dict[str, str | None]:
            async with rt.network():
                started = time.monotonic()
                errors = await asyncio.gather(poll("slow", started), poll("healthy", started))
                return dict(zip(("slow", "healthy"), errors, strict=True))

        try:
            errors = asyncio.run(cycle())
        finally:
            rt.engine.dispose()

    assert errors["healthy"] is None and finished["healthy"] < TOTAL_S
    assert errors["slow"] == f"{slow.url('/p.htm')}: timed out after 2s in all"
    # Given up once: three attempts (two retries) would take three times as long.
    assert TOTAL_S <= finished["slow"] < 2 * TOTAL_S, finished
    assert slow.hits["/p.htm"] == 1
