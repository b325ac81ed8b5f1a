"""Read-only views for the web pages and the JSON API: a filtered, paginated change log
with text search and a date range, the list of known facts, one fact's timeline, the
numbers behind the charts, and the evidence sentence in its page's text.

Nothing here writes. Results are the frozen dataclasses of ``queries`` or the small ones
below, so ``watcher.web`` never sees a table row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from watcher.read.cite import PAGE_BREAK, split_citation
from watcher.store.facts import BASELINE, CURRENT
from watcher.store.queries import ChangeEntry, _entry, change_documents
from watcher.store.tables import ChangeRow, DocumentRow, FactRow, SourceRow
from watcher.store.timeutil import as_utc

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    """What the change log page, the feed and ``/api/changes`` filter on. Empty means all."""

    kind: str | None = None
    change_type: str | None = None
    source: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    text: str | None = None  # case-insensitive substring of name, key or evidence
    fact_key: str | None = None


@dataclass(frozen=True, slots=True)
class ChangePage:
    entries: list[ChangeEntry]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class FactState:
    """One fact's value in one scope (the article's baseline, or the present belief)."""

    amount_hkd: int | None
    status: str | None
    attributes: dict[str, Any]
    evidence: str
    language: str
    seen_at: datetime | None
    amounts: list[dict[str, Any]] = field(default_factory=list)  # with their roles
    evidence_at: datetime | None = None  # when the newest page about it was published


@dataclass(frozen=True, slots=True)
class FactSummary:
    key: str
    kind: str
    name: str
    baseline: FactState | None
    current: FactState | None  # None while nothing was observed since the baseline
    changes: int
    last_change_at: datetime | None

    @property
    def latest(self) -> FactState | None:
        return self.current or self.baseline


@dataclass(frozen=True, slots=True)
class FactTimeline:
    summary: FactSummary
    changes: list[ChangeEntry] = field(default_factory=list)  # oldest first


@dataclass(frozen=True, slots=True)
class EvidenceContext:
    """The evidence sentence inside the text of the page it came from."""

    before: str
    sentence: str
    after: str
    url: str
    title: str
    place: str | None = None  # "p. 2", "¶47": where in the document (watcher.read.cite)


def _clean(text: str | None) -> str | None:
    # PostgreSQL refuses NUL in text; a search for it can match nothing anyway.
    if text is None:
        return None
    text = text.replace("\x00", "").strip()
    return text or None


def _filtered(query: SelectOfScalar[Any], where: ChangeFilter) -> SelectOfScalar[Any]:
    if where.kind:
        query = query.where(ChangeRow.kind == where.kind)
    if where.change_type:
        query = query.where(ChangeRow.type == where.change_type)
    if where.fact_key:
        query = query.where(ChangeRow.fact_key == where.fact_key)
    if where.since is not None:
        query = query.where(ChangeRow.detected_at >= where.since)
    if where.until is not None:
        query = query.where(ChangeRow.detected_at < where.until)
    if where.source:
        query = query.join(SourceRow, col(SourceRow.id) == col(ChangeRow.source_id)).where(
            SourceRow.name == where.source)
    text = _clean(where.text)
    if text:
        needle = text.lower()
        # autoescape: a user's % or _ is a literal character, not a wildcard.
        query = query.where(or_(
            func.lower(col(ChangeRow.name)).contains(needle, autoescape=True),
            func.lower(col(ChangeRow.fact_key)).contains(needle, autoescape=True),
            func.lower(col(ChangeRow.evidence)).contains(needle, autoescape=True),
        ))
    return query


def search_changes(session: Session, where: ChangeFilter, *, offset: int = 0,
                   limit: int = 50) -> ChangePage:
    """Changes matching ``where``, newest first, one page of them, with the total count."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    total = session.exec(_filtered(select(func.count(col(ChangeRow.id))), where)).one()
    rows = session.exec(
        _filtered(select(ChangeRow), where)
        .order_by(col(ChangeRow.detected_at).desc(), col(ChangeRow.id).desc())
        .offset(offset).limit(limit)
    ).all()
    documents = change_documents(session, [r.id for r in rows if r.id is not None])
    entries = [_entry(row, documents.get(row.id or 0, [])) for row in rows]
    return ChangePage(entries, int(total), offset, limit)


def source_names(session: Session) -> list[str]:
    return list(session.exec(select(SourceRow.name).order_by(col(SourceRow.name))).all())


def _state(row: FactRow) -> FactState:
    return FactState(row.amount_hkd, row.status, dict(row.attributes), row.evidence,
                     row.language, as_utc(row.last_seen), list(row.amounts),
                     as_utc(row.evidence_at))


