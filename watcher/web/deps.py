"""What the routers share: the FastAPI dependency that opens one read session per request.

Its own module because the app (watcher.web.app) includes the routers and the routers need
this: kept in the app module, the two imported each other.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlmodel import Session

from watcher import store


def session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one read session per request."""
    with store.transaction(request.app.state.engine) as opened:
        yield opened
