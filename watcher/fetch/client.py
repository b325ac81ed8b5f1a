"""The only network reads: polite, conditional, size-capped HTTP GETs.

``Fetcher.fetch`` never raises for a network problem. Every failure comes back as a
``FetchResult`` with a one-line ``error`` ("timed out after 10s", "connection refused",
"HTTP 503", "address not allowed: ..."), at most 300 characters, converted here from
httpx2's exceptions, so callers never see httpx2.

The client is httpx2 (the maintained successor of httpx, same API) sending through
aiohttp (watcher.fetch.connect), the option measured best (bench/http_clients.py, README
"Performance"): for 1,000 conditional GETs to one host, 16 at a time, httpx 0.28 and 0.29
on their own transport spent 1.5-2.2 s of CPU, httpx2 on its own 0.45-0.72 s, httpx or
httpx2 through aiohttp 0.26-0.42 s (aiohttp alone: 0.10-0.16 s); in the daemon's warm
1,000-page cycle, httpx2 through aiohttp costs what aiohttp alone did.

Redirects are followed here, one hop at a time, and each hop is a request like the
first: its address is checked (watcher.fetch.address, at connect time through
watcher.fetch.connect), robots.txt of the host actually contacted is obeyed, and that
host's politeness applies. Politeness lives in the fetcher because it is per host, across
sources: at most ``per_host_concurrency`` requests in flight to one host, at least
``per_host_delay_s`` between their starts, and robots.txt read once per host and obeyed.

A request is bounded in time three ways: ``connect_timeout_s`` to connect,
``read_timeout_s`` of silence while reading, and ``total_timeout_s`` for the whole
request, so a server trickling a byte at a time cannot hold a poll. A server that
connected and then was too slow (read or total timeout) is not asked again in the same
poll; refused connections, connect timeouts and 5xx answers are retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies, proxy_bypass
from urllib.robotparser import RobotFileParser

import httpx2

from watcher.fetch.address import AddressNotAllowed, AddressPolicy, Resolver, resolve
from watcher.fetch.connect import (
    TRANSPORT_ERRORS,
    direct_transport,
    proxy_transport,
    transport_failure,
)
from watcher.fetch.failures import one_line
from watcher.models import FetchResult
from watcher.service.settings import Settings

# The name its log lines have always carried (the module was watcher/fetch.py).
log = logging.getLogger("watcher.fetch")

T = TypeVar("T")
_ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 lets crawlers stop reading at 500 KiB
_ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def content_hash(body: bytes) -> str:
    """The hex sha256 of a response body; equal hashes mean an unchanged page."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    user_agent: str = "watcher"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 60.0  # a server trickling bytes cannot hold a poll longer
    max_body_bytes: int = 5 * 1024 * 1024
    per_host_delay_s: float = 3.0
    per_host_concurrency: int = 1
    retries: int = 2  # extra attempts after the first, on connection errors and 5xx
    retry_base_delay_s: float = 1.0  # doubles each attempt
    obey_robots: bool = True
    max_redirects: int = 10
    # Public addresses only, plus what WATCHER_FETCH_ALLOW names (watcher.fetch.address).
    allow: AddressPolicy = field(default_factory=AddressPolicy)

    def __post_init__(self) -> None:
        if self.per_host_concurrency < 1:
            raise ValueError("per_host_concurrency must be at least 1")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if self.retries < 0 or self.max_redirects < 0:
            raise ValueError("retries and max_redirects must not be negative")
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
        self.message = one_line(message)
        self.status = status
        self.retry = retry


