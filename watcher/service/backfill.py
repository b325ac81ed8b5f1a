"""Backfill: read the GIA daily archive day by day to build history (facts, changes).

The archive keeps one index page per day, ``/gia/general/YYYYMM/DD.htm`` (``DDc.htm`` in
Chinese), linking to that day's releases. A source whose URL is the live index
(``today.htm`` / ``ctoday.htm``, see sources/gia.yaml) can be backfilled: each day is read
exactly like a poll of that source, with its ``items`` and ``follow`` selectors, through
the same fetcher (so robots.txt and the per-host delay apply) and stored the same way,
without alerts unless asked.

Resumable: after each day is stored, the day is remembered per source in the ``meta``
table (key ``backfill:<source>``); a later run skips the days already done. A day whose
index or any release could not be fetched stops the run before that day is stored or
remembered, so running the same command again retries it. A day without an index page
(HTTP 404) is counted as missing and passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from pydantic import HttpUrl

from watcher import store
from watcher.config.sources import HtmlSource, SourceBase
from watcher.errors import WatcherError
from watcher.fetch.poll import PollReport
from watcher.pipeline import extract_document, fetch_source, store_poll
from watcher.service.runtime import Runtime
from watcher.store.progress import get_marker, set_marker
from watcher.store.timeutil import utcnow

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
# The live index page -> its archive page for one day.
ARCHIVE_PAGES = {"today.htm": "{yyyymm}/{dd}.htm", "ctoday.htm": "{yyyymm}/{dd}c.htm"}
MAX_RELEASES_A_DAY = 1000  # a busy day has ~200; the cap only bounds a broken page


class BackfillError(WatcherError):
    """The backfill cannot start (unknown source, bad dates)."""


@dataclass
class BackfillReport:
    days: int = 0  # source-days read and stored in this run
    already_done: int = 0  # source-days skipped: an earlier run finished them
    missing: int = 0  # source-days without an archive page (HTTP 404)
    requests: int = 0
    documents: int = 0
    facts: int = 0
    changes: int = 0
    alerts: int = 0
    stopped_at: date | None = None  # the day that failed; run again to resume there
    error: str | None = None
    sources: list[str] = field(default_factory=list)


def can_backfill(source: SourceBase) -> bool:
    path = urlsplit(str(source.url)).path
    return (isinstance(source, HtmlSource) and source.items is not None
            and path.rsplit("/", 1)[-1] in ARCHIVE_PAGES)


def archive_sources(sources: dict[str, SourceBase], name: str) -> list[HtmlSource]:
    """The sources ``name`` means: one source, or a group such as "gia" (every source
    named "gia-..." that can be backfilled)."""
    able = {n: s for n, s in sources.items() if can_backfill(s)}
    if name in sources:
        if name not in able:
            raise BackfillError(f"source {name!r} has no daily archive to backfill "
                                f"(can: {', '.join(able) or 'none'})")
        return [s for s in [able[name]] if isinstance(s, HtmlSource)]
    group = [s for n, s in able.items() if n.startswith(name + "-") and isinstance(s, HtmlSource)]
    if not group:
        raise BackfillError(f"unknown backfill source {name!r} "
                            f"(known: {', '.join(['gia', *able]) if able else 'none'})")
    return group


def archive_url(source: SourceBase, day: date) -> str:
    """The archive page of ``day`` for a source reading the live index."""
    parts = urlsplit(str(source.url))
    folder, page = parts.path.rsplit("/", 1)
    name = ARCHIVE_PAGES[page].format(yyyymm=f"{day:%Y%m}", dd=f"{day:%d}")
    return urlunsplit((parts.scheme, parts.netloc, f"{folder}/{name}", "", ""))


def marker_key(source: SourceBase) -> str:
    return f"backfill:{source.name}"


def days_between(since: date, until: date) -> list[date]:
    if until < since:
        raise BackfillError(f"--until {until} is before --since {since}")
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


def _last_done(rt: Runtime, source: SourceBase) -> date | None:
    with store.transaction(rt.engine) as session:
        value = get_marker(session, marker_key(source))
    return date.fromisoformat(value) if value else None


def _remember(rt: Runtime, source: SourceBase, day: date) -> None:
    with store.transaction(rt.engine) as session:
        set_marker(session, marker_key(source), day.isoformat())


async def _one_day(rt: Runtime, source: HtmlSource, day: date, alert: bool,
                   report: BackfillReport) -> str | None:
    """Read and store one source's archive page for one day; an error message or None."""
    day_source = source.model_copy(update={"url": HttpUrl(archive_url(source, day)),
                                           "max_items": MAX_RELEASES_A_DAY})
    poll = PollReport(source=source.name)
    fetched = await fetch_source(rt, day_source, poll)
    report.requests += poll.requests
    index = fetched.results[0][0] if fetched.results else None
    if index is not None and index.status == 404:
        report.missing += 1
        return None
    if poll.errors:
        return poll.error
    extracted = await asyncio.to_thread(
        lambda: [extract_document(rt, source, page.document) for page in fetched.pages])
    await asyncio.to_thread(store_poll, rt, day_source, fetched, extracted, poll, utcnow(),
                            alert)
    report.days += 1
    report.documents += poll.documents
    report.facts += poll.facts
    report.changes += poll.changes
    report.alerts += poll.alerts
    return None


async def backfill(rt: Runtime, sources: list[HtmlSource], since: date, until: date, *,
                   alert: bool = False, max_days: int | None = None,
                   on_day: Callable[[date], None] | None = None) -> BackfillReport:
    """Walk the days from ``since`` to ``until`` (inclusive), oldest first. ``max_days``
    stops after that many days were read in this run (days done earlier do not count);
    ``on_day`` is called after each day, for a progress bar. Needs ``rt.network()``."""
    report = BackfillReport(sources=[s.name for s in sources])
    done = {s.name: await asyncio.to_thread(_last_done, rt, s) for s in sources}
    read_days = 0
    for day in days_between(since, until):
        if max_days is not None and read_days >= max_days:
            break
        todo = [s for s in sources if done[s.name] is None or done[s.name] < day]  # type: ignore[operator]
        report.already_done += len(sources) - len(todo)
        for source in todo:
            error = await _one_day(rt, source, day, alert, report)
            if error is not None:
                report.stopped_at, report.error = day, error
                return report
            await asyncio.to_thread(_remember, rt, source, day)
            done[source.name] = day
        if todo:
            read_days += 1
        if on_day is not None:
            on_day(day)
    return report
