"""The web app: ``create_app(engine_or_settings)`` builds a read-only FastAPI application
that ``watcher serve`` runs and the daemon can mount.

Every page reads through ``watcher.store`` in its own session; nothing here writes. When a
token is configured every request must carry it, as ``Authorization: Bearer TOKEN``,
``?token=TOKEN`` (feed readers), or the cookie a browser gets after opening one
``?token=`` link, so following the page's own links keeps working.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine

from watcher import __version__, store
from watcher.service.settings import Settings
from watcher.web import api, feed, pages, views

TEMPLATES = Path(__file__).parent / "templates"
TOKEN_COOKIE = "watcher_token"


def template_environment() -> Environment:
    # autoescape=True for every template: names, titles and evidence come from monitored
    # sites and may carry markup.
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)
    environment.globals.update(views.TEMPLATE_GLOBALS)
    environment.filters.update(views.TEMPLATE_FILTERS)
    return environment


def _presented_token(request: Request) -> tuple[str, bool]:
    """The token the request carries, and whether it came in the query string."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    if "token" in request.query_params:
        return request.query_params["token"], True
    return request.cookies.get(TOKEN_COOKIE, ""), False


def _token_guard(token: str) -> Callable[[Request, Callable[[Request], Awaitable[Response]]],
                                         Awaitable[Response]]:
    expected = token.encode()

    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        presented, from_query = _presented_token(request)
        if not secrets.compare_digest(presented.encode(), expected):
            return PlainTextResponse("a valid token is required (Authorization: Bearer "
                                     "TOKEN, or ?token=TOKEN)\n", status_code=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        if from_query:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    return guard


def create_app(engine_or_settings: Engine | Settings, *, token: str | None = None) -> FastAPI:
    """The app over ``engine_or_settings``: an Engine (tests, the daemon's own), or
    Settings whose ``database_url`` is opened here. ``token`` defaults to the settings'
    ``web_token``; empty means no token is asked for (loopback only, see ``serve``)."""
    if isinstance(engine_or_settings, Settings):
        settings = engine_or_settings
        engine = store.make_engine(settings.database_url,
                                   connect_timeout_s=settings.db_connect_timeout_s,
                                   statement_timeout_s=settings.db_statement_timeout_s)
        token = engine_or_settings.web_token if token is None else token
    else:
        engine = engine_or_settings
    app = FastAPI(title="watcher", version=__version__,
                  description="Read-only change log of funds, facilities and organisations "
                              "that watcher found on official Hong Kong pages.",
                  docs_url="/api/docs", redoc_url=None)
    app.state.engine = engine
    app.state.templates = template_environment()
    if token:
        app.middleware("http")(_token_guard(token))

    app.include_router(pages.router)
    app.include_router(feed.router)
    app.include_router(api.router)
    return app
