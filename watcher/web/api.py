"""The JSON API: ``/api/changes``, ``/api/changes/{id}``, ``/api/facts``,
``/api/facts/{key}`` and ``/api/sources``, described at ``/openapi.json``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel
from sqlmodel import Session

from watcher.store import queries, webqueries
from watcher.store import sources as source_store
from watcher.web.deps import session
from watcher.web.params import FilterError, to_filter

router = APIRouter(prefix="/api", tags=["read-only"])
DB = Annotated[Session, Depends(session)]
Kind = Literal["funding", "facility", "organisation", "figure"]
ChangeTypeName = Literal["new", "changed", "removed", "seen"]


class SourceLink(BaseModel):
    url: str
    title: str
    language: str
    source: str
    published_at: datetime | None


class DeliveryOut(BaseModel):
    id: int
    rule: str
    target: str
    status: str
    attempts: int
    last_error: str | None


class AmountOut(BaseModel):
    """One amount a page tied to a fact, with its role: only ``size`` is the fund's size."""

    role: str  # size, added, cap_per_project, grant, project_cost, threshold, ...
    hkd: int
    text: str = ""  # as written on the page
    qualifier: str = ""  # about, over, up_to, at_least, under; "" when exact
    previous_hkd: int | None = None  # the value the page says it replaced
    earlier: bool = False  # a past value, not the present one


class ChangeOut(BaseModel):
    id: int
    type: str  # new, changed, removed, seen (a known thing first seen: no alert)
    kind: str
    key: str
    name: str
    before: dict[str, Any]
    after: dict[str, Any]
    current: dict[str, Any]
    evidence: str
    language: str
    amounts: list[AmountOut]
    detected_at: datetime
    dismissed_at: datetime | None  # set when a person said the change is wrong
    dismiss_reason: str | None
    sources: list[SourceLink]
    deliveries: list[DeliveryOut]


class ChangeList(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ChangeOut]


class FactStateOut(BaseModel):
    amount_hkd: int | None  # the size alone; the other amounts are in ``amounts``
    status: str | None
    attributes: dict[str, Any]
    evidence: str
    language: str
    amounts: list[AmountOut]
    evidence_at: datetime | None  # when the newest page about it was published


class FactOut(BaseModel):
    key: str
    kind: str
    name: str
    baseline: FactStateOut | None
    current: FactStateOut | None
    changes: int
    last_change_at: datetime | None


class FactTimelineOut(FactOut):
    timeline: list[ChangeOut]


class SourceOut(BaseModel):
    name: str
    kind: str
    url: str
    tags: list[str]
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_due_at: datetime | None


def _change(entry: queries.ChangeEntry) -> ChangeOut:
    return ChangeOut.model_validate(entry.as_json())


def _state(state: webqueries.FactState | None) -> FactStateOut | None:
    if state is None:
        return None
    return FactStateOut(amount_hkd=state.amount_hkd, status=state.status,
                        attributes=state.attributes, evidence=state.evidence,
                        language=state.language, amounts=_amounts(state.amounts),
                        evidence_at=state.evidence_at)


def _amounts(amounts: list[dict[str, Any]]) -> list[AmountOut]:
    return [AmountOut.model_validate({k: v for k, v in a.items() if k in AmountOut.model_fields})
            for a in amounts]


def _fact(fact: webqueries.FactSummary) -> dict[str, Any]:
    return dict(key=fact.key, kind=fact.kind, name=fact.name, baseline=_state(fact.baseline),
                current=_state(fact.current), changes=fact.changes,
                last_change_at=fact.last_change_at)


@router.get("/changes", response_model=ChangeList,
            responses={400: {"description": "Filters that contradict each other, e.g. "
                                            "'from' after 'to'"}})
def list_changes(
    db: DB,
    kind: Kind | None = None,
    type: ChangeTypeName | None = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in name or evidence")
                 ] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Inclusive")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=webqueries.MAX_PAGE_SIZE)] = 50,
) -> ChangeList:
    """The change log, newest first, filtered and paginated."""
    try:
        where = to_filter(kind, type, source, date_from, date_to, q)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None
    found = webqueries.search_changes(db, where, offset=offset, limit=limit)
    return ChangeList(total=found.total, offset=found.offset, limit=found.limit,
                      items=[_change(e) for e in found.entries])


@router.get("/changes/{change_id}", response_model=ChangeOut,
            responses={404: {"description": "No such change"}})
def get_change(db: DB, change_id: Annotated[int, Path(ge=1, le=2**62)]) -> ChangeOut:
    """One change with every page that reported it and each delivery's status."""
    entry = queries.change(db, change_id)
    if entry is None:
        raise HTTPException(404, f"no change with id {change_id}")
    return _change(entry)


@router.get("/facts", response_model=list[FactOut])
def list_facts(db: DB, kind: Kind | None = None) -> list[FactOut]:
    """Every known fact with its baseline (from the seed article) and present value."""
    return [FactOut(**_fact(f)) for f in webqueries.facts(db, kind)]


FactKey = Annotated[str, Path(max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.get("/facts/{key}", response_model=FactTimelineOut,
            responses={404: {"description": "No such fact"}})
def get_fact(db: DB, key: FactKey) -> FactTimelineOut:
    """One fact and every change to it, oldest first."""
    timeline = webqueries.fact_timeline(db, key.replace("\x00", "")[:200])
    if timeline is None:
        raise HTTPException(404, f"no fact with key {key!r}")
    return FactTimelineOut(**_fact(timeline.summary),
                           timeline=[_change(e) for e in timeline.changes])


@router.get("/sources", response_model=list[SourceOut])
def list_sources(db: DB) -> list[SourceOut]:
    """Each source's health: last success, last error, consecutive failures."""
    return [SourceOut(name=h.name, kind=h.kind, url=h.url, tags=list(h.tags),
                      last_polled_at=h.last_polled_at, last_success_at=h.last_success_at,
                      last_error=h.last_error, last_error_at=h.last_error_at,
                      consecutive_failures=h.consecutive_failures, next_due_at=h.next_due_at)
                      for h in source_store.health(db)]
