"""Query parameters shared by the change log page, the feed and the JSON API.

HTML forms submit empty fields (``?kind=&type=``), so every value is optional text here
and empty means "any"; a value that cannot mean anything is a ``FilterError`` whose
message names the choices, shown on the page with status 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from watcher.display import HONG_KONG
from watcher.models import ChangeType, FactKind
from watcher.store.webqueries import ChangeFilter

KINDS = [str(k) for k in FactKind]
CHANGE_TYPES = [str(t) for t in ChangeType]
PAGE_SIZE = 50
MAX_PAGE = 100_000  # bounds the SQL OFFSET


class FilterError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The change log's filters as the user typed them, plus the page number."""

    kind: str = ""
    type: str = ""
    source: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""
    page: int = 1

    def link(self, **changes: str | int) -> str:
        """The query string of this view with some values changed (pagination links)."""
        values = {"kind": self.kind, "type": self.type, "source": self.source,
                  "from": self.date_from, "to": self.date_to, "q": self.q,
                  "page": self.page} | changes
        if values.get("page") == 1:
            values.pop("page")
        return "?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})

    @property
    def active(self) -> bool:
        return any((self.kind, self.type, self.source, self.date_from, self.date_to, self.q))


def _choice(name: str, value: str, allowed: list[str]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise FilterError(f"unknown {name} {value!r} (choose from: {', '.join(allowed)})")
    return value


def parse_day(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: {value!r} is not a date (use YYYY-MM-DD)") from None


def to_filter(kind: str | None = None, change_type: str | None = None,
              source: str | None = None, day_from: date | None = None,
              day_to: date | None = None, text: str | None = None) -> ChangeFilter:
    """The store's filter; days are Hong Kong days, as the pages show times, and
    ``day_to`` is inclusive (the whole day). A range that ends before it starts is not an
    error here: it simply matches nothing (the API's answer)."""
    since = datetime.combine(day_from, time.min, HONG_KONG) if day_from else None
    until = None
    if day_to:
        until = datetime.combine(day_to, time.min, HONG_KONG) + timedelta(days=1)
    return ChangeFilter(
        kind=_choice("kind", kind or "", KINDS),
        change_type=_choice("type", change_type or "", CHANGE_TYPES),
        source=source or None, since=since, until=until, text=(text or "").strip() or None)


def parse_log_query(kind: str | None, type_: str | None, source: str | None,
                    date_from: str | None, date_to: str | None, q: str | None,
                    page: str | None) -> tuple[LogQuery, ChangeFilter]:
    query = LogQuery(kind or "", type_ or "", source or "", (date_from or "").strip(),
                     (date_to or "").strip(), (q or "")[:200], 1)
    try:
        number = int(page) if page else 1
    except ValueError:
        raise FilterError(f"page: {page!r} is not a number") from None
    if not 1 <= number <= MAX_PAGE:
        raise FilterError(f"page must be between 1 and {MAX_PAGE}")
    query = LogQuery(query.kind, query.type, query.source, query.date_from, query.date_to,
                     query.q, number)
    day_from, day_to = parse_day("from", query.date_from), parse_day("to", query.date_to)
    if day_from and day_to and day_from > day_to:  # on the page, most likely a typo
        raise FilterError(f"from {day_from} is after to {day_to}")
    where = to_filter(query.kind, query.type, query.source, day_from, day_to, query.q)
    return query, where
