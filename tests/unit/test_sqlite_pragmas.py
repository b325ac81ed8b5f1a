"""Every SQLite connection from make_engine carries watcher's settings (engine.py says
why each one): checked by reading them back from a connection of the pool."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

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
