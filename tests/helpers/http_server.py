"""A real HTTP server on 127.0.0.1 for tests: routes you can change between requests.

    with LocalServer({"/feed.xml": (200, {"Content-Type": "application/rss+xml"}, body)}) as s:
        s.url("/feed.xml")          # http://127.0.0.1:<port>/feed.xml
        s.routes["/x"] = Reply(503) # change what the next request sees
        s.hits["/feed.xml"]         # requests served per path
        s.max_concurrent            # most requests in flight at once (all paths)
        s.requests                  # each request seen: method, path, headers, arrival time

A route is a ``(status, headers, body)`` tuple, a :class:`Reply` (which can also be slow,
trickle its body, be huge, or be held until the test opens its ``gate``), or a list of
those served in turn (the last one repeats), e.g. ``[Reply(503), Reply(200, body=b"ok")]``
for retry tests. Replies carrying an ``ETag`` or ``Last-Modified`` header answer matching
``If-None-Match`` / ``If-Modified-Since`` with 304. Unknown paths get 404. Routes match the
path without its query, unless a route names the exact path and query
(``"/page.php?id=7"``). Use it as a context manager or through :func:`serve`.

watcher refuses loopback addresses unless allowed: tests allow ``LOOPBACK_ALLOW``
(tests/conftest.py sets WATCHER_FETCH_ALLOW to it; ``child_env()`` for child processes).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_CHUNK = 64 * 1024
# What tests allow watcher to fetch (WATCHER_FETCH_ALLOW): these servers' addresses.
LOOPBACK_ALLOW = "127.0.0.0/8,::1"


def child_env() -> dict[str, str]:
    """The environment of a watcher child process: this one without its WATCHER_ settings
    (each test names its own), with the loopback servers allowed."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")},
            "WATCHER_FETCH_ALLOW": LOOPBACK_ALLOW}


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0  # wait before the status line (a slow server)
    huge_bytes: int = 0  # instead of body: stream this many b"a" bytes, never held in memory
    send_length: bool = True  # False: no Content-Length, the body ends when the socket closes
    trickle_s: float = 0.0  # send the body a byte at a time, this long apart (slowloris)
    # Held until the test sets it (or the server stops): a request the test decides when
    # to answer, e.g. to act while a poll waits for it.
    gate: threading.Event | None = None


Route = Reply | tuple[int, dict[str, str], bytes] | list[Any]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names in Title-Case: "If-None-Match"
    at: float = field(default_factory=time.monotonic)  # when the request arrived


class LocalServer:
    """``host``: another loopback address (127.0.0.2) plays another machine."""

    def __init__(self, routes: dict[str, Route] | None = None, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.host = host
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping in a slow reply
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # called from handler threads
    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            route = self.routes.get(path)
            if isinstance(route, list):
                current = route.pop(0) if len(route) > 1 else route[0]
                return _as_reply(current)
            return None if route is None else _as_reply(route)

    def _enter(self, seen: Seen) -> None:
        with self._lock:
            self.hits[seen.path] += 1
            self.requests.append(seen)
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


@contextmanager
def serve(routes: dict[str, Route] | None = None) -> Iterator[LocalServer]:
    """Context manager for a started server; wrap in a pytest fixture with ``yield``."""
    with LocalServer(routes) as server:
        yield server


def _as_reply(route: Any) -> Reply:
    if isinstance(route, Reply):
        return route
    status, headers, body = route
    return Reply(status=status, headers=dict(headers), body=body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LocalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client dropping a kept-alive connection is normal (timeouts, closed clients).
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        # A route may name a query too ("/page.php?id=7"); that exact route wins.
        if "?" in self.path and self.path in owner.routes:
            path = self.path
        # Header names are case-insensitive; clients differ (httpx2 sends them lower-case).
        owner._enter(Seen("GET", path, {k.title(): v for k, v in self.headers.items()}))
        try:
            self._answer(owner, path)
        except ConnectionError:
            pass  # the client gave up (a timeout test); nothing to tell it
        finally:
            owner._leave()

    def _answer(self, owner: LocalServer, path: str) -> None:
        reply = owner._next_reply(path)
        if reply is None:
            reply = Reply(404, {"Content-Type": "text/plain"}, b"not found")
        if reply.delay_s and owner._stop.wait(reply.delay_s):
            return
        while reply.gate is not None and not reply.gate.wait(0.05):
            if owner._stop.is_set():
                return
        if reply.status == 200 and _not_modified(self.headers, reply.headers):
            self.send_response(304)
            for name in ("ETag", "Last-Modified"):
                if name in reply.headers:
                    self.send_header(name, reply.headers[name])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        size = reply.huge_bytes or len(reply.body)
        if reply.send_length:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if reply.trickle_s:
            for k in range(len(reply.body)):  # bounded by the body, and by stop()
                self.wfile.write(reply.body[k:k + 1])
                self.wfile.flush()
                if owner._stop.wait(reply.trickle_s):
                    return
            return
        if not reply.huge_bytes:
            self.wfile.write(reply.body)
            return
        chunk = b"a" * _CHUNK
        sent = 0
        while sent < size and not owner._stop.is_set():
            piece = chunk[: min(_CHUNK, size - sent)]
            self.wfile.write(piece)
            sent += len(piece)


def _not_modified(request: Any, headers: dict[str, str]) -> bool:
    etag = headers.get("ETag")
    if etag and request.get("If-None-Match"):
        candidates = [tag.strip() for tag in request["If-None-Match"].split(",")]
        return etag in candidates or "*" in candidates
    last_modified = headers.get("Last-Modified")
    since = request.get("If-Modified-Since")
    if last_modified and since:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False
