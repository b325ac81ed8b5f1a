"""fetch: real HTTP against a loopback server; every failure is a FetchResult, never a raise."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.http_server import LOOPBACK_ALLOW, LocalServer, Reply
from watcher.errors import ReadError
from watcher.fetch import Fetcher, FetchPolicy, content_hash
from watcher.fetch.address import AddressPolicy
from watcher.models import FetchResult
from watcher.read import ensure_readable
from watcher.service.settings import Settings

UA = "watcher-test/1.0 (+tests)"
PAGE = b"<html><head><title>t</title></head><body><p>hello</p></body></html>"
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def policy(**overrides: Any) -> FetchPolicy:
    values: dict[str, Any] = {
        "user_agent": UA,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "per_host_delay_s": 0.0,
        "retries": 2,
        "retry_base_delay_s": 0.01,
        "obey_robots": False,
        "allow": AddressPolicy.parse(LOOPBACK_ALLOW),
    }
    values.update(overrides)
    return FetchPolicy(**values)


def fetch(url: str, pol: FetchPolicy | None = None, **kwargs: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(pol or policy()) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(run())


def fetch_many(urls: list[str], pol: FetchPolicy) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(pol) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))

    return asyncio.run(run())


def test_200_then_304_with_etag(server: LocalServer) -> None:
    server.routes["/p"] = (200, {**HTML, "ETag": '"v1"'}, PAGE)
    first = fetch(server.url("/p"))
    assert first.ok and first.status == 200 and first.content == PAGE
    assert first.etag == '"v1"' and first.content_type.startswith("text/html")
    assert not first.not_modified
    second = fetch(server.url("/p"), etag=first.etag)
    assert second.status == 304 and second.not_modified and second.content == b""
    assert server.requests[-1].headers["If-None-Match"] == '"v1"'
    assert all(r.headers["User-Agent"] == UA for r in server.requests)


def test_last_modified_conditional_get(server: LocalServer) -> None:
    stamp = "Tue, 04 Nov 2025 09:33:44 GMT"
    server.routes["/p"] = (200, {**HTML, "Last-Modified": stamp}, PAGE)
    first = fetch(server.url("/p"))
    assert first.last_modified == stamp
    second = fetch(server.url("/p"), last_modified=first.last_modified)
    assert second.not_modified and second.status == 304
    assert server.requests[-1].headers["If-Modified-Since"] == stamp
    # The page changed since: the server sends it again.
    server.routes["/p"] = (200, {**HTML, "Last-Modified": "Wed, 05 Nov 2025 09:00:00 GMT"}, b"x")
    third = fetch(server.url("/p"), last_modified=stamp)
    assert third.status == 200 and third.content == b"x" and not third.not_modified


def test_content_hash_short_cut(server: LocalServer) -> None:
    server.routes["/p"] = (200, {**HTML, "ETag": '"v2"'}, PAGE)
    same = fetch(server.url("/p"), known_hash=content_hash(PAGE))
    assert same.not_modified and same.status == 200 and same.etag == '"v2"'
    other = fetch(server.url("/p"), known_hash=content_hash(b"older page"))
    assert not other.not_modified and other.content == PAGE


def test_retries_on_503_then_succeeds(server: LocalServer) -> None:
    server.routes["/p"] = [Reply(503), Reply(503), Reply(200, HTML, PAGE)]
    result = fetch(server.url("/p"), policy(retries=2))
    assert result.ok and result.content == PAGE
    assert server.hits["/p"] == 3


def test_gives_up_after_bounded_retries(server: LocalServer) -> None:
    server.routes["/p"] = Reply(503)
    result = fetch(server.url("/p"), policy(retries=2))
    assert result.error == "HTTP 503" and result.status == 503
    assert server.hits["/p"] == 3


def test_no_retry_on_404(server: LocalServer) -> None:
    result = fetch(server.url("/missing"), policy(retries=3))
    assert result.error == "HTTP 404" and result.status == 404 and not result.ok
    assert server.hits["/missing"] == 1


def test_timeout_is_an_error_not_retried(server: LocalServer) -> None:
    """A server that accepted the request and went silent is not asked again in the same
    poll: retried, it held the poll for a read timeout per attempt."""
    server.routes["/slow"] = Reply(200, HTML, PAGE, delay_s=5.0)
    result = fetch(server.url("/slow"), policy(read_timeout_s=0.2, retries=2))
    assert result.error == "timed out after 0.2s" and result.status is None
    assert server.hits["/slow"] == 1


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "streamed"])
def test_huge_body_is_cut_off(server: LocalServer, send_length: bool) -> None:
    server.routes["/big"] = Reply(200, HTML, huge_bytes=20 * 1024 * 1024, send_length=send_length)
    tracemalloc.start()
    try:
        result = fetch(server.url("/big"), policy(max_body_bytes=1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error == f"response larger than {1024 * 1024} bytes"
    assert result.content == b""
    assert peak < 8 * 1024 * 1024  # the 20 MB never sat in memory
    assert server.hits["/big"] == 1  # too large is not worth retrying


def test_empty_and_binary_bodies_are_read_errors(server: LocalServer) -> None:
    server.routes["/empty"] = (200, HTML, b"")
    server.routes["/pdf"] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7\x00\x01")
    server.routes["/nul"] = (200, {"Content-Type": "text/html"}, b"<html>\x00\x00\x01\x02")
    empty = fetch(server.url("/empty"))
    assert empty.ok and empty.content == b""
    with pytest.raises(ReadError, match="empty response"):
        ensure_readable(empty.content, empty.content_type, empty.url)
    pdf = fetch(server.url("/pdf"))
    with pytest.raises(ReadError, match=r"binary content \(application/pdf\), not a page"):
        ensure_readable(pdf.content, pdf.content_type, pdf.url)
    nul = fetch(server.url("/nul"))
    with pytest.raises(ReadError, match="binary content"):
        ensure_readable(nul.content, nul.content_type, nul.url)
    ensure_readable(PAGE, "text/html", "http://example/")  # a page passes


def test_robots_disallow_is_obeyed_and_read_once(server: LocalServer) -> None:
    server.routes["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: *\nDisallow: /private/\n",
    )
    server.routes["/private/p"] = (200, HTML, PAGE)
    server.routes["/public/p"] = (200, HTML, PAGE)

    async def run() -> list[FetchResult]:
        async with Fetcher(policy(obey_robots=True)) as fetcher:
            return [
                await fetcher.fetch(server.url("/private/p")),
                await fetcher.fetch(server.url("/public/p")),
                await fetcher.fetch(server.url("/public/p")),
            ]

    private, public, again = asyncio.run(run())
    assert private.error == "disallowed by robots.txt"
    assert public.ok and again.ok
    assert server.hits["/private/p"] == 0
    assert server.hits["/robots.txt"] == 1


def test_missing_or_broken_robots_allows(server: LocalServer) -> None:
    server.routes["/p"] = (200, HTML, PAGE)
    assert fetch(server.url("/p"), policy(obey_robots=True)).ok  # robots.txt is a 404
    with LocalServer({"/robots.txt": Reply(500), "/p": (200, HTML, PAGE)}) as other:
        assert fetch(other.url("/p"), policy(obey_robots=True, retries=0)).ok


def test_per_host_concurrency_one_serialises(server: LocalServer) -> None:
    for n in range(4):
        server.routes[f"/p{n}"] = Reply(200, HTML, PAGE, delay_s=0.1)
    results = fetch_many([server.url(f"/p{n}") for n in range(4)], policy(per_host_concurrency=1))
    assert all(r.ok for r in results)
    assert server.max_concurrent == 1


def test_per_host_concurrency_allows_parallel_requests(server: LocalServer) -> None:
    # The control for the test above: with 4 slots the server does see overlap. Each reply
    # waits until every request has arrived (a barrier), so no timing is assumed.

    barrier = threading.Barrier(4, timeout=5)

    for n in range(4):
        server.routes[f"/p{n}"] = Reply(200, HTML, PAGE)
    original = server._next_reply

    def gated(path: str) -> Reply | None:
        barrier.wait()
        return original(path)

    server._next_reply = gated  # type: ignore[method-assign]
    results = fetch_many([server.url(f"/p{n}") for n in range(4)], policy(per_host_concurrency=4))
    assert all(r.ok for r in results)
    assert server.max_concurrent == 4


def test_connection_refused_is_an_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago; nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = fetch(f"http://127.0.0.1:{port}/", policy(retries=1))
    assert result.error == "connection refused" and result.status is None


def test_invalid_url_is_an_error() -> None:
    assert fetch("ftp://example.org/x").error == "invalid URL: need http(s)://host/"
    assert fetch("not a url").error == "invalid URL: need http(s)://host/"


def test_from_settings_carries_policy() -> None:
    settings = Settings(per_host_delay_s=0.5, fetch_retries=4, max_body_bytes=1234)

    fetcher = Fetcher.from_settings(settings)
    assert fetcher.policy.per_host_delay_s == 0.5 and fetcher.policy.retries == 4
    assert fetcher.policy.max_body_bytes == 1234
    assert fetcher.policy.user_agent == settings.effective_user_agent


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="per_host_concurrency must be at least 1"):
        FetchPolicy(per_host_concurrency=0)


def test_redirects_are_followed(server: LocalServer) -> None:
    server.routes["/old"] = (301, {"Location": "/new"}, b"")
    server.routes["/new"] = (200, HTML, PAGE)
    result = fetch(server.url("/old"))
    assert result.ok and result.content == PAGE and result.url == server.url("/old")
    assert server.hits["/new"] == 1


def test_redirect_loop_is_an_error_not_retried(server: LocalServer) -> None:
    server.routes["/a"] = (302, {"Location": "/b"}, b"")
    server.routes["/b"] = (302, {"Location": "/a"}, b"")
    result = fetch(server.url("/a"), policy(retries=3))
    assert result.error == "too many redirects" and not result.ok
    assert server.hits["/a"] + server.hits["/b"] <= 12  # one attempt's redirects, no retry


def test_gzip_is_decoded_and_the_cap_counts_decoded_bytes(server: LocalServer) -> None:
    gzip_html = {**HTML, "Content-Encoding": "gzip"}
    server.routes["/small"] = (200, gzip_html, gzip.compress(PAGE))
    assert fetch(server.url("/small")).content == PAGE
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))  # ~4 KB on the wire
    server.routes["/bomb"] = (200, gzip_html, bomb)
    result = fetch(server.url("/bomb"), policy(max_body_bytes=1024 * 1024))
    assert result.error == f"response larger than {1024 * 1024} bytes"


@pytest.mark.parametrize("garbage", [b"SPEAK FRIEND",
                                     b"HTTP/1.1 2OO " + b"\x01\xff<b>x</b>\t" * 400],
                         ids=["short", "4 KB of raw bytes"])
def test_a_malformed_response_is_an_error(garbage: bytes) -> None:
    """A peer that does not speak HTTP: one line of error, at most 300 characters, no
    exception, no hang."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_garbage() -> None:  # one attempt: the fetch below allows no retry
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(garbage + b"\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        result = fetch(f"http://127.0.0.1:{port}/", policy(retries=0))
    finally:
        listener.close()
        thread.join(timeout=5)
    assert result.error is not None and result.status is None
    assert result.error.startswith("invalid response"), result.error
    assert len(result.error) <= 300 and "\n" not in result.error and "\x01" not in result.error


def test_a_proxy_in_the_environment_is_used(server: LocalServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY is honoured (the loopback server plays the proxy: it receives the
    absolute URL); without it the same name would not resolve."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server.routes["http://watcher-proxy-test.invalid/p"] = (200, HTML, PAGE)
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    result = fetch("http://watcher-proxy-test.invalid/p")
    assert result.ok and result.content == PAGE
    assert server.hits["http://watcher-proxy-test.invalid/p"] == 1


def test_an_untrusted_tls_certificate_is_one_line_not_retried(tmp_path: Any) -> None:
    """A self-signed certificate (made with Debian's openssl) on a local TLS server: the
    fetch fails with one line naming it, and is not retried (it would not change)."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    handshakes: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        for _ in range(3):  # a retry would come back; at most three, then stop
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                    break
                except TimeoutError:
                    continue
            else:
                return
            with conn:
                try:
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(4096)
                        handshakes.append("ok")
                except (ssl.SSLError, OSError):
                    handshakes.append("refused by the client")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = fetch(f"https://127.0.0.1:{port}/", policy(retries=2))
    finally:
        stop.set()
        thread.join(timeout=15)
        listener.close()
    assert result.error is not None and result.status is None
    assert result.error.startswith("TLS certificate not trusted: "), result.error
    assert "\n" not in result.error and len(result.error) <= 300
    assert handshakes == ["refused by the client"]
