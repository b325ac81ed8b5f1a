"""PostgreSQL that accepts and never answers no longer hangs a command: connections give
up after WATCHER_DB_CONNECT_TIMEOUT_S, statements after WATCHER_DB_STATEMENT_TIMEOUT_S,
and the error is one line, worded as for a refused port.

The silent server is a real TCP listener on loopback that accepts and reads nothing.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.helpers.daemon import daemon_env, watcher
from watcher import store
from watcher.service.http import check_database
from watcher.store.failure import LIMIT, describe

SILENT_LINE = ("database error: cannot connect to the database at 127.0.0.1:{port}: no "
               "answer within the connect timeout (WATCHER_DB_CONNECT_TIMEOUT_S)")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose server accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: connecting is refused


def _url(port: int) -> str:
    return f"postgresql+psycopg://watcher:pw-not-shown@127.0.0.1:{port}/watcher"


def test_a_silent_server_is_one_line_within_the_connect_timeout(
        tmp_path: Path, silent_port: int) -> None:
    env = daemon_env(tmp_path, _url(silent_port), "", WATCHER_DB_CONNECT_TIMEOUT_S="1")
    started = time.monotonic()
    result = watcher(env, "log", timeout=60)  # before: waited for ever
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.strip() == SILENT_LINE.format(port=silent_port)
    assert "pw-not-shown" not in result.stderr + result.stdout
    assert elapsed < 30, f"took {elapsed:.1f}s"


def test_a_refused_port_reads_the_same(tmp_path: Path) -> None:
    port = _refused_port()
    env = daemon_env(tmp_path, _url(port), "")
    result = watcher(env, "sources", timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"database error: cannot connect to the database at "
                                      f"127.0.0.1:{port}: connection refused")


def test_health_check_gives_up_on_a_silent_server(silent_port: int) -> None:
    engine = store.make_engine(_url(silent_port), connect_timeout_s=1)
    started = time.monotonic()
    try:
        assert check_database(engine) == "OperationalError"
    finally:
        engine.dispose()
    assert time.monotonic() - started < 15


@pytest.mark.postgres
def test_a_statement_past_the_statement_timeout_is_cancelled(postgres_url: str) -> None:
    engine = store.make_engine(postgres_url, statement_timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError) as raised, engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(30)"))
    finally:
        engine.dispose()
    assert time.monotonic() - started < 10
    assert describe(raised.value) == ("QueryCanceled: no answer within the statement "
                                      "timeout (WATCHER_DB_STATEMENT_TIMEOUT_S)")


@pytest.mark.postgres
def test_waiting_for_another_replica_to_migrate_is_not_cut_short(postgres_url: str) -> None:
    """Replicas take turns at migrating (an advisory lock); the one waiting waits as long
    as the migration takes, beyond the statement timeout."""
    from watcher.store.engine import INIT_LOCK_KEY

    engine = store.make_engine(postgres_url, statement_timeout_s=0.3)
    other = store.make_engine(postgres_url)
    errors: list[Exception] = []

    def take_the_turn() -> None:
        try:
            with engine.begin() as connection:
                store.serialize_init(connection)
        except Exception as exc:
            errors.append(exc)

    try:
        with other.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": INIT_LOCK_KEY})
            waiter = threading.Thread(target=take_the_turn)
            waiter.start()
            waiter.join(timeout=1.0)
            assert waiter.is_alive()  # still waiting, well past the 0.3 s timeout
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INIT_LOCK_KEY})
        waiter.join(timeout=10)
        assert not waiter.is_alive() and errors == []
        with engine.connect() as connection, pytest.raises(OperationalError):
            connection.execute(text("SELECT pg_sleep(1)"))  # other statements keep it
    finally:
        engine.dispose()
        other.dispose()


def test_a_message_is_one_bounded_line() -> None:
    long = OperationalError("INSERT ...", {}, Exception("x" * 5000 + "\nSQL: INSERT ..."))
    line = describe(long)
    assert "\n" not in line and len(line) <= LIMIT and line.startswith("Exception: xxx")
