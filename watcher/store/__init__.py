"""All database code. Callers open a transaction with ``transaction(engine)`` and pass the
session to the functions of the submodules; no SQL lives outside this package."""

from watcher.store.engine import (
    check_writable,
    make_engine,
    migrate,
    ping,
    serialize_init,
    serialize_writes,
    transaction,
)
from watcher.store.failure import describe as describe_error
from watcher.store.failure import is_database_error

__all__ = ["check_writable", "describe_error", "is_database_error", "make_engine", "migrate",
           "ping", "serialize_init", "serialize_writes", "transaction"]
