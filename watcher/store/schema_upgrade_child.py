"""The child's side of the daemon's schema upgrade (watcher.store.schema_upgrade says why
it runs in a child process): ``python -m watcher.store.schema_upgrade_child`` upgrades the
database named by ``WATCHER_DATABASE_URL`` to head and exits. A failure is one JSON
string on stdout and exit code ``FAILED``, the same StoreError text the in-process
upgrade raises.
"""

from __future__ import annotations

import json
import os
import sys

from watcher.errors import StoreError
from watcher.store.engine import make_engine, migration_error, upgrade
from watcher.store.schema_upgrade import FAILED, URL_VARIABLE


def main() -> int:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        print(json.dumps(f"cannot migrate the database: {URL_VARIABLE} is not set"))
        return FAILED
    try:
        engine = make_engine(url)  # creates a SQLite file's directory, which may fail
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    except StoreError as exc:
        print(json.dumps(str(exc)))
        return FAILED
    except OSError as exc:
        print(json.dumps(str(migration_error(exc))))
        return FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
