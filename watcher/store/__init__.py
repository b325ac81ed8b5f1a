"""All database code. Callers open a transaction with ``transaction(engine)`` and pass the
session to the functions of the submodules; no SQL lives outside this package."""

from watcher.store.engine import (
    make_engine,
    migrate,
    ping,
    serialize_init,
    serialize_writes,
    transaction,
)

__all__ = ["make_engine", "migrate", "ping", "serialize_init", "serialize_writes",
           "transaction"]
