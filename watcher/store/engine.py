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
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from watcher.errors import StoreError
from watcher.service.settings import PROJECT_ROOT
from watcher.store.failure import describe
from watcher.store.schema_upgrade import upgrade_in_child
from watcher.store.tables import MetaRow

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


# PostgreSQL's defaults wait for ever: a server that accepts the connection and never
# answers (a hung host, a half-open firewall) hung every command. Each connection now
# gives up after the connect timeout, each statement after the statement timeout (the
# server cancels it), and TCP keepalives notice a server gone mid-session.
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_STATEMENT_TIMEOUT_S = 60.0
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
               "keepalives_count": 3}


def make_engine(url: str, *, connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S) -> Engine:
    """An engine for ``url``, with the SQLite settings above when it is SQLite, and the
    timeouts above (0: none) when it is PostgreSQL."""
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
    connect_args: dict[str, Any] = {}
    if make_url(url).get_backend_name() == "postgresql":
        connect_args = dict(_KEEPALIVES)
        if connect_timeout_s > 0:  # libpq counts whole seconds
            connect_args["connect_timeout"] = max(1, round(connect_timeout_s))
        if statement_timeout_s > 0:
            connect_args["options"] = f"-c statement_timeout={round(statement_timeout_s * 1000)}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


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
            serialize_init(connection)  # no statement timeout: a migration takes its time
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    # CommandError: e.g. a revision this release does not know (a newer one migrated it).
    except (SQLAlchemyError, CommandError) as exc:
        raise migration_error(exc, engine.url) from exc


def _at_head(engine: Engine) -> bool:
    try:
        return schema_is_current(engine)
    except SQLAlchemyError as exc:  # nothing migrated yet: the database did not answer
        raise _cannot("open", exc, engine.url) from exc


def migration_error(exc: Exception, url: URL | None = None) -> StoreError:
    """The one wording of a failed migration, in this process or the child's."""
    return _cannot("migrate", exc, url)


def _cannot(what: str, exc: Exception, url: URL | None) -> StoreError:
    """One line (watcher.store.failure): a database that cannot be reached says so
    alike whatever was being done, a refused port as a server that never answers."""
    problem = describe(exc, url)
    if problem.startswith("cannot connect"):
        return StoreError(problem)
    return StoreError(f"cannot {what} the database: {problem}")


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
        raise _cannot("open", exc, url) from exc
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
        # A replica waits as long as another one takes to migrate, and a migration may
        # run longer than the statement timeout: none for this transaction.
        session.execute(text("SET LOCAL statement_timeout = 0"))
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
    """Raise unless the database answers a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


_HEALTH_KEY = "healthz"


def check_writable(engine: Engine, now: datetime) -> None:
    """Raise unless the database takes a committed write (health checks): a read-only
    or full database still answers SELECT 1, and then every poll fails to store. The
    write is the time of the check, in one row of ``meta``."""
    # Each dialect's own INSERT ... ON CONFLICT; imported here, where it is used: the
    # daemon on SQLite never needs PostgreSQL's dialect module loaded.
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    table = MetaRow.__table__  # type: ignore[attr-defined]
    values = {"key": _HEALTH_KEY, "value": now.isoformat()}
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            statement: Any = postgresql_insert(table).values(values)
        else:
            statement = sqlite_insert(table).values(values)
        connection.execute(statement.on_conflict_do_update(
            index_elements=["key"], set_={"value": values["value"]}))


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
