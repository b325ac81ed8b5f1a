"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

    with SmtpServer() as smtp:
        url = smtp.mailto_url()          # an Apprise target that logs in and sends here
        ...
        smtp.messages                   # email.message.Message objects, in arrival order

``stop()`` and ``start()`` again on the same port simulate an outage.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

USER = "watcher"
PASSWORD = "s3cr3t-Pa55word"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class _Handler:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hold_after: int | None = None  # keep this many, then hold the next one's answer
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content or b""))
            hold = self.hold_after is not None and len(self.messages) == self.hold_after + 1
        if hold:  # received, not yet acknowledged: the sender cannot have marked it sent
            self.held.set()
            for _ in range(600):  # at most 30 s
                if self.released.is_set():
                    break
                await asyncio.sleep(0.05)
        return "250 OK"


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
    if isinstance(data, LoginPassword):
        return AuthResult(success=data.password.decode() == PASSWORD)
    return AuthResult(success=False, handled=False)


class SmtpServer:
    def __init__(self, port: int | None = None, hold_after: int | None = None) -> None:
        """``hold_after=N``: the (N+1)th message is received, then its answer held until
        ``release()`` (``held`` is set meanwhile): a sender killed then has handed the
        mail over without knowing it."""
        self.port = port or free_port()
        self.handler = _Handler(hold_after=hold_after)
        self._controller: Controller | None = None

    @property
    def held(self) -> threading.Event:
        return self.handler.held

    def release(self) -> None:
        self.handler.released.set()

    @property
    def messages(self) -> list[Message]:
        with self.handler.lock:
            return list(self.handler.messages)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def mailto_url(self, to: str = "ops@example.org") -> str:
        return (f"mailto://{USER}:{PASSWORD}@127.0.0.1:{self.port}"
                f"?from=watcher@example.org&to={to}")

    def start(self) -> SmtpServer:
        # aiosmtpd logs every session at INFO on "mail.log" from its own thread, the
        # start-up probe's "Connection lost" among them, sometimes after start() returns:
        # a CLI test that points the root logger at its captured stderr then found that
        # line among the one-line errors it compares.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      authenticator=_check_login, auth_require_tls=False)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()  # a held answer would keep the server's loop from stopping
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
