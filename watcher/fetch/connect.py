"""The transport under httpx2's API: requests sent by aiohttp (its connection pool and C
HTTP parser), every new connection resolved under the address policy.

Measured (bench/http_clients.py, README "Performance"), httpx2 on its own transport
(httpcore2, with h11 parsing in Python) cost 3-4 times aiohttp's CPU per request: 0.6-0.85
s more in the daemon's warm 1,000-page cycle. On aiohttp the cycle costs what it did
before httpx2. The httpx-aiohttp package does the same, but importing it imports httpx
0.x and, with it, httpx's command line (rich, click, pygments: 4.8 MB in every process),
and it maps aiohttp's exceptions coarsely (a refused connection became a ConnectTimeout);
``AiohttpTransport`` here is its approach in 60 lines, for httpx2 alone, and lets
aiohttp's exceptions through for ``transport_failure`` to put in words.

aiohttp asks ``GuardedResolver`` for the addresses of each host it connects to (a host
named by its address needs no resolving: the fetcher checks those before any request,
watcher.fetch.address.AddressPolicy.check_url_host). The resolver answers only allowed
addresses, so the check is made on the address connected to, after DNS, for the first
URL, every redirect hop and every followed link alike. TLS still verifies the
certificate against the host name. Through a proxy, the proxy resolves and connects; it is
the operator's own and is trusted.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import aiohttp.abc
import httpx2

from watcher.fetch.address import AddressPolicy, Resolver, allowed_addresses

# What the transport raises (httpx2 passes a transport's own exceptions through).
TRANSPORT_ERRORS = (aiohttp.ClientError,)
_CHUNK = 64 * 1024


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """httpx2's requests through one aiohttp session. Bodies are passed on as they come
    (``auto_decompress`` off: httpx2 decodes, in bounded pieces, so a gzip bomb counts
    against the size cap as it inflates). GET only: watcher sends no request bodies."""

    def __init__(self, session: aiohttp.ClientSession, proxy: str | None = None) -> None:
        self.session = session
        self.proxy = proxy

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeout = request.extensions.get("timeout", {})
        response = await self.session.request(
            request.method, str(request.url),
            # As written (multi_items() would lower-case the names on the wire).
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            allow_redirects=False, auto_decompress=False, proxy=self.proxy,
            timeout=aiohttp.ClientTimeout(total=None, connect=timeout.get("pool"),
                                          sock_connect=timeout.get("connect"),
                                          sock_read=timeout.get("read")))
        return httpx2.Response(status_code=response.status, headers=response.raw_headers,
                               stream=_Body(response), request=request,
                               extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        await self.session.close()


class _Body(httpx2.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.content.iter_chunked(_CHUNK):
            yield chunk

    async def aclose(self) -> None:
        # Back to the pool when read to its end, else closed (aiohttp decides).
        self.response.release()


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver: only the addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[aiohttp.abc.ResolveResult]:
        addresses = await allowed_addresses(self.policy, host, port, self.resolver)
        return [{"hostname": host, "host": address, "port": port,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for address in addresses]

    async def close(self) -> None:
        pass


def _session(connector: aiohttp.TCPConnector) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # httpx2 keeps the cookies, once
        # Some official sites send long Set-Cookie or CSP headers; 8 KB is too tight.
        max_line_size=64 * 1024,
        max_field_size=64 * 1024,
    )


def direct_transport(policy: AddressPolicy, resolver: Resolver) -> AiohttpTransport:
    """Connections straight to the hosts, through the address policy. No pool limit:
    politeness (per-host slots) bounds connections, and a limit on top would make a
    request wait for a connection and time out as if the host were slow."""
    connector = aiohttp.TCPConnector(limit=0, resolver=GuardedResolver(policy, resolver))
    return AiohttpTransport(_session(connector))


def proxy_transport(proxy: str) -> AiohttpTransport:
    """Connections through an HTTP(S) proxy from the environment."""
    return AiohttpTransport(_session(aiohttp.TCPConnector(limit=0)), proxy=proxy)


def transport_failure(exc: BaseException, connect_s: float,
                      read_s: float) -> tuple[str, bool] | None:
    """The aiohttp exception under ``exc`` as one line and whether to retry, or None."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, aiohttp.ClientError):
        cause = cause.__cause__
    if cause is None:
        return None
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return f"connect timed out after {connect_s:g}s", True
    if isinstance(cause, aiohttp.ServerTimeoutError):  # the server went silent
        return f"timed out after {read_s:g}s", False
    if isinstance(cause, aiohttp.ClientConnectorDNSError):
        return "host name not found", True
    if isinstance(cause, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not trusted: {_first_line(cause)}", False
    if isinstance(cause, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return f"proxy failed: {_first_line(cause)}", True
    if isinstance(cause, aiohttp.ClientConnectorError):
        if isinstance(cause.os_error, ConnectionRefusedError):
            return "connection refused", True
        return f"connection failed: {cause.os_error.strerror or cause.os_error}", True
    if isinstance(cause, aiohttp.InvalidURL):
        return f"invalid URL: {_first_line(cause)}", False
    if isinstance(cause, aiohttp.ClientPayloadError):  # a short body
        return f"undecodable response: {_first_line(cause)}", True
    if isinstance(cause, aiohttp.ClientResponseError):  # a malformed status line or header
        return f"invalid response: {cause.message or _first_line(cause)}", False
    if isinstance(cause, aiohttp.ClientConnectionError):  # resets, disconnects mid-body
        return f"connection failed: {_first_line(cause)}", True
    return _first_line(cause), False


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
