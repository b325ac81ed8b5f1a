"""The HTML pages: change log, one change, facts, one fact's timeline, sources, charts.

Server-rendered and usable without JavaScript: filters are a GET form, pagination is
links. Bad filter values give the page back with a one-line message and status 400.
The one thing a page can change is a change's dismissal: its "This is wrong" form posts
to /changes/ID/dismiss, protected against forgery (watcher.web.csrf) and, beyond
loopback, by the token like every other request.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlmodel import Session

from watcher import store
from watcher.store import dismissals, queries, webqueries
from watcher.store import sources as source_store
from watcher.store.timeutil import utcnow
from watcher.web import charts, csrf
from watcher.web.deps import session
from watcher.web.params import (
    CHANGE_TYPES,
    KINDS,
    PAGE_SIZE,
    FilterError,
    LogQuery,
    parse_log_query,
)
from watcher.web.views import render

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(session)]
Text = Annotated[str | None, Query()]


@router.get("/", response_class=HTMLResponse)
def change_log(request: Request, db: DB, kind: Text = None,
               type: Text = None,
               source: Text = None, q: Text = None, page: Text = None,
               date_from: Annotated[str | None, Query(alias="from")] = None,
               date_to: Annotated[str | None, Query(alias="to")] = None) -> HTMLResponse:
    error = ""
    try:
        query, where = parse_log_query(kind, type, source, date_from, date_to, q, page)
    except FilterError as exc:
        error = str(exc)
        query, where = LogQuery(), webqueries.ChangeFilter()
    found = webqueries.search_changes(db, where, offset=(query.page - 1) * PAGE_SIZE,
                                      limit=PAGE_SIZE)
    return render(request, "changes.html", 400 if error else 200, error=error, query=query,
                  found=found, kinds=KINDS, change_types=CHANGE_TYPES,
                  sources=webqueries.source_names(db), page_size=PAGE_SIZE)


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def change_page(request: Request, db: DB, change_id: int) -> HTMLResponse:
    entry = queries.change(db, change_id) if 0 < change_id < 2**63 else None
    if entry is None:
        return render(request, "missing.html", 404, what=f"change {change_id}")
    rules = list(dict.fromkeys(d.rule_id for d in entry.deliveries))
    return render(request, "change.html", entry=entry, rules=rules,
                  context=webqueries.evidence_context(db, change_id),
                  csrf=csrf.form_token(request.app.state.csrf_key, _dismiss_action(change_id)))


def _dismiss_action(change_id: int) -> str:
    return f"/changes/{change_id}/dismiss"


@router.post("/changes/{change_id}/dismiss", response_model=None)
async def dismiss_change(request: Request, change_id: int) -> Response:
    """The "This is wrong" button: dismiss the change, then show its page again."""
    action = _dismiss_action(change_id)
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:10_000])
    token = (form.get("csrf") or [""])[0]
    if not csrf.same_origin(request) or not csrf.valid(request.app.state.csrf_key, action,
                                                       token):
        return PlainTextResponse("this form has expired or did not come from watcher's "
                                 "page: open the change again and retry\n", status_code=403)
    reason = (form.get("reason") or [""])[0]
    with store.transaction(request.app.state.engine) as db:
        done = dismissals.dismiss(db, change_id, reason, utcnow()) if (
            0 < change_id < 2**63) else None
    if done is None:
        return render(request, "missing.html", 404, what=f"change {change_id}")
    return RedirectResponse(f"/changes/{change_id}#dismissed", status_code=303)


@router.get("/facts", response_class=HTMLResponse)
def facts_page(request: Request, db: DB, kind: Text = None) -> HTMLResponse:
    chosen = kind if kind in KINDS else None
    return render(request, "facts.html", facts=webqueries.facts(db, chosen), kind=chosen,
                  kinds=KINDS,
                  funding_svg=charts.funding_chart(webqueries.funding_by_quarter(db)),
                  status_svg=charts.status_chart(webqueries.status_counts(db)))


@router.get("/facts/{key}", response_class=HTMLResponse)
def fact_page(request: Request, db: DB, key: str) -> HTMLResponse:
    timeline = webqueries.fact_timeline(db, key[:200])
    if timeline is None:
        return render(request, "missing.html", 404, what=f"fact {key!r}")
    return render(request, "fact.html", timeline=timeline, fact=timeline.summary)


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request, db: DB) -> HTMLResponse:
    return render(request, "sources.html", sources=source_store.health(db))


def _svg(markup: str) -> Response:
    return Response(markup, media_type="image/svg+xml")


@router.get("/charts/funding.svg")
def funding_svg(db: DB) -> Response:
    return _svg(charts.funding_chart(webqueries.funding_by_quarter(db)))


@router.get("/charts/facilities.svg")
def facilities_svg(db: DB) -> Response:
    return _svg(charts.status_chart(webqueries.status_counts(db)))
