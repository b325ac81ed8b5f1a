"""http: /healthz and /metrics on a real uvicorn server on 127.0.0.1, run in the test's
own event loop as the daemon runs it; the web pages mounted beside them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy.engine import Engine
from starlette.responses import PlainTextResponse

from watcher import store
from watcher.service.http import HttpServer, bind, create_http_app, is_loopback, parse_address
from watcher.service.observe import Metrics
from watcher.store import outbox
from watcher.store.timeutil import utcnow

Check = Callable[[httpx2.AsyncClient], Awaitable[None]]


def serve(engine: Engine, metrics: Metrics, running: bool, check: Check,
          web: Any = None, unstored: tuple[str, ...] = ()) -> None:
    async def scenario() -> None:
        server = HttpServer(create_http_app(engine, metrics, lambda: running, web,
                                            lambda: list(unstored)),
                            bind("127.0.0.1", 0))
        server.start()
        try:
            async with httpx2.AsyncClient(base_url=f"http://{server.address}",
                                         timeout=10) as client:
                await check(client)
        finally:
            await server.stop()

    asyncio.run(scenario())


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    store.migrate(engine)
    yield engine
    engine.dispose()


def test_healthy_when_the_scheduler_runs_and_the_database_answers(engine: Engine) -> None:
    async def check(client: httpx2.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "scheduler": "running", "database": "ok"}

    serve(engine, Metrics(), True, check)


def test_unhealthy_when_the_scheduler_stopped(engine: Engine) -> None:
    async def check(client: httpx2.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["scheduler"] == "stopped"

    serve(engine, Metrics(), False, check)


def test_unhealthy_when_the_database_does_not_answer() -> None:
    # Nothing listens on port 1: the connection is refused at once.
    dead = store.make_engine("postgresql+psycopg://watcher:pw-not-shown@127.0.0.1:1/none")

    async def check(client: httpx2.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["database"] == "OperationalError"
        assert "pw-not-shown" not in response.text
        assert (await client.get("/metrics")).status_code == 200  # still answers

    serve(dead, Metrics(), True, check)


def test_unhealthy_when_the_database_answers_but_takes_no_write(tmp_path: Path,
                                                                engine: Engine) -> None:
    # The same file opened read-only: SELECT 1 answers, every write is refused. Before,
    # /healthz said ok while every poll failed to store.
    read_only = store.make_engine(f"sqlite:///file:{tmp_path / 'w.db'}?mode=ro&uri=true")
    store.ping(read_only)

    async def check(client: httpx2.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "scheduler": "running",
                                   "database": "OperationalError"}

    try:
        serve(read_only, Metrics(), True, check)
    finally:
        read_only.dispose()


def test_unhealthy_while_a_poll_waits_to_be_stored(engine: Engine) -> None:
    async def check(client: httpx2.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["unstored_polls"] == ["alpha"]
        assert response.json()["database"] == "ok"

    serve(engine, Metrics(), True, check, unstored=("alpha",))


def test_metrics_include_the_outbox_depth_read_at_scrape_time(engine: Engine) -> None:
    with store.transaction(engine) as session:
        outbox.enqueue(session, change_id=None, source_id=None, rule_id="r", target="t",
                       dedup_key="k1", subject="s", body="b", severity="info", now=utcnow())

    async def check(client: httpx2.AsyncClient) -> None:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert 'watcher_outbox_depth{status="pending"} 1.0' in response.text
        assert "watcher_scheduler_running 1.0" in response.text

    serve(engine, Metrics(), True, check)


def test_the_web_app_is_mounted_under_the_root(engine: Engine) -> None:
    async def web(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse(f"web {scope['path']}")(scope, receive, send)

    async def check(client: httpx2.AsyncClient) -> None:
        assert (await client.get("/changes")).text == "web /changes"
        assert (await client.get("/healthz")).status_code == 200  # not shadowed

    serve(engine, Metrics(), True, check, web)


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9108", ("127.0.0.1", 9108)),
    ("[::1]:9108", ("::1", 9108)),
    ("localhost:0", ("localhost", 0)),
    ("0.0.0.0:9108", ("0.0.0.0", 9108)),
])
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["9108", "127.0.0.1", "127.0.0.1:http", ":9108",
                                  "127.0.0.1:70000"])
def test_parse_address_refuses_what_is_not_host_port(text: str) -> None:
    with pytest.raises(ValueError, match=r"give HOST:PORT, e\.g\. 127\.0\.0\.1:9108"):
        parse_address(text)


def test_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_a_taken_port_fails_at_bind_time() -> None:
    first = bind("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            bind("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()
