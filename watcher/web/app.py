"""The web app: ``create_app(engine_or_settings)`` builds the FastAPI application that
``watcher serve`` runs and the daemon can mount.

Every page reads through ``watcher.store`` in its own session. The one write is a change's
dismissal, from its page's "This is wrong" form (watcher.web.pages, watcher.web.csrf). When a
token is configured every request must carry it, as ``Authorization: Bearer TOKEN``,
``?token=TOKEN`` (feed readers), or the cookie a browser gets after opening one
``?token=`` link, so following the page's own links keeps working (``Secure`` when served
over https). Every response carries a Content-Security-Policy (the pages run no script),
X-Frame-Options, X-Content-Type-Options and Referrer-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine

from watcher import __version__, store
from watcher.service.settings import Settings
from watcher.web import api, csrf, feed, pages, views

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


def _style_sources() -> str:
    """CSP hashes of the templates' inline ``<style>`` blocks (the pages' only inline
    content: they run no script at all). A block must hold no template syntax, so that
    the hash of its source is the hash of what the browser gets (a test checks)."""
    hashes = []
    for path in sorted(TEMPLATES.glob("*.html")):
        for block in re.findall(r"<style>(.*?)</style>", path.read_text(encoding="utf-8"),
                                re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return " ".join(hashes) or "'none'"


# The pages: their own CSS, SVG charts inline, forms to themselves, never in a frame.
PAGE_POLICY = ("default-src 'none'; style-src {styles}; img-src 'self' data:; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# FastAPI's Swagger UI (/api/docs) runs its own inline script beside its bundle, which
# this app serves itself (/api/docs/assets), and fetches the OpenAPI document.
DOCS_POLICY = ("default-src 'none'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
               "base-uri 'none'; frame-ancestors 'none'")


def _security_headers() -> Callable[[Request, Callable[[Request], Awaitable[Response]]],
                                    Awaitable[Response]]:
    page_policy = PAGE_POLICY.format(styles=_style_sources())

    async def headers(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        docs = request.url.path.startswith("/api/docs")
        response.headers.setdefault("Content-Security-Policy",
                                    DOCS_POLICY if docs else page_policy)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # A ?token= link must not travel to the sites the pages link to.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return headers


def _over_https(request: Request) -> bool:
    """Served over https, directly or behind a proxy that says so (X-Forwarded-Proto;
    believing it can only add ``Secure`` to the cookie, never remove it)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


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
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                                secure=_over_https(request))
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
                  docs_url=None, redoc_url=None)
    app.state.engine = engine
    app.state.templates = template_environment()
    app.state.csrf_key = csrf.new_key(token)
    if token:
        app.middleware("http")(_token_guard(token))
    # Added last, so it runs first and also marks the guard's 401 answers.
    app.middleware("http")(_security_headers())

    app.include_router(pages.router)
    app.include_router(feed.router)
    app.include_router(api.router)
    _offline_docs(app)
    return app


def _offline_docs(app: FastAPI) -> None:
    """``/api/docs``: Swagger UI from the installed swagger-ui-bundle-v2, not FastAPI's
    default CDN, so the page renders on a machine with no internet (watcher is often run
    on one). Its assets are served under ``/api/docs/assets/``."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    assets = "/api/docs/assets"
    app.mount(assets, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="watcher API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png")
