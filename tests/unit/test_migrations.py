"""Alembic migrations on SQLite and PostgreSQL: upgrading an empty database gives exactly
the models' schema, and every revision keeps the rows written under the one before it.

The data test needs no edit when a revision is added: it reflects the schema at the older
revision, writes one row into every table (a value for every column, foreign keys pointing
at the rows with id 1), upgrades one step and reads the same rows and columns back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, LargeBinary, MetaData
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import watcher.store.tables  # noqa: F401  (registers the models' tables)
from watcher import store
from watcher.store.engine import SCHEMA_HEAD, alembic_config

SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))
REVISIONS = [r.revision for r in reversed(list(SCRIPTS.walk_revisions()))]  # oldest first
STEPS = list(pairwise(REVISIONS))
WHEN = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = store.make_engine(database_url)
    yield engine
    engine.dispose()


def move(engine: Engine, action: str, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_revisions_form_one_line() -> None:
    assert len(SCRIPTS.get_heads()) == 1
    assert REVISIONS[0] == "0001"


def test_schema_head_constant_is_alembics_head() -> None:
    # migrate() trusts SCHEMA_HEAD to skip Alembic on an up-to-date database: a new
    # revision in db/migrations/versions must bump it in watcher/store/engine.py.
    assert SCRIPTS.get_current_head() == SCHEMA_HEAD, (
        f"set SCHEMA_HEAD = {SCRIPTS.get_current_head()!r} in watcher/store/engine.py")


def test_upgrade_from_empty_equals_the_models(engine: Engine) -> None:
    move(engine, "upgrade", "head")
    assert current_revision(engine) == SCRIPTS.get_current_head()
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diffs == []


def test_downgrade_to_empty_and_upgrade_again(engine: Engine) -> None:
    move(engine, "upgrade", "head")
    move(engine, "downgrade", "base")
    assert current_revision(engine) is None
    move(engine, "upgrade", "head")
    assert current_revision(engine) == SCRIPTS.get_current_head()


def sample(column: Any) -> Any:
    """A value for a column of any type watcher's schema uses."""
    kind = column.type
    if column.foreign_keys or (column.primary_key and isinstance(kind, Integer)):
        return 1
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, BigInteger):
        return 10_000_000_000  # HK$10 billion: needs 64 bits
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, DateTime):
        return WHEN
    if isinstance(kind, JSON):
        return {"amount_hkd": 500_000_000, "tags": ["gov"]}
    if isinstance(kind, LargeBinary):
        return b"\x78\x9c compressed page"
    text = f"{column.table.name}.{column.name} 資助"
    length = getattr(kind, "length", None)
    return text[-length:] if length else text  # VARCHAR(n) holds at most n


def rows_of(engine: Engine, metadata: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {table.name: [tuple(r) for r in connection.execute(table.select())]
                for table in metadata.sorted_tables if table.name != "alembic_version"}


@pytest.mark.parametrize(("older", "newer"), STEPS, ids=[f"{a}-{b}" for a, b in STEPS])
def test_upgrade_keeps_the_data_of_the_previous_revision(engine: Engine, older: str,
                                                         newer: str) -> None:
    move(engine, "upgrade", older)
    before = MetaData()
    before.reflect(engine)
    with engine.begin() as connection:
        for table in before.sorted_tables:  # parents before children
            if table.name != "alembic_version":
                connection.execute(table.insert().values(
                    {column.name: sample(column) for column in table.columns}))
    written = rows_of(engine, before)
    assert all(len(rows) == 1 for rows in written.values())

    move(engine, "upgrade", newer)
    assert current_revision(engine) == newer
    # The old tables' columns, read through the old reflection: same rows, same values.
    assert rows_of(engine, before) == written


def test_migrate_on_a_database_with_data_is_a_noop(engine: Engine) -> None:
    store.migrate(engine)
    head = MetaData()
    head.reflect(engine)
    with engine.begin() as connection:
        for table in head.sorted_tables:
            if table.name != "alembic_version":
                connection.execute(table.insert().values(
                    {column.name: sample(column) for column in table.columns}))
    written = rows_of(engine, head)
    store.migrate(engine)
    assert rows_of(engine, head) == written


def test_0004_gives_stored_changes_their_prior(engine: Engine) -> None:
    move(engine, "upgrade", "0003")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO change (identity, type, fact_key, kind, name, before, after, current, "
            "evidence, language, detected_at) VALUES ('i', 'changed', 'a', 'funding', 'A', "
            "'{\"amount_hkd\": 5}', '{\"amount_hkd\": 6}', '{}', '', 'en', "
            "'2025-03-01 00:00:00')")
    move(engine, "upgrade", "0004")
    with engine.connect() as connection:
        prior = connection.exec_driver_sql("SELECT prior FROM change").scalar_one()
    assert (prior if isinstance(prior, dict) else json.loads(prior)) == {"amount_hkd": 5}
