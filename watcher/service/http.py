"""The daemon's own HTTP endpoint (``watcher run --http HOST:PORT``): ``/healthz`` for
supervisors and load balancers, ``/metrics`` for Prometheus, and the read-only web pages
(``watcher.web``) under ``/`` when they may be served.

uvicorn runs inside the daemon's event loop, so there is one process, one loop and one
database engine. The daemon owns the signals: uvicorn's own SIGINT/SIGTERM capture is
switched off and the daemon stops the server when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass

import uvicorn
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from watcher import store
from watcher.service.observe import CONTENT_TYPE, Metrics
from watcher.store import outbox
from watcher.store.timeutil import utcnow

log = logging.getLogger("watcher.http")

HEALTH_TIMEOUT_S = 3.0  # a database slower than this to take a write counts as down


@dataclass(frozen=True)
class Health:
    scheduler: bool
    database: str  # "ok" or the error's class name (never its text: it may hold a URL)
    unstored: tuple[str, ...] = ()  # sources whose last poll could not be stored

    @property
    def ok(self) -> bool:
        return self.scheduler and self.database == "ok" and not self.unstored


def parse_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9108"``, ``"[::1]:9108"`` or ``"localhost:0"`` -> (host, port)."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"--http {text!r}: give HOST:PORT, e.g. 127.0.0.1:9108")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """Listen before the daemon starts, so a taken port fails at once with a clear error."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def socket_address(sock: socket.socket) -> str:
    """``host:port`` of a bound socket (the real port when 0 was asked for)."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_database(engine: Engine) -> str:
    """"ok" when the database takes a committed write: a read-only or full database
    answers SELECT 1 while every poll fails to store."""
    try:
        store.check_writable(engine, utcnow())
    except Exception as exc:  # any failure to answer is "down", whatever its type
        return exc.__class__.__name__
    return "ok"


def _outbox_depth(engine: Engine) -> dict[str, int]:
    with store.transaction(engine) as session:
        return outbox.depth(session)


def create_http_app(engine: Engine, metrics: Metrics,
                    scheduler_running: Callable[[], bool],
                    web: ASGIApp | None = None,
                    unstored: Callable[[], list[str]] = list) -> Starlette:
    """``/healthz`` and ``/metrics``, and ``web`` (the read-only pages) under ``/``.
    ``unstored`` names the sources whose last poll could not be stored (a retry is due):
    the daemon is not healthy until it has stored what it fetched."""

    async def health() -> Health:
        try:
            database = await asyncio.wait_for(asyncio.to_thread(check_database, engine),
                                              HEALTH_TIMEOUT_S)
        except TimeoutError:
            database = "TimeoutError"
        return Health(scheduler=scheduler_running(), database=database,
                      unstored=tuple(unstored()))

    async def healthz(request: Request) -> Response:
        state = await health()
        body: dict[str, object] = {
            "status": "ok" if state.ok else "unavailable",
            "scheduler": "running" if state.scheduler else "stopped",
            "database": state.database}
        if state.unstored:
            body["unstored_polls"] = list(state.unstored)
        return JSONResponse(body, status_code=200 if state.ok else 503)

    async def metrics_page(request: Request) -> Response:
        # The outbox is shared by all replicas: read its depth when asked, not per send.
        try:
            depth = await asyncio.wait_for(asyncio.to_thread(_outbox_depth, engine),
                                           HEALTH_TIMEOUT_S)
            metrics.set_outbox_depth(depth)
        except Exception as exc:  # /metrics still answers while the database is down
            log.warning("outbox depth unavailable: %s", exc.__class__.__name__)
        metrics.up.set(1 if scheduler_running() else 0)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics_page)]
    if web is not None:
        routes.append(Mount("/", app=web))
    return Starlette(routes=routes)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the daemon handles SIGTERM/SIGINT/SIGHUP and stops us itself


class HttpServer:
    """uvicorn on an already bound socket, as a task of the running loop."""

    def __init__(self, app: ASGIApp, sock: socket.socket, web: bool = False) -> None:
        config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        self.server = _Server(config)
        self.sock = sock
        self.web = web  # the web pages are served too (said in the start-up line)
        self.task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return socket_address(self.sock)

    def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        log.info("health http://%(a)s/healthz, metrics http://%(a)s/metrics%(web)s",
                 {"a": self.address, "web": f", web pages http://{self.address}/"
                  if self.web else ""})

    async def stop(self, timeout: float = 3.0) -> None:
        if self.task is None:
            return
        self.server.should_exit = True
        done, _ = await asyncio.wait({self.task}, timeout=timeout)
        if not done:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.sock.close()