@dataclass(frozen=True, slots=True)
class _Redirect:
    """A hop's answer: go on at ``location`` (absolute)."""

    location: str


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
    """Fetches URLs politely through one httpx2 client (its connections are reused).
    Use as ``async with Fetcher(policy) as fetcher:``; one per process (or per poll).
    ``resolver`` replaces the system's DNS (tests name hosts with it)."""

    def __init__(self, policy: FetchPolicy | None = None, *,
                 resolver: Resolver = resolve) -> None:
        self.policy = policy or FetchPolicy()
        self._resolver = resolver
        self._hosts: dict[str, _Host] = {}
        self._client: httpx2.AsyncClient | None = None
        self._proxied: dict[str, httpx2.AsyncClient] = {}
        self._proxies: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(
            FetchPolicy(
                user_agent=settings.effective_user_agent,
                connect_timeout_s=settings.connect_timeout_s,
                read_timeout_s=settings.read_timeout_s,
                total_timeout_s=settings.total_timeout_s,
                max_body_bytes=settings.max_body_bytes,
                per_host_delay_s=settings.per_host_delay_s,
                per_host_concurrency=settings.per_host_concurrency,
                retries=settings.fetch_retries,
                obey_robots=settings.obey_robots,
                allow=AddressPolicy.parse(settings.fetch_allow),
            ),
        )

    async def __aenter__(self) -> Fetcher:
        # HTTP(S)_PROXY and NO_PROXY, read once: the environment does not change under a
        # running process, and reading it per request cost a tenth of a warm cycle.
        self._proxies = getproxies()
        self._client = self._new_client(direct_transport(self.policy.allow, self._resolver))
        return self

    def _new_client(self, transport: httpx2.AsyncBaseTransport) -> httpx2.AsyncClient:
        policy = self.policy
        return httpx2.AsyncClient(
            transport=transport,
            timeout=httpx2.Timeout(connect=policy.connect_timeout_s,
                                   read=policy.read_timeout_s, write=policy.read_timeout_s,
                                   pool=policy.connect_timeout_s),
            headers={"User-Agent": policy.user_agent},
            follow_redirects=False,  # followed in fetch(), one checked hop at a time
            trust_env=False,  # proxies are chosen per request in _client_for
        )

    async def __aexit__(self, *exc: object) -> None:
        clients = [c for c in (self._client, *self._proxied.values()) if c is not None]
        self._client, self._proxied = None, {}
        for client in clients:
            await client.aclose()

    def _client_for(self, scheme: str, netloc: str) -> httpx2.AsyncClient:
        if self._client is None:
            raise RuntimeError("open the fetcher first: async with Fetcher(...)")
        proxy = self._proxies.get(scheme)
        if not proxy or proxy_bypass(netloc.rpartition("@")[2]):
            return self._client
        if proxy not in self._proxied:
            self._proxied[proxy] = self._new_client(proxy_transport(proxy))
        return self._proxied[proxy]

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        known_hash: str | None = None,
    ) -> FetchResult:
        started = time.monotonic()
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = await self._follow(url, headers, self.policy.max_body_bytes,
                                    self.policy.max_redirects, self.policy.obey_robots)
        elapsed = time.monotonic() - started
        if result.ok and known_hash and content_hash(result.content) == known_hash:
            return replace(result, not_modified=True, elapsed_s=elapsed)
        return replace(result, elapsed_s=elapsed)

    # -- one URL, its redirects, several attempts each -------------------------------------

    async def _follow(self, url: str, headers: dict[str, str], limit: int,
                      max_redirects: int, obey_robots: bool) -> FetchResult:
        """``url`` and the redirects it leads to, each hop checked, polite and retried."""
        hop = url
        for _ in range(max_redirects + 1):
            try:
                outcome = await self._hop(hop, headers, limit, obey_robots)
            except _Failure as failure:
                return FetchResult(url=url, status=failure.status, error=failure.message)
            if isinstance(outcome, FetchResult):
                return replace(outcome, url=url)
            hop = outcome.location
        return FetchResult(url=url, status=None, error="too many redirects")

    async def _hop(self, url: str, headers: dict[str, str], limit: int,
                   obey_robots: bool) -> FetchResult | _Redirect:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError as exc:
            raise _Failure(f"invalid URL: {exc}", retry=False) from exc
        if parts.scheme not in ("http", "https") or not hostname:
            raise _Failure("invalid URL: need http(s)://host/", retry=False)
        try:
            self.policy.allow.check_url_host(hostname)
        except AddressNotAllowed as exc:
            raise _Failure(str(exc), retry=False) from exc
        origin = f"{parts.scheme}://{parts.netloc}"
        host = self._host(origin)
        if obey_robots and not await self._allowed(host, origin, url):
            raise _Failure("disallowed by robots.txt", retry=False)
        client = self._client_for(parts.scheme, parts.netloc)
        return await self._with_retries(host, lambda: self._get(client, url, headers, limit))

    async def _with_retries(self, host: _Host,
                            attempt: Callable[[], Awaitable[T]]) -> T:
        tries = 0
        while True:
            try:
                return await self._polite(host, attempt)
            except _Failure as failure:
                if not failure.retry or tries >= self.policy.retries:
                    raise
                delay = self.policy.retry_base_delay_s * (2**tries)
                log.info("retrying in %.2fs: %s", delay, failure.message)
                tries += 1
                await asyncio.sleep(delay)

    async def _polite(self, host: _Host, request: Callable[[], Awaitable[T]]) -> T:
        async with host.slots:
            async with host.pace:
                wait = host.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_start = time.monotonic() + self.policy.per_host_delay_s
            return await request()

    async def _get(self, client: httpx2.AsyncClient, url: str, headers: dict[str, str],
                   limit: int) -> FetchResult | _Redirect:
        """One attempt. Raises _Failure; returns a result for 2xx and 304 only."""
        policy = self.policy
        try:
            async with asyncio.timeout(policy.total_timeout_s):
                async with client.stream("GET", url, headers=headers) as response:
                    return await _read(url, response, limit)
        except (httpx2.HTTPError, *TRANSPORT_ERRORS) as exc:  # before TimeoutError
            raise _convert(exc, policy) from exc
        except AddressNotAllowed as exc:  # from the connection (watcher.fetch.connect)
            raise _Failure(str(exc), retry=False) from exc
        except TimeoutError as exc:  # the total: a trickle, not worth a second wait
            message = f"timed out after {policy.total_timeout_s:g}s in all"
            raise _Failure(message, retry=False) from exc
        except httpx2.InvalidURL as exc:
            raise _Failure(f"invalid URL: {exc}", retry=False) from exc

    # -- robots.txt -----------------------------------------------------------------------

    async def _allowed(self, host: _Host, origin: str, url: str) -> bool:
        async with host.robots_lock:  # concurrent fetches to a new host read it once
            if not host.robots_read:
                host.robots = await self._read_robots(origin)
                host.robots_read = True
        return host.robots is None or host.robots.can_fetch(self.policy.user_agent, url)

    async def _read_robots(self, origin: str) -> RobotFileParser | None:
        """The host's rules, or None to allow everything."""
        robots_url = f"{origin}/robots.txt"
        result = await self._follow(robots_url, {}, _ROBOTS_MAX_BYTES, _ROBOTS_MAX_REDIRECTS,
                                    obey_robots=False)
        if result.error:
            if result.error.startswith("address not allowed"):
                # Refused like the page will be: nothing to learn, and nothing to log twice.
                return None
            if result.status is not None and 400 <= result.status < 500:
                return None  # no robots.txt: everything is allowed (RFC 9309 2.3.1.3)
            log.warning("robots.txt of %s unreadable (%s); allowing", origin, result.error)
            return None
        parser = RobotFileParser(robots_url)
        parser.parse(result.content.decode("utf-8", errors="replace").splitlines())
        return parser

    def _host(self, origin: str) -> _Host:
        if origin not in self._hosts:
            self._hosts[origin] = _Host(asyncio.Semaphore(self.policy.per_host_concurrency))
        return self._hosts[origin]


