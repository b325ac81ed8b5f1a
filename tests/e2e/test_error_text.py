"""Error text from the network is one bounded line everywhere a person reads it: the
source's last error (`watcher sources`, its JSON), the source_failing alert, and
`watcher check --json`; a thousand failed items are counted, not listed.

Real parts: the `watcher` command in a subprocess, a local page server, a peer that
answers a 4 KB status line of raw bytes, a SQLite file and a real SMTP server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_poll_to_email import watcher
from tests.helpers.http_server import LocalServer, Reply, child_env
from tests.helpers.smtp_server import SmtpServer

REPO = Path(__file__).resolve().parents[2]
ITEMS = 1000
LIMIT = 300
# A status line of raw bytes, as a broken server or a non-HTTP service sends: control
# characters, markup and high bytes, no line break before the end.
GARBAGE = b"HTTP/1.1 2OO " + b"\x01\x7f\xff<b>boom</b>\t" * 300 + b"\r\n\r\n"


def _feed(base: str) -> bytes:
    items = "".join(f"<item><title>Release {i}</title><link>{base}/p/{i}.htm</link></item>"
                    for i in range(ITEMS))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
            ).encode()


@pytest.fixture
def garbage_peer() -> Iterator[str]:
    """A TCP peer answering every request with GARBAGE; its URL. Serves at most 20
    connections (one poll asks once) and stops with the test."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        for _ in range(20):
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                    break
                except TimeoutError:
                    continue
            else:
                return
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(GARBAGE)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/page.htm"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_network_errors_are_one_bounded_line_everywhere(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer, garbage_peer: str) -> None:
    site.routes["/feed.xml"] = Reply(200, {"Content-Type": "application/rss+xml"},
                                     _feed(site.base_url))
    for i in range(ITEMS - 2):  # the last two are not there: 404
        site.routes[f"/p/{i}.htm"] = Reply(503)
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "feed.yaml").write_text(
        f"name: feed\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: 1h\n"
        "max_items: 1000\nfollow:\n  title: title\n  body: body\n")
    (sources / "garbage.yaml").write_text(
        f"name: garbage\nkind: html\nurl: {garbage_peer}\ninterval: 1h\n")
    env = {**child_env(), "WATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'watcher.db'}",
           "WATCHER_SOURCES_DIR": str(sources), "WATCHER_RULES_DIR": str(REPO / "rules"),
           "WATCHER_NOTIFY": smtp.mailto_url(), "WATCHER_PER_HOST_DELAY_S": "0",
           "WATCHER_PER_HOST_CONCURRENCY": "16", "WATCHER_OBEY_ROBOTS": "false",
           "WATCHER_FETCH_RETRIES": "0", "WATCHER_FAILING_AFTER": "1", "COLUMNS": "250"}

    checked = watcher(env, "check", "--json")
    assert len(checked.stdout) < 5000, f"{len(checked.stdout)} bytes of summary"
    summary = {s["source"]: s for s in json.loads(checked.stdout)["sources"]}
    many = (f"{ITEMS:,} items failed: HTTP 503 ({ITEMS - 2:,}), HTTP 404 (2); "
            f"first: {site.url('/p/0.htm')}")
    assert summary["feed"]["error"] == many
    assert summary["feed"]["errors"] == {"HTTP 503": ITEMS - 2, "HTTP 404": 2}
    bad = summary["garbage"]["error"]
    assert bad.startswith(f"{garbage_peer}: invalid response: ")
    assert len(bad) <= LIMIT and "\n" not in bad and "\x01" not in bad, bad

    # The source's last error, as stored and as listed.
    stored = {s["name"]: s["last_error"] for s in json.loads(
        watcher(env, "sources", "--json").stdout)}
    assert stored == {"feed": many, "garbage": bad}
    listed = watcher(env, "sources").stdout
    assert f"{ITEMS:,} items failed: HTTP 503 ({ITEMS - 2:,})" in listed
    assert "\x01" not in listed and "<b>boom</b><b>boom" not in listed.replace("\t", "")

    # The source_failing alert: the error on one line of its body.
    failing = {str(m["Subject"]): m for m in smtp.messages if "failing" in str(m["Subject"])}
    assert set(failing) == {"Source failing: feed (1 failed polls)",
                            "Source failing: garbage (1 failed polls)"}
    for name, error in (("feed", many), ("garbage", bad)):
        message = failing[f"Source failing: {name} (1 failed polls)"]
        text = next(part for part in message.walk()
                    if part.get_content_type() == "text/plain").get_payload(decode=True)
        lines = [line.strip() for line in text.decode().splitlines()]
        assert f"Last error: {error}" in lines, lines