def _summaries(session: Session, kind: str | None, key: str | None) -> list[FactSummary]:
    query = select(FactRow).where(col(FactRow.scope).in_([BASELINE, CURRENT]))
    if kind:
        query = query.where(FactRow.kind == kind)
    if key is not None:
        query = query.where(FactRow.key == key)
    by_key: dict[str, dict[str, FactRow]] = {}
    for row in session.exec(query).all():
        by_key.setdefault(row.key, {})[row.scope] = row
    if not by_key:
        return []
    stats_query = (select(ChangeRow.fact_key, func.count(), func.max(ChangeRow.detected_at))
                   .where(col(ChangeRow.fact_key).in_(list(by_key)))
                   .group_by(col(ChangeRow.fact_key)))
    stats = {k: (int(n), as_utc(last)) for k, n, last in session.exec(stats_query).all()}
    summaries = []
    for fact_key, scopes in by_key.items():
        base, current = scopes.get(BASELINE), scopes.get(CURRENT)
        named = current or base
        assert named is not None
        count, last = stats.get(fact_key, (0, None))
        summaries.append(FactSummary(
            fact_key, named.kind, named.name, _state(base) if base else None,
            _state(current) if current else None, count, last))
    return sorted(summaries, key=lambda s: (s.kind, s.name.lower()))


def facts(session: Session, kind: str | None = None) -> list[FactSummary]:
    """Every fund, facility, organisation and figure known from the baseline or observed
    since, with its baseline and present values, by kind then name."""
    return _summaries(session, kind, None)


def fact_timeline(session: Session, key: str) -> FactTimeline | None:
    """One fact: its baseline, its present value and every change to it, oldest first."""
    found = _summaries(session, None, key)
    if not found:
        return None
    rows = session.exec(
        select(ChangeRow).where(ChangeRow.fact_key == key)
        .order_by(col(ChangeRow.detected_at), col(ChangeRow.id))
    ).all()
    documents = change_documents(session, [r.id for r in rows if r.id is not None])
    return FactTimeline(found[0], [_entry(r, documents.get(r.id or 0, [])) for r in rows])


def quarter_of(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def funding_by_quarter(session: Session) -> list[tuple[str, int]]:
    """HKD of funding announced per quarter, oldest first: a new fund counts its amount,
    a raised amount counts the increase. The quarter is the page's publication date when
    the page gave one, else when watcher saw it. Quarters without money are included so
    the chart's time axis has no holes."""
    rows = session.exec(
        select(ChangeRow, DocumentRow.published_at)
        .join(DocumentRow, col(DocumentRow.id) == col(ChangeRow.document_id), isouter=True)
        .where(ChangeRow.kind == "funding", col(ChangeRow.type).in_(["new", "changed"]))
    ).all()
    totals: Counter[str] = Counter()
    for change, published in rows:
        amount = _announced(change)
        if amount <= 0:
            continue
        moment = as_utc(published) or as_utc(change.detected_at)
        assert moment is not None
        totals[quarter_of(moment)] += amount
    if not totals:
        return []
    return [(q, totals.get(q, 0)) for q in _quarter_range(min(totals), max(totals))]


def _announced(change: ChangeRow) -> int:
    after = change.after.get("amount_hkd")
    if not isinstance(after, int):
        return 0
    before = change.before.get("amount_hkd")
    if change.type == "changed":
        return after - before if isinstance(before, int) else after
    return after


def _quarter_range(first: str, last: str) -> list[str]:
    year, quarter = int(first[:4]), int(first[-1])
    out = []
    while True:
        label = f"{year}-Q{quarter}"
        out.append(label)
        if label >= last or len(out) > 400:  # bounded: a century of quarters
            return out
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def status_counts(session: Session, kind: str = "facility") -> dict[str, int]:
    """How many facts of ``kind`` stand at each status now (present belief, else baseline)."""
    latest: dict[str, tuple[str, str | None]] = {}
    rows = session.exec(
        select(FactRow.key, FactRow.scope, FactRow.status)
        .where(FactRow.kind == kind, col(FactRow.scope).in_([BASELINE, CURRENT]))
    ).all()
    for key, scope, status in rows:
        if scope == CURRENT or key not in latest:
            latest[key] = (scope, status)
    return dict(Counter(status or "unknown" for _, status in latest.values()))


def evidence_context(session: Session, change_id: int, width: int = 280
                     ) -> EvidenceContext | None:
    """The evidence sentence with up to ``width`` characters of its page's text on each
    side, or None when the page's text no longer contains it."""
    row = session.get(ChangeRow, change_id)
    if row is None or row.document_id is None or not row.evidence:
        return None
    document = session.get(DocumentRow, row.document_id)
    if document is None:
        return None
    # The evidence may carry its place in front ("[p. 2] ..."): the sentence is found
    # without it, and the place is shown beside it.
    place, sentence = split_citation(row.evidence)
    text = document.text.replace(PAGE_BREAK, " ")
    at = text.find(sentence)
    if at < 0:
        return None
    start, end = max(0, at - width), at + len(sentence)
    before = text[start:at]
    after = text[end : end + width]
    return EvidenceContext(("…" if start else "") + before, sentence,
                           after + ("…" if end + width < len(text) else ""),
                           document.url, document.title, place)
