"""The daemon keeps Alembic out of its process: a database at the head revision is
recognised with plain SQLAlchemy, and an upgrade runs in a child process
(watcher.store.schema_upgrade) whose errors read like the in-process ones.

"Not imported" is checked in a fresh interpreter, as in test_imports.py: this test
process has imported Alembic already.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import watcher.store.tables  # noqa: F401  (registers the models' tables)
from tests.helpers.daemon import daemon_env, wait_until
from tests.helpers.daemon import watcher as run_watcher
from tests.helpers.interpreter import last_json_of
from watcher import store
from watcher.errors import StoreError
from watcher.store.engine import INIT_LOCK_KEY, SCHEMA_HEAD, is_in_memory, schema_is_current
from watcher.store.schema_upgrade import upgrade_in_child


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = store.make_engine(database_url)
    yield engine
    engine.dispose()


def init_in_fresh_interpreter(tmp_path: Path, database_url: str,
                              isolated: bool) -> dict[str, object]:
    """``Runtime.load(); runtime.init_database(...)`` in a new interpreter (no sources);
    reports whether Alembic got imported."""
    probe = ("import json, sys\n"
             "from watcher.service.runtime import Runtime\n"
             f"Runtime.load().init_database(isolated_migration={isolated})\n"
             "print(json.dumps({'alembic': 'alembic' in sys.modules,"
             " 'mako': 'mako' in sys.modules}))")
    env = daemon_env(tmp_path, database_url, notify="")
    loaded: dict[str, object] = last_json_of(probe, env=env)
    return loaded


def assert_schema_is_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == SCHEMA_HEAD
        assert compare_metadata(context, SQLModel.metadata) == []


@pytest.mark.parametrize("isolated", [True, False], ids=["daemon", "init"])
def test_a_database_at_head_is_initialised_without_importing_alembic(
        tmp_path: Path, database_url: str, engine: Engine, isolated: bool) -> None:
    store.migrate(engine)
    assert schema_is_current(engine)
    imported = init_in_fresh_interpreter(tmp_path, database_url, isolated)
    assert imported == {"alembic": False, "mako": False}


def test_an_empty_database_is_upgraded_by_a_child_process(
        tmp_path: Path, database_url: str, engine: Engine) -> None:
    assert not schema_is_current(engine)
    imported = init_in_fresh_interpreter(tmp_path, database_url, isolated=True)
    assert imported == {"alembic": False, "mako": False}  # the child imported it, not us
    assert_schema_is_the_models(engine)
    with engine.connect() as connection:  # init_database went on to register sources
        assert connection.execute(text("SELECT count(*) FROM fact")).scalar_one() > 0


def test_without_isolation_the_upgrade_runs_in_process(tmp_path: Path,
                                                       database_url: str) -> None:
    # The other side of the test above: the probe can see Alembic being imported.
    imported = init_in_fresh_interpreter(tmp_path, database_url, isolated=False)
    assert imported["alembic"] is True


def test_an_in_memory_database_is_upgraded_in_process() -> None:
    # Another process cannot see this database: isolation would upgrade nothing.
    engine = store.make_engine("sqlite://")
    assert is_in_memory(engine)
    store.migrate(engine, isolated=True)
    assert_schema_is_the_models(engine)
    engine.dispose()


def test_the_child_upgrades_an_older_revision(engine: Engine) -> None:
    from tests.unit.test_migrations import move

    move(engine, "upgrade", "0001")
    assert not schema_is_current(engine)
    store.migrate(engine, isolated=True)
    assert_schema_is_the_models(engine)


def test_a_revision_unknown_to_this_release_is_the_same_error_in_both_paths(
        engine: Engine) -> None:
    store.migrate(engine)
    with engine.begin() as connection:  # as if a newer release had migrated it
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError) as in_process:
        store.migrate(engine)
    with pytest.raises(StoreError) as in_child:
        store.migrate(engine, isolated=True)
    assert str(in_child.value) == str(in_process.value)
    assert str(in_child.value).startswith("cannot migrate the database: CommandError: ")
    assert "'9999'" in str(in_child.value)


def test_a_directory_the_child_cannot_create_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker / 'sub' / 'watcher.db'}"
    with pytest.raises(StoreError) as raised:
        upgrade_in_child(url)
    assert str(raised.value).startswith("cannot migrate the database: NotADirectoryError: ")
    assert str(blocker) in str(raised.value)


def test_the_daemon_does_not_start_when_the_child_fails(tmp_path: Path) -> None:
    database = tmp_path / "watcher.db"
    engine = store.make_engine(f"sqlite:///{database}")
    store.migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    env = daemon_env(tmp_path, f"sqlite:///{database}", notify="")
    done = run_watcher(env, "run")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(
        "database error: cannot migrate the database: CommandError: ")
    assert "Traceback" not in done.stderr


def child_processes() -> list[int]:
    """The pids of this process's children (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[1]) == os.getpid():
            children.append(int(stat.parent.name))
    return children


@pytest.mark.postgres
def test_the_child_waits_for_a_replica_holding_the_init_lock(postgres_url: str) -> None:
    # The server trusts local connections, so a password in the URL is carried, unused:
    # it must reach the child in its environment and never on its command line.
    url = make_url(postgres_url).set(password="s3cret-pw").render_as_string(
        hide_password=False)
    engine = store.make_engine(url)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": INIT_LOCK_KEY})
            failures: list[BaseException] = []

            def upgrade() -> None:
                try:
                    store.migrate(engine, isolated=True)
                except BaseException as exc:  # reported by the assertion below
                    failures.append(exc)

            worker = threading.Thread(target=upgrade)
            worker.start()

            def child_is_waiting() -> bool:
                with engine.connect() as probe:
                    return bool(probe.execute(text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted")).scalar_one())

            wait_until(child_is_waiting, 60, "the child waiting for the init lock")
            assert not schema_is_current(engine)  # nothing migrated while we hold it
            [child] = child_processes()
            command_line = Path(f"/proc/{child}/cmdline").read_bytes()
            environment = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            assert b"s3cret-pw" not in command_line
            assert f"WATCHER_DATABASE_URL={url}".encode() in environment
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": INIT_LOCK_KEY})
            holder.commit()
            worker.join(120)
        assert not worker.is_alive()
        assert failures == []
        assert_schema_is_the_models(engine)
    finally:
        engine.dispose()
