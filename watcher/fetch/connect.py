"""Connections under the address policy: every TCP connection httpx2 opens comes here.

httpcore2 (httpx2's connection pool) asks its network backend for each new connection by
host name. ``GuardedBackend`` resolves the name itself, drops the addresses the policy
refuses (watcher.fetch.address) and connects to an allowed address, so the check is made
on the address actually connected to, after DNS, for the first URL, every redirect hop
and every followed link alike; a name cannot resolve to a public address for a check and
to 127.0.0.1 for the connection. TLS still verifies the certificate against the host name
(httpcore2 passes it to the TLS layer apart from the address).

``guarded_transport`` is httpx2's own transport with that backend in its pool; httpx2
has no argument for a network backend, so the pool is built here with httpcore2's public
constructor and put in the transport's place for it (tests/unit/test_fetch_address.py
fails if that stops working). Through a proxy, the proxy resolves and connects (the
proxy is the operator's own and is trusted); a literal address in a URL is still
refused before any request (``AddressPolicy.check_url_host``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore2
import httpx2

from watcher.fetch.address import AddressNotAllowed, AddressPolicy, ip_of

# A resolver: (host, port) -> the addresses it names, as strings. Tests give their own.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The system resolver (getaddrinfo, in a worker thread), addresses in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's own backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver = resolve,
                 inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore2.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
                          ) -> httpcore2.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self._allowed_addresses(host, port, timeout):
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address,
                                                    socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc  # the next address may answer (a name with IPv6 and IPv4)
        assert last is not None
        raise last

    async def _allowed_addresses(self, host: str, port: int,
                                 timeout: float | None) -> list[str]:
        literal = ip_of(host)
        if literal is not None:
            if not self.policy.allows_name(host):
                self.policy.check(host, literal)
            return [str(literal)]
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.resolver(host, port)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # socket.gaierror: found by the client's error text
            raise httpcore2.ConnectError(f"host name not found: {host}") from exc
        if self.policy.allows_name(host):
            return addresses
        allowed: list[str] = []
        refused: AddressNotAllowed | None = None
        for address in addresses:
            ip = ip_of(address)
            if ip is None:
                continue
            try:
                self.policy.check(host, ip)
            except AddressNotAllowed as exc:
                refused = refused or exc
                continue
            allowed.append(address)
        if allowed:
            return allowed
        if refused is not None:
            raise refused
        raise httpcore2.ConnectError(f"host name not found: {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise AddressNotAllowed(path, path, "a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(policy: AddressPolicy, limits: httpx2.Limits,
                      resolver: Resolver = resolve) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport whose new connections go through ``GuardedBackend``."""
    transport = httpx2.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=httpx2.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy, resolver),
    )
    return transport


def proxy_transport(proxy: str, limits: httpx2.Limits) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport through an HTTP(S) proxy from the environment."""
    return httpx2.AsyncHTTPTransport(limits=limits, proxy=proxy)
