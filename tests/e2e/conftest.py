"""Servers the end-to-end tests share: a local page site and a real SMTP server, both on
127.0.0.1, one of each per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.daemon import DaemonProcess
from tests.helpers.http_server import LocalServer
from tests.helpers.smtp_server import SmtpServer


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """The daemons a test starts (append each): stopped afterwards, and the last lines of
    each one's log printed, which pytest shows only when the test failed."""
    started: list[DaemonProcess] = []
    yield started
    for process in started:
        process.stop()
        print(f"--- {process.log_path.name}\n" + "\n".join(process.log().splitlines()[-40:]))
