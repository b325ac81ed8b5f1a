"""A database failure in one line, for the command line, the logs, a source's last error
and ``/healthz``: no SQL, no parameters (page text), no password, no driver's hint lines.

    cannot connect to the database at 127.0.0.1:5432: connection refused
    cannot connect to the database at 127.0.0.1:5433: no answer within the connect
        timeout (WATCHER_DB_CONNECT_TIMEOUT_S)
    OperationalError: attempt to write a readonly database

A server that refuses the port and one that accepts and never answers read alike, so the
same fix (is the server up? is the address right?) comes to mind.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

LIMIT = 300  # characters of a message; a driver's message can quote a whole statement

# psycopg's wording of a failed connection, before the reason:
# 'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
_CONNECTION_FAILED = re.compile(
    r'^(?:connection failed: )?connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ '
    r"failed: (?:FATAL:\s+)?")
_CONNECT_TIMEOUT = "no answer within the connect timeout (WATCHER_DB_CONNECT_TIMEOUT_S)"
_STATEMENT_TIMEOUT = ("no answer within the statement timeout "
                      "(WATCHER_DB_STATEMENT_TIMEOUT_S)")


def is_database_error(exc: BaseException) -> bool:
    """Raised by the database or its driver (SQLAlchemy wraps the driver's errors)."""
    if isinstance(exc, SQLAlchemyError):
        return True
    module = type(exc).__module__
    return module.startswith(("sqlite3", "psycopg"))


def describe(exc: BaseException, url: URL | None = None) -> str:
    """``exc`` as one line of at most ``LIMIT`` characters. ``url`` (the engine's) names
    the server a connection failed to reach, without its password."""
    orig: BaseException = exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, BaseException):
        orig = exc.orig
    name = type(orig).__name__
    text = _first_line(str(orig))
    reason = None
    if name == "ConnectionTimeout":
        reason = _CONNECT_TIMEOUT
    elif _CONNECTION_FAILED.match(text):
        reason = _CONNECTION_FAILED.sub("", text)
        reason = reason[:1].lower() + reason[1:]  # "Connection refused" mid-sentence
    elif text.startswith("failed to resolve host"):
        reason = text
    if reason is not None:
        return _bounded(f"cannot connect to the database{_where(url)}: {reason}")
    if name == "QueryCanceled" and "statement timeout" in text:
        return _bounded(f"{name}: {_STATEMENT_TIMEOUT}")
    return _bounded(f"{name}: {text}" if text else name)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _where(url: URL | None) -> str:
    if url is None or url.get_backend_name() == "sqlite" or not url.host:
        return ""
    return f" at {url.host}:{url.port or 5432}"


def _bounded(text: str) -> str:
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"
