"""notify: real deliveries to a local SMTP server (aiosmtpd) and local HTTP servers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from rich.console import Console

from watcher.config.targets import Target
from watcher.delivery.notify import (
    SendResult,
    console_send,
    format_for,
    prepare_body,
    privacy_url,
    redact,
    send,
)

PASSWORD = "s3cr3t-Pa55word"
BODY = (
    "New Industrialisation Acceleration Scheme: HK$10 billion\n\n"
    '"R&D <b>bold</b> support *now*"\n\n'
    "https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm"
)


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"


def _authenticator(inbox: Inbox):
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            inbox.logins.append((data.login.decode(), data.password.decode()))
            # handled=False: aiosmtpd itself answers 535 on failure.
            return AuthResult(success=data.password.decode() == PASSWORD, handled=False)
        return AuthResult(success=False, handled=False)

    return check


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    # Plain SMTP on loopback with AUTH allowed without TLS: what `mailto://` (insecure
    # mode, chosen by Apprise for the non-TLS scheme) speaks.
    # aiosmtpd's Controller probes its own port on start, so it needs a real number.
    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticator(inbox),
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _mailto(port: int, password: str = PASSWORD) -> str:
    return (f"mailto://watcher:{password}@127.0.0.1:{port}"
            "?from=watcher@example.org&to=ops@example.org")


def test_email_reaches_smtp_server_with_text_and_html(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    target = Target("email", _mailto(port))
    assert format_for(target.url) == "html"

    subject = "New fund: New Industrialisation Acceleration Scheme (HK$10 billion)"
    result = send(target, subject, BODY)

    assert result == SendResult(True, None)
    assert inbox.logins == [("watcher", PASSWORD)]
    [message] = inbox.messages
    assert message["Subject"] == (
        "New fund: New Industrialisation Acceleration Scheme (HK$10 billion)"
    )
    assert message["To"] == "ops@example.org"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.walk()
             if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    html = parts["text/html"]
    # Page text is escaped in HTML: the <b> from the page is not markup.
    assert "R&amp;D &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html
    assert ('<a href="https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm">'
            in html)
    assert "HK$10 billion" in parts["text/plain"]
    assert "R&D <b>bold</b>" in parts["text/plain"]


def test_email_as_plain_text_when_url_asks(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    target = Target("email", _mailto(port) + "&format=text")
    assert format_for(target.url) == "text"
    assert send(target, "subject", BODY).ok
    [message] = inbox.messages
    assert message.get_content_type() == "text/plain"
    assert "R&D <b>bold</b> support *now*" in message.get_payload(decode=True).decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_smtp_port_fails_without_leaking_password() -> None:
    target = Target("email", _mailto(_free_port()))
    result = send(target, "subject", "body", timeout=10)
    assert result.ok is False
    assert result.error
    assert PASSWORD not in result.error
    assert "\n" not in result.error


def test_wrong_password_is_a_failure_and_not_echoed(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    result = send(Target("email", _mailto(port, "wrong-Pa55word")), "subject", "body")
    assert result.ok is False
    assert result.error and "wrong-Pa55word" not in result.error
    assert inbox.messages == []


def test_invalid_url_is_a_failure_not_an_exception() -> None:
    result = send(Target("bad", "nosuchscheme://token-ABCDEF@host"), "s", "b")
    assert result == SendResult(False, "bad: not a valid Apprise URL")


# --- HTTP (JSON webhook, Slack) ------------------------------------------------------------


@dataclass
class Captured:
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def http() -> Iterator[tuple[Captured, int]]:
    captured = Captured()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            captured.requests.append((self.path, dict(self.headers), self.rfile.read(length)))
            self.send_response(captured.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield captured, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_json_webhook_payload(http: tuple[Captured, int]) -> None:
    captured, port = http
    target = Target("hook", f"json://127.0.0.1:{port}/hooks/watcher")
    assert format_for(target.url) == "text"

    result = send(target, "Amount changed: X HK$15 million -> HK$30 million", BODY)

    assert result.ok, result.error
    [(path, headers, raw)] = captured.requests
    assert path == "/hooks/watcher"
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(raw)
    assert payload["title"] == "Amount changed: X HK$15 million -> HK$30 million"
    assert payload["message"] == BODY  # plain text passes through untouched
    assert payload["type"] == "info"


def test_webhook_http_error_is_a_failure_with_reason(http: tuple[Captured, int]) -> None:
    captured, port = http
    captured.status = 500
    result = send(Target("hook", f"json://hookuser:{PASSWORD}@127.0.0.1:{port}/x"), "s", "b")
    assert result.ok is False
    assert result.error and "500" in result.error
    assert PASSWORD not in result.error
    assert len(captured.requests) == 1  # one attempt per send; retries are the outbox's


def test_slack_payload_is_escaped_mrkdwn(
    http: tuple[Captured, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The true edge: Slack's servers. Point Apprise's webhook base at the local server;
    # everything else (payload building, escaping, the HTTP request) is Apprise's own.
    from apprise.plugins.slack import NotifySlack

    captured, port = http
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{port}/services")
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    assert format_for(url) == "markdown"

    result = send(Target("slack", url), "New fund: <!channel> & co", BODY)

    assert result.ok, result.error
    [(path, _, raw)] = captured.requests
    assert path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    payload = json.loads(raw)
    text = json.dumps(payload)
    # & < > from the page are entity-escaped exactly once; no live mention or tag.
    assert "R&amp;D &lt;b&gt;bold&lt;/b&gt;" in text
    assert "&amp;amp;" not in text
    assert "<b>" not in text
    assert "<!channel>" not in text
    # The link survives as a Slack link.
    assert "https://www.info.gov.hk/gia/general/202501/15/P2025011500123.htm" in text


# --- pure helpers and the console -----------------------------------------------------------


def test_format_for() -> None:
    assert format_for("mailtos://u:p@example.org?to=a@example.org") == "html"
    assert format_for("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7") == "markdown"
    assert format_for("json://127.0.0.1/x") == "text"
    assert format_for("json://127.0.0.1/x?format=html") == "html"
    assert format_for("not a url") == "text"


def test_prepare_body() -> None:
    assert prepare_body("a < b", "text", "text") == ("a < b", "text")
    assert prepare_body("a < b", "text", "html") == ("<p>a &lt; b</p>", "html")
    assert prepare_body("a < b", "text", "markdown") == ("a < b", "text")
    assert prepare_body("<i>x</i>", "html", "markdown") == ("<i>x</i>", "html")


def test_redact_and_privacy_url() -> None:
    url = f"mailto://watcher:{PASSWORD}@smtp.example.org?to=ops@example.org"
    assert PASSWORD not in privacy_url(url)
    assert PASSWORD not in redact(f"failed to log in with {PASSWORD} at {url}", url)
    slack = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    assert "TIiajkdnlazkcOXrIdevi7" not in redact(f"POST {slack} failed", slack)
    assert privacy_url("nosuch://secret-token") == "nosuch://****"


def test_console_send_prints_literally() -> None:
    buffer = StringIO()
    console = Console(file=buffer, width=100, color_system=None)
    result = console_send("New fund: X [bold]", "evidence with [red]markup[/red]", console)
    assert result == SendResult(True, None)
    out = buffer.getvalue()
    assert "New fund: X [bold]" in out
    assert "[red]markup[/red]" in out
