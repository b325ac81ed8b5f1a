"""Shared fixtures: a database URL for SQLite (always) and PostgreSQL (when reachable),
and loopback allowed for fetching in every test.

PostgreSQL tests get a fresh database each, created on the server at 127.0.0.1:5432 and
dropped afterwards. Under CI (CI=true) an unreachable server is an error, not a skip:
.ci/run starts it, so its absence means the run is not testing what it claims.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers.http_server import LOOPBACK_ALLOW

PG_ADMIN = os.environ.get("WATCHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test servers listen on 127.0.0.1, which watcher refuses to fetch by default
    (watcher.fetch.address). Every test allows loopback as a local deployment would,
    with WATCHER_FETCH_ALLOW; the tests of the refusal take it away again."""
    monkeypatch.setenv("WATCHER_FETCH_ALLOW", LOOPBACK_ALLOW)


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


PG_REACHABLE = _pg_reachable()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    if not PG_REACHABLE:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}; .ci/run should start it")
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    name = f"watcher_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against a SQLite file and against PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'watcher.db'}"
    return str(request.getfixturevalue("postgres_url"))
