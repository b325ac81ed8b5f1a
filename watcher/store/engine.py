"""Opening the database and bringing its schema up to date.

SQLite gets WAL mode and a busy timeout so that ``watcher log`` can read while the
daemon writes; PostgreSQL needs nothing special. The schema is owned by the Alembic
revisions in ``db/migrations``: ``migrate()`` is what ``watcher init`` and ``watcher run``
call. On a database already at ``SCHEMA_HEAD`` it reads one row and returns without
importing Alembic, which would otherwise stay resident (about 11 MB with Mako) for the
whole life of the daemon; the daemon runs a needed upgrade in a child process
(watcher.store.schema_upgrade) for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from watcher.errors import StoreError
from watcher.service.settings import PROJECT_ROOT
from watcher.store.schema_upgrade import upgrade_in_child

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = PROJECT_ROOT / "db" / "migrations"
# The newest revision in db/migrations/versions. Bump it with every new revision:
# tests/unit/test_migrations.py compares it with Alembic's own head.
SCHEMA_HEAD = "0004"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Per connection, in KiB when negative: 1 MiB instead of SQLite's default 2 MiB. The
# daemon's worker threads each hold a pooled connection, and each cache fills up to its
# cap over a cycle; the hot pages (indexes of the page and fact tables) fit in 1 MiB.
SQLITE_CACHE_KIB = 1024
# Python's sqlite3 keeps the last 128 prepared statements of each connection (its default).
# An ``IN (?, ?, ...)`` query is a new statement for every length of its list, and a
# prepared list of a few hundred values takes tens of KiB inside SQLite: the cache of each
# pooled connection filled up over the daemon's life (bench daemon, 1,000 pages, 50
# changed per cycle: +0.17 MB every cycle; 300 lengths of list: 6 MB per connection).
# Preparing each statement anew costs microseconds; a warm cycle measured the same.
SQLITE_CACHED_STATEMENTS = 0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash loses no commit
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # see SQLITE_CACHE_KIB
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``, with the SQLite settings above when it is SQLite."""
    if url.startswith("sqlite"):
        parsed = make_url(url)
        path = parsed.database
        options: dict[str, Any] = {}
        if path and not _in_memory(parsed) and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # A file database has a pool of connections, each with its own page cache:
            # taking the one used last keeps only as many caches warm as threads need
            # (bench daemon at 5,000 pages: 113 -> 107 MB peak). An in-memory database
            # has one connection per thread and no such choice.
            options["pool_use_lifo"] = True
        engine = create_engine(url, connect_args={
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "cached_statements": SQLITE_CACHED_STATEMENTS}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    # Imported here, not at the top: Alembic (and Mako, Pygments behind it) costs about a
    # quarter second and 11 MB, and only start-up and `watcher init` need it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser's interpolation character; URLs may contain it (passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, *, isolated: bool = False) -> None:
    """Create or upgrade the schema to the newest revision.

    A database at ``SCHEMA_HEAD`` costs two small queries and no lock. Otherwise Alembic
    upgrades it, in this process, or with ``isolated`` (the daemon) in a short-lived child
    process so that Alembic's modules never load into the long-running one. An in-memory
    SQLite database exists only in this process, so it is always upgraded here."""
    if _at_head(engine):
        return
    if isolated and not is_in_memory(engine):
        upgrade_in_child(engine.url.render_as_string(hide_password=False))
        # The child said it succeeded; the daemon must not run on anything but the head.
        if not _at_head(engine):
            raise StoreError(f"cannot migrate the database: the upgrade process finished "
                             f"but the schema is not at revision {SCHEMA_HEAD}")
        return
    upgrade(engine)


def upgrade(engine: Engine) -> None:
    """Alembic's upgrade to head, in this process; replicas take turns (serialize_init)."""
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            serialize_init(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    # CommandError: e.g. a revision this release does not know (a newer one migrated it).
    except (SQLAlchemyError, CommandError) as exc:
        raise migration_error(exc) from exc


def _at_head(engine: Engine) -> bool:
    try:
        return schema_is_current(engine)
    except SQLAlchemyError as exc:  # nothing migrated yet: the database did not answer
        raise StoreError(f"cannot open the database: {database_problem(exc)}") from exc


def migration_error(exc: Exception) -> StoreError:
    """The one wording of a failed migration, in this process or the child's."""
    return StoreError(f"cannot migrate the database: {database_problem(exc)}")


def database_problem(exc: Exception) -> str:
    """One line for a database error: the driver's own first line (SQLAlchemy's text adds
    the statement, its parameters and a link on lines of their own)."""
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, Exception) else exc
    first = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
    return f"{cause.__class__.__name__}: {first}" if first else cause.__class__.__name__


def check_readable(engine: Engine) -> None:
    """Raise StoreError unless the database answers and holds watcher's newest schema.
    For the commands that only read (``watcher log``, ``show``, ``sources``, ``outbox``):
    they neither create a database nor migrate one, so they say what to run instead."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and not _in_memory(url) and url.database \
            and not url.database.startswith("file:") and not Path(url.database).exists():
        raise StoreError(f"no database yet at {url.database}: `watcher init` creates it, "
                         "`watcher check` polls the sources now")
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                raise StoreError("the database holds no watcher tables yet: run `watcher "
                                 "init` (or `watcher check`, which polls the sources too)")
            versions = [row[0] for row in connection.execute(
                text("SELECT version_num FROM alembic_version"))]
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the database: {database_problem(exc)}") from exc
    if versions != [SCHEMA_HEAD]:
        found = ", ".join(versions) or "none"
        raise StoreError(f"the database's schema is at revision {found}, this watcher reads "
                         f"{SCHEMA_HEAD}: run `watcher init` to upgrade it")


def schema_is_current(engine: Engine) -> bool:
    """Whether Alembic's version table holds exactly ``SCHEMA_HEAD``, read with plain
    SQLAlchemy. No lock: a replica migrating meanwhile has not committed its new revision,
    so this reads the old one (or no table) and the caller takes the locked path."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        versions = connection.execute(text("SELECT version_num FROM alembic_version"))
        return [row[0] for row in versions] == [SCHEMA_HEAD]


def is_in_memory(engine: Engine) -> bool:
    """An SQLite database that lives in this process only (``sqlite://``, ``:memory:``)."""
    return _in_memory(engine.url)


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory")


# Replicas starting together on one PostgreSQL database take turns at migrating, seeding
# and registering sources: a transaction-scoped advisory lock on this key (any constant).
INIT_LOCK_KEY = 0x77617463  # "watc"


def serialize_init(session: Session | Connection) -> None:
    """Wait, on PostgreSQL, until no other replica is initialising; the lock is released
    when this transaction ends. SQLite serialises writers by itself."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INIT_LOCK_KEY})


# Polls store their chunks one at a time per database, on every replica: a chunk reads
# what the store knows (is this change new? does this fact have a current row?), decides,
# then writes, and two polls reporting the same change side by side both decided "new"
# (PostgreSQL: a unique violation on change.identity that failed the second poll).
WRITE_LOCK_KEY = 0x77617464  # "watd"


def serialize_writes(session: Session) -> None:
    """Take the database's write turn for this transaction, before its first query;
    it is released when the transaction ends. PostgreSQL: a transaction-scoped advisory
    lock. SQLite: BEGIN IMMEDIATE, which takes the write lock now rather than at the
    first write, so nothing another connection commits in between is missed (waits up
    to the busy timeout, like any writer)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query (health checks)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
