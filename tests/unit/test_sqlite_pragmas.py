"""Every SQLite connection from make_engine carries watcher's settings (engine.py says
why each one): checked by reading them back from a connection of the pool, and for the
statement cache, by SQLite's own count of the memory it holds."""

from __future__ import annotations

import ctypes
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from watcher import store
from watcher.store.engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_CACHE_KIB


def test_sqlite_connections_get_wal_a_busy_timeout_and_a_1_mib_page_cache(
        tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'watcher.db'}")
    try:
        with engine.connect() as connection:
            def pragma(name: str) -> object:
                return connection.execute(text(f"PRAGMA {name}")).scalar_one()

            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
            assert pragma("foreign_keys") == 1
            assert pragma("synchronous") == 1  # NORMAL
            # Negative: a size in KiB, not in pages.
            assert pragma("cache_size") == -SQLITE_CACHE_KIB == -1024
    finally:
        engine.dispose()


def _sqlite_memory_used() -> Callable[[], int]:
    """SQLite's sqlite3_memory_used() of the library this interpreter's sqlite3 runs on."""
    import _sqlite3

    library = ctypes.CDLL(_sqlite3.__file__)  # resolves the symbol in its SQLite
    used = library.sqlite3_memory_used
    used.restype = ctypes.c_int64
    return lambda: int(used())


def _growth_after_distinct_in_lists(run: Callable[[int], object], lengths: range) -> int:
    used = _sqlite_memory_used()
    before = used()
    for n in lengths:
        run(n)
    return used() - before


def test_sqlite_connections_do_not_keep_a_prepared_statement_per_in_list_length(
        tmp_path: Path) -> None:
    lengths = range(1, 201)
    # The measurement sees this process's SQLite: sqlite3's default cache grows by MBs.
    control = sqlite3.connect(tmp_path / "control.db")
    control.execute("CREATE TABLE page (id INTEGER PRIMARY KEY, url TEXT)")
    cached = _growth_after_distinct_in_lists(
        lambda n: control.execute(f"SELECT id FROM page WHERE url IN ({','.join('?' * n)})",
                                  [str(i) for i in range(n)]).fetchall(), lengths)
    control.close()
    assert cached > 1_000_000

    engine = store.make_engine(f"sqlite:///{tmp_path / 'watcher.db'}")
    page = Table("page", MetaData(), Column("id", Integer, primary_key=True),
                 Column("url", String))
    try:
        with engine.connect() as connection:
            page.create(connection)
            growth = _growth_after_distinct_in_lists(
                lambda n: connection.execute(
                    select(page.c.id).where(page.c.url.in_([str(i) for i in range(n)]))
                ).all(), lengths)
    finally:
        engine.dispose()
    assert growth < cached / 20, (growth, cached)
