"""The only network reads: polite, conditional, size-capped HTTP GETs.

``Fetcher.fetch`` never raises for a network problem. Every failure comes back as a
``FetchResult`` with a one-line ``error`` ("timed out after 10s", "connection refused",
"HTTP 503"), converted here from aiohttp's exceptions, so callers never see aiohttp.

The client is aiohttp, not httpx (the design card's choice), because of a measurement:
on the benchmark's 1,000 conditional GETs to one loopback host, 16 at a time, httpx 0.28
spent 2.6-4.5 s of CPU (most of it in httpcore's per-request pool bookkeeping, which
walks every pooled connection) and aiohttp 3.14 0.32 s; 1,000 full 45 KB pages cost 3.3 s
against 0.8 s (bench/, 2-core EPYC VM). A warm cycle is almost only such requests.

Politeness lives in the fetcher because it is per host, across sources: at most
``per_host_concurrency`` requests in flight to one host, at least ``per_host_delay_s``
between their starts, and robots.txt read once per host and obeyed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import urlsplit
from urllib.request import getproxies
from urllib.robotparser import RobotFileParser

import aiohttp

from watcher.models import FetchResult
from watcher.service.settings import Settings

# The name its log lines have always carried (the module was watcher/fetch.py).
log = logging.getLogger("watcher.fetch")

T = TypeVar("T")
_ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 lets crawlers stop reading at 500 KiB
_CHUNK = 64 * 1024


def content_hash(body: bytes) -> str:
    """The hex sha256 of a response body; equal hashes mean an unchanged page."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    user_agent: str = "watcher"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 120.0  # a server trickling bytes cannot hold a poll forever
    max_body_bytes: int = 5 * 1024 * 1024
    per_host_delay_s: float = 3.0
    per_host_concurrency: int = 1
    retries: int = 2  # extra attempts after the first, on timeouts, connection errors, 5xx
    retry_base_delay_s: float = 1.0  # doubles each attempt
    obey_robots: bool = True

    def __post_init__(self) -> None:
        if self.per_host_concurrency < 1:
            raise ValueError("per_host_concurrency must be at least 1")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if self.retries < 0:
            raise ValueError("retries must not be negative")
        if min(self.connect_timeout_s, self.read_timeout_s, self.total_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
        if self.per_host_delay_s < 0 or self.retry_base_delay_s < 0:
            raise ValueError("delays must not be negative")


# How a request that never reached its server reads in a FetchResult's error (the
# messages of _convert below): `watcher check` tells "offline?" from sites failing.
UNREACHABLE = ("host name not found", "connection refused", "connection failed",
               "connect timed out")


def unreachable(error: str) -> bool:
    """Whether an error says the host was never reached (no DNS, refused, no route)."""
    return any(marker in error for marker in UNREACHABLE)


class _Failure(Exception):
    """One attempt failed; ``retry`` says whether another attempt may help."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry = retry


@dataclass
class _Host:
    """Per-host politeness state; lives as long as the Fetcher (no module globals)."""

    slots: asyncio.Semaphore
    pace: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    robots: RobotFileParser | None = None
    robots_read: bool = False


class Fetcher:
    """Fetches URLs politely through one aiohttp session (its connections are reused).
    Use as ``async with Fetcher(policy) as fetcher:``; one per process (or per poll)."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._hosts: dict[str, _Host] = {}
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(
            FetchPolicy(
                user_agent=settings.effective_user_agent,
                connect_timeout_s=settings.connect_timeout_s,
                read_timeout_s=settings.read_timeout_s,
                max_body_bytes=settings.max_body_bytes,
                per_host_delay_s=settings.per_host_delay_s,
                per_host_concurrency=settings.per_host_concurrency,
                retries=settings.fetch_retries,
                obey_robots=settings.obey_robots,
            ),
        )

    async def __aenter__(self) -> Fetcher:
        policy = self.policy
        self._session = aiohttp.ClientSession(
            # Politeness (per-host slots) bounds connections; a pool limit on top would
            # make a request wait for a connection and time out as if the host were slow.
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(
                total=None,  # the whole attempt is bounded by asyncio.timeout in _get
                sock_connect=policy.connect_timeout_s,
                sock_read=policy.read_timeout_s,
            ),
            headers={"User-Agent": policy.user_agent},
            # HTTP(S)_PROXY and NO_PROXY, as most clients do. Only when a proxy is set:
            # aiohttp then reads the environment and ~/.netrc again on every request
            # (a tenth of a warm cycle's CPU in py-spy).
            trust_env=bool(getproxies()),
            # Some official sites send long Set-Cookie or CSP headers; 8 KB is too tight.
            max_line_size=64 * 1024,
            max_field_size=64 * 1024,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("open the fetcher first: async with Fetcher(...)")
        return self._session

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        known_hash: str | None = None,
    ) -> FetchResult:
        started = time.monotonic()
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            return FetchResult(url=url, status=None, error=f"invalid URL: {exc}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return FetchResult(url=url, status=None, error="invalid URL: need http(s)://host/")
        origin = f"{parts.scheme}://{parts.netloc}"
        host = self._host(origin)
        if self.policy.obey_robots and not await self._allowed(host, origin, url):
            return FetchResult(url=url, status=None, error="disallowed by robots.txt")
        headers = {"User-Agent": self.policy.user_agent}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = await self._with_retries(host, url, headers)
        elapsed = time.monotonic() - started
        if result.ok and known_hash and content_hash(result.content) == known_hash:
            return replace(result, not_modified=True, elapsed_s=elapsed)
        return replace(result, elapsed_s=elapsed)

    # -- one URL, several attempts ------------------------------------------------------

    async def _with_retries(self, host: _Host, url: str, headers: dict[str, str]) -> FetchResult:
        attempt = 0
        while True:
            try:
                return await self._polite(host, lambda: self._get(url, headers))
            except _Failure as failure:
                if not failure.retry or attempt >= self.policy.retries:
                    return FetchResult(url=url, status=failure.status, error=failure.message)
                delay = self.policy.retry_base_delay_s * (2**attempt)
                log.info("retrying %s in %.2fs: %s", url, delay, failure.message)
                attempt += 1
                await asyncio.sleep(delay)

    async def _polite(self, host: _Host, request: Callable[[], Awaitable[T]]) -> T:
        async with host.slots:
            async with host.pace:
                wait = host.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_start = time.monotonic() + self.policy.per_host_delay_s
            return await request()

    async def _get(
        self, url: str, headers: dict[str, str], max_bytes: int | None = None
    ) -> FetchResult:
        """One attempt. Raises _Failure; returns a result for 2xx and 304 only."""
        policy = self.policy
        limit = max_bytes or policy.max_body_bytes
        deadline = asyncio.timeout(policy.total_timeout_s)
        try:
            async with deadline, self.session.get(url, headers=headers) as response:
                return await _read(url, response, limit)
        except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's timeouts are both
            raise _convert(exc, policy) from exc
        except TimeoutError as exc:
            if deadline.expired():
                message = f"timed out after {policy.total_timeout_s:g}s in all"
                raise _Failure(message, retry=True) from exc
            raise _Failure(f"timed out after {policy.read_timeout_s:g}s", retry=True) from exc
        except ValueError as exc:  # yarl refuses a URL it cannot represent
            raise _Failure(f"invalid URL: {exc}", retry=False) from exc
        except OSError as exc:
            raise _Failure(f"connection failed: {exc.strerror or exc}", retry=True) from exc

    # -- robots.txt -----------------------------------------------------------------------

    async def _allowed(self, host: _Host, origin: str, url: str) -> bool:
        async with host.robots_lock:  # concurrent fetches to a new host read it once
            if not host.robots_read:
                host.robots = await self._read_robots(host, origin)
                host.robots_read = True
        return host.robots is None or host.robots.can_fetch(self.policy.user_agent, url)

    async def _read_robots(self, host: _Host, origin: str) -> RobotFileParser | None:
        """The host's rules, or None to allow everything."""
        robots_url = f"{origin}/robots.txt"
        headers = {"User-Agent": self.policy.user_agent}
        try:
            result = await self._polite(
                host, lambda: self._get(robots_url, headers, _ROBOTS_MAX_BYTES)
            )
        except _Failure as failure:
            if failure.status is not None and 400 <= failure.status < 500:
                return None  # no robots.txt: everything is allowed (RFC 9309 2.3.1.3)
            log.warning("robots.txt of %s unreadable (%s); allowing", origin, failure.message)
            return None
        parser = RobotFileParser(robots_url)
        parser.parse(result.content.decode("utf-8", errors="replace").splitlines())
        return parser

    def _host(self, origin: str) -> _Host:
        if origin not in self._hosts:
            self._hosts[origin] = _Host(asyncio.Semaphore(self.policy.per_host_concurrency))
        return self._hosts[origin]


async def _read(url: str, response: aiohttp.ClientResponse, limit: int) -> FetchResult:
    status = response.status
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if status == 304:
        # Read the (empty) body to its end: a response closed unread costs its
        # keep-alive connection, and a new connection (a TLS handshake) per 304.
        await response.read()
        return FetchResult(url=url, status=304, not_modified=True, etag=etag,
                           last_modified=last_modified)
    if status >= 500 or status == 429:
        raise _Failure(f"HTTP {status}", status=status, retry=True)
    if status >= 400:
        raise _Failure(f"HTTP {status}", status=status, retry=False)
    if status >= 300:  # a redirect aiohttp did not follow (no Location)
        raise _Failure(f"HTTP {status} without a usable redirect", status=status, retry=False)
    too_large = _Failure(f"response larger than {limit} bytes", status=status, retry=False)
    declared = response.content_length
    if declared is not None and declared > limit:
        raise too_large  # refuse before reading a byte of it
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):  # decoded: gzip bombs count
        body += chunk
        if len(body) > limit:
            raise too_large
    return FetchResult(
        url=url,
        status=status,
        content=bytes(body),
        content_type=response.headers.get("Content-Type", ""),
        etag=etag,
        last_modified=last_modified,
    )


def _convert(exc: aiohttp.ClientError, policy: FetchPolicy) -> _Failure:
    """aiohttp's exception -> one line a person can act on, and whether to retry."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return _Failure(f"connect timed out after {policy.connect_timeout_s:g}s", retry=True)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return _Failure(f"timed out after {policy.read_timeout_s:g}s", retry=True)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return _Failure("host name not found", retry=True)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return _Failure(f"TLS certificate not trusted: {_first_line(exc)}", retry=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return _Failure("connection refused", retry=True)
        return _Failure(f"connection failed: {exc.os_error.strerror or exc.os_error}",
                        retry=True)
    if isinstance(exc, aiohttp.TooManyRedirects):
        return _Failure("too many redirects", retry=False)
    if isinstance(exc, aiohttp.InvalidURL):  # also a redirect to a non-HTTP URL
        return _Failure(f"invalid URL: {_first_line(exc)}", retry=False)
    if isinstance(exc, aiohttp.ClientPayloadError):  # a bad gzip stream, a short body
        return _Failure(f"undecodable response: {_first_line(exc)}", retry=True)
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed status line or header
        return _Failure(f"invalid response: {exc.message or _first_line(exc)}", retry=False)
    if isinstance(exc, aiohttp.ClientConnectionError):  # resets, disconnects mid-body
        return _Failure(f"connection failed: {_first_line(exc)}", retry=True)
    return _Failure(_first_line(exc), retry=False)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