async def _read(url: str, response: httpx2.Response, limit: int) -> FetchResult | _Redirect:
    status = response.status_code
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if status == 304:
        # Read the (empty) body to its end: a response closed unread costs its
        # keep-alive connection, and a new connection (a TLS handshake) per 304.
        await response.aread()
        return FetchResult(url=url, status=304, not_modified=True, etag=etag,
                           last_modified=last_modified)
    if status >= 500 or status == 429:
        raise _Failure(f"HTTP {status}", status=status, retry=True)
    if status >= 400:
        raise _Failure(f"HTTP {status}", status=status, retry=False)
    if status >= 300:
        location = response.headers.get("Location")
        if status in _REDIRECTS and location:
            return _Redirect(urljoin(url, location.strip()))
        raise _Failure(f"HTTP {status} without a usable redirect", status=status, retry=False)
    too_large = _Failure(f"response larger than {limit} bytes", status=status, retry=False)
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large  # refuse before reading a byte of it
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: gzip bombs count
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


def _convert(exc: Exception, policy: FetchPolicy) -> _Failure:
    """httpx2's exception (or the transport's) -> one line a person can act on, and
    whether to retry. The transport's own exception, underneath, says it most exactly."""
    known = transport_failure(exc, policy.connect_timeout_s, policy.read_timeout_s)
    if known is not None:
        message, retry = known
        return _Failure(message, retry=retry)
    if isinstance(exc, httpx2.DecodingError):  # a bad gzip stream
        return _Failure(f"undecodable response: {exc}", retry=True)
    if isinstance(exc, httpx2.UnsupportedProtocol):
        return _Failure(f"invalid URL: {exc}", retry=False)
    if isinstance(exc, httpx2.TimeoutException):  # the server went silent
        return _Failure(f"timed out after {policy.read_timeout_s:g}s", retry=False)
    if isinstance(exc, httpx2.NetworkError):
        return _Failure(f"connection failed: {exc}", retry=True)
    return _Failure(str(exc).strip() or type(exc).__name__, retry=False)
