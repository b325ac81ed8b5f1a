"""Where the stages meet: one source through fetch -> read -> extract -> diff -> store ->
rules -> outbox, and the outbox sent.

    poll_source           claims the source, then for each chunk of its pages:
      fetch_chunks          fetch: the list or feed, then its pages (watcher.fetch.poll)
      _extract_and_store    read and extract each page (in a worker thread), then
      store_poll            one transaction: diff the pages oldest first against the store,
                            fold each fact's changes into one (watcher.diff.fold), write
                            them, evaluate the rules on each new change, queue the alerts
    dispatch_outbox       sends what the outbox holds (watcher.delivery)

Network work is async; parsing and extraction run in worker threads so one large page
never stalls other polls.

Memory stays flat in the number of pages: a poll that follows a feed's items fetches
them ``CHUNK_SIZE`` at a time and hands them on to be read, extracted and stored (one
worker-thread trip per chunk) whenever ``CHUNK_SIZE`` pages have a body (a warm poll,
mostly 304s, is one chunk); a chunk's bodies are dropped once it is stored, and the
event loop fetches the next chunk while the previous one is read and stored.
Each chunk is one database transaction and a complete unit: its documents, snapshots,
facts, changes and outbox rows commit together, and the source's poll bookkeeping (last
polled, next due, failures, its own events) commits with the last chunk. The trade-off:
a crash in the middle of a poll keeps the chunks stored before it (each whole, none
half-written), so that poll's next run finds those pages unchanged and reads only the
rest (the list's own validators are kept by the last chunk alone, so that run reads the
list again instead of a 304: watcher.fetch.poll); a poll of fewer than ``CHUNK_SIZE``
items is still one transaction. ``fetch_source``
and ``store_poll`` do the whole poll at once, for callers that want exactly that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session

from watcher import store
from watcher.config.sources import HtmlSource, RssSource, SourceBase
from watcher.delivery.dispatch import DispatchReport, dispatch
from watcher.delivery.enqueue import enqueue_alerts
from watcher.diff.fold import Folder, PageDiff, publication_order
from watcher.display import plural
from watcher.errors import ReadError
from watcher.extract import extract
from watcher.fetch import content_hash as _hash  # one hash for page states and the short cut
from watcher.fetch.poll import Fetched, Page, PollReport, fetch_chunks, host_turn
from watcher.models import Alert, Document, Fact, FeedItem, FetchResult
from watcher.read import ensure_readable, read_page
from watcher.read.cite import PAGE_BREAK, cite, locate
from watcher.read.pdf import is_pdf, read_pdf
from watcher.rules import Event, evaluate
from watcher.rules.events import EVENT_OF_CHANGE
from watcher.service.cadence import next_due
from watcher.service.failures import retry_delay
from watcher.service.runtime import Runtime
from watcher.store import facts as fact_store
from watcher.store import sources as source_store
from watcher.store.chunk import ChunkWriter, PageWriter, WrittenChange
from watcher.store.timeutil import utcnow

log = logging.getLogger("watcher.pipeline")


# Followed items fetched, read, extracted and stored together. A poll holds two chunks of
# bodies and their text, and polls run side by side: at 5 polls of 1,000 bench pages, 100
# made the daemon peak at 206 MB and 25 at ~150 MB; the extra transactions cost ~0.1 ms
# of CPU per page (extract + store, 1,000 cold pages: 1.6 s either way within noise).
CHUNK_SIZE = 25


async def poll_source(rt: Runtime, source: SourceBase, *, force: bool = False,
                      alert: bool = True, chunk_size: int | None = None) -> PollReport:
    """Poll one source end to end. Never raises for a source's own trouble: errors are
    recorded on the source and returned in the report. A poll that could not store what
    it fetched says so in ``report.incomplete`` and when to try again in ``retry_at``."""
    report = PollReport(source=source.name)
    lease = timedelta(seconds=rt.settings.poll_lease_s)
    started = utcnow()
    try:
        claimed = await asyncio.to_thread(_claim, rt, source, started, force, lease)
    except Exception as exc:  # the database refused even the claim: no lease to record on
        await _failed(rt, source, report, exc, record=False)
        return _polled(rt, source, report)
    if not claimed:
        report.skipped = True
        rt.metrics.record_poll(source.name, skipped=True, error=False, changes=0,
                               finished_at=utcnow())
        return report
    keeper = asyncio.create_task(_keep_lease(rt, source.name, lease))
    try:
        await _poll_in_chunks(rt, source, report, alert, started, chunk_size or CHUNK_SIZE)
    except asyncio.CancelledError:
        await asyncio.shield(asyncio.to_thread(_release, rt, source.name))
        raise
    except Exception as exc:  # a database outage or a bug: keep the daemon alive
        await _failed(rt, source, report, exc)
    finally:
        keeper.cancel()
    if report.incomplete is None:
        rt.poll_failures.succeeded(source.name)
    return _polled(rt, source, report)


def _polled(rt: Runtime, source: SourceBase, report: PollReport) -> PollReport:
    """Log and count a poll that ran (whatever its outcome)."""
    for error in report.errors:
        log.warning("%s: %s", source.name, error)
    rt.metrics.record_poll(source.name, skipped=False, error=bool(report.errors),
                           changes=report.changes, finished_at=utcnow(),
                           unstored=report.incomplete is not None)
    log.info("polled %s: %s, %d not modified, %s, %s, %s%s%s", source.name,
             plural(report.requests, "request"), report.not_modified,
             plural(report.documents, "document"), plural(report.changes, "change"),
             plural(report.alerts, "alert"),
             f", {plural(report.left, 'item')} left for the next poll" if report.left else "",
             ", with errors" if report.errors else "")
    return report


async def _failed(rt: Runtime, source: SourceBase, report: PollReport, exc: Exception, *,
                  record: bool = True) -> None:
    """A poll that could not store what it fetched is a failed poll: recorded on the
    source when the database takes it (else at the source's next claim), and tried again
    after a backoff (watcher.service.failures), not an interval later."""
    now = utcnow()
    if store.is_database_error(exc):
        error = f"database error: {store.describe_error(exc, rt.engine.url)}"
    else:  # a bug: the traceback is worth having
        log.exception("poll of %s failed", source.name)
        error = f"{exc.__class__.__name__}: {exc}".splitlines()[0][:300]
    report.incomplete = error
    report.errors.append(error)
    failure = rt.poll_failures.fail(source.name, error, now)
    base = timedelta(seconds=rt.settings.poll_retry_s)
    report.retry_at = now + retry_delay(failure.attempts, base, next_due(source, now) - now)
    if not (record and await asyncio.to_thread(
            _record_failure, rt, source, report.error or error, now, report.retry_at)):
        rt.poll_failures.not_recorded(source.name)


async def _poll_in_chunks(rt: Runtime, source: SourceBase, report: PollReport, alert: bool,
                          started: datetime, chunk_size: int) -> None:
    """Fetch chunk k+1 while chunk k is extracted and stored; the last chunk is final.
    A chunk goes to storage as soon as it is fetched (the generator says whether more
    follow), so a poll holds two chunks at most, not a third one waiting its turn."""
    async with host_turn(rt, source):
        await _poll_chunks_in_turn(rt, source, report, alert, started, chunk_size)


async def _poll_chunks_in_turn(rt: Runtime, source: SourceBase, report: PollReport,
                               alert: bool, started: datetime, chunk_size: int) -> None:
    storing: asyncio.Task[None] | None = None
    final = False
    budget = rt.page_budget
    try:
        async with aclosing(fetch_chunks(rt, source, report, chunk_size=chunk_size,
                                         budget=budget)) as chunks:
            async for chunk in chunks:
                try:
                    if storing is not None:
                        await storing
                except BaseException:
                    budget.give(chunk.slots)  # it will not be stored
                    raise
                final = not chunk.more
                storing = _store_chunk(rt, source, chunk, report, alert, started, final)
        if storing is not None:
            await storing
            storing = None
        if not final:  # no chunk said it was the last: the poll is still recorded once
            await asyncio.to_thread(_extract_and_store, rt, source, Fetched(list_results=0),
                                    report, alert, started, True)
    finally:
        if storing is not None and not storing.done():
            # Fetching failed while a chunk was being stored: let it finish (it is a
            # whole unit) before the failure is recorded.
            await asyncio.gather(storing, return_exceptions=True)


def _store_chunk(rt: Runtime, source: SourceBase, fetched: Fetched, report: PollReport,
                 alert: bool, started: datetime, final: bool) -> asyncio.Task[None]:
    """Extract and store a chunk in a worker thread; its budget slots come back when
    that ends, however it ends (a callback, not a finally: a task cancelled before it
    started never runs its coroutine)."""
    task = asyncio.create_task(asyncio.to_thread(
        _extract_and_store, rt, source, fetched, report, alert, started, final))
    task.add_done_callback(lambda _: rt.page_budget.give(fetched.slots))
    return task


def _extract_and_store(rt: Runtime, source: SourceBase, fetched: Fetched, report: PollReport,
                       alert: bool, started: datetime, final: bool) -> None:
    _read_unread(source, fetched, report)
    extracted = _extract_pages(rt, source, fetched.pages)
    store_poll(rt, source, fetched, extracted, report, utcnow(), alert, started, final=final)


def _read_unread(source: SourceBase, fetched: Fetched, report: PollReport) -> None:
    """Read the chunk's fetched pages into documents (in a worker thread)."""
    if not fetched.unread:
        return
    assert isinstance(source, RssSource | HtmlSource)
    for item, result in fetched.unread:
        try:
            document = _read_followed(source, item, result)
        except ReadError as exc:
            report.errors.append(str(exc))
            continue
        fetched.pages.append(Page(document, result.content, _hash(result.content)))
    fetched.unread = []


def _read_followed(source: RssSource | HtmlSource, item: FeedItem,
                   result: FetchResult) -> Document:
    if is_pdf(result.content, result.content_type):  # a paper, not a page
        return read_pdf(result.content, url=result.url, source=source.name,
                        fallback_title=item.title, published=item.published,
                        language=source.language or item.language)
    ensure_readable(result.content, result.content_type, result.url)
    return read_page(result.content, result.content_type, url=result.url, source=source.name,
                     reader=source.follow, fallback_title=item.title,
                     published=item.published, language=source.language or item.language)


def _extract_pages(rt: Runtime, source: SourceBase, pages: list[Page]) -> list[list[Fact]]:
    return [extract_document(rt, source, page.document) for page in pages]


def extract_document(rt: Runtime, source: SourceBase, document: Document) -> list[Fact]:
    """The facts of one document, each evidence with its address in front when the
    document can tell one: the page of a PDF, the numbered paragraph of a speech whose
    reader says ``cite: paragraph`` (watcher.read.cite)."""
    readers = [getattr(source, name, None) for name in ("follow", "page")]
    paragraphs = any(r is not None and r.cite == "paragraph" for r in readers)
    facts = extract(document, rt.gazetteer)
    if PAGE_BREAK not in document.text and not paragraphs:
        return facts
    return [replace(f, evidence=cite(f.evidence, locate(document.text, f.evidence,
                                                         paragraphs=paragraphs)))
            for f in facts]


def store_poll(rt: Runtime, source: SourceBase, fetched: Fetched, extracted: list[list[Fact]],
               report: PollReport, now: datetime, alert: bool = True,
               started: datetime | None = None, *, final: bool = True) -> None:
    """The database half of a poll (or of one chunk of it), as one transaction. The
    ``final`` one also records the poll on the source; its next due time counts from
    ``started`` (when the poll claimed its source), so a long poll does not push the
    source past its next scheduled run."""
    counted = (report.documents, report.facts, report.changes, report.alerts)
    try:
        _store_poll(rt, source, fetched, extracted, report, now, alert, started, final)
    except BaseException:
        # Rolled back: the summary must not count what was never stored.
        report.documents, report.facts, report.changes, report.alerts = counted
        raise


def _store_poll(rt: Runtime, source: SourceBase, fetched: Fetched,
                extracted: list[list[Fact]], report: PollReport, now: datetime, alert: bool,
                started: datetime | None, final: bool) -> None:
    with store.transaction(rt.engine) as session:
        store.serialize_writes(session)  # read, decide and write as one turn
        source_id = source_store.source_id(session, source.name)
        assert source_id is not None, f"source {source.name} is not registered"
        # The list or feed request is always logged; a followed page that did not
        # change only counts on its page state (no log row per 304).
        head = fetched.list_results
        fact_store.record_fetches(session, source_id, fetched.results[:head], now,
                                  remember=not fetched.defer_list_state)
        fact_store.record_fetches(session, source_id, fetched.results[head:], now,
                                  log_not_modified=False)
        if fetched.list_state is not None:  # every listed item is followed now
            fact_store.remember_validators(session, [fetched.list_state], now)
        _store_pages(rt, session, source, source_id, fetched.pages, extracted, report, now,
                     alert)
        if not final:
            return
        error = report.error
        before, after = source_store.finish_poll(session, source.name, now,
                                                 next_due(source, started or now), error)
        if alert:
            _source_events(rt, session, source, source_id, before, after, error, now, report)


# The pages of a chunk go through a ChunkWriter: a few queries and one statement per
# table, instead of queries and flushes per page. Tests swap in DirectWriter (the
# one-row reference) to check that both leave the same rows.
_open_writer: Callable[[Session, int, Sequence[tuple[Document, str]], Iterable[str], datetime],
                       PageWriter] = ChunkWriter.open


def _store_pages(rt: Runtime, session: Session, source: SourceBase, source_id: int,
                 pages: list[Page], extracted: list[list[Fact]], report: PollReport,
                 now: datetime, alert: bool) -> None:
    """Store a chunk's pages oldest first; each fact's changes over the chunk are folded
    into one change, and one alert (watcher.diff.fold)."""
    keys = [f.key for facts in extracted for f in facts]
    writer = _open_writer(session, source_id, [(p.document, p.content_hash) for p in pages],
                          keys, now)
    folder = Folder(dismissed=writer.dismissed_claims(keys))
    read = publication_order(list(zip(pages, extracted, strict=True)),
                             [p.document.published for p in pages], now)
    documents: dict[int, Document] = {}
    written: list[tuple[WrittenChange, Fact | None, Document]] = []
    repeats: list[tuple[list[Fact], int]] = []
    for page, facts in read:
        report.documents += 1
        report.facts += len(facts)
        document_id, outcome = _store_page(writer, folder, page, facts, now)
        documents[document_id] = page.document
        written += [(w, None, page.document) for w in writer.save_changes(
            outcome.removed, document_id=document_id, document_url=page.document.url)]
        repeats.append((outcome.repeats, document_id))
    written += _save_net_changes(writer, folder, documents)
    for facts, document_id in repeats:  # linked to the change that set them, new or not
        writer.corroborate(facts, folder.current(writer.current_facts(
            [f.key for f in facts])), document_id)
    writer.finish()  # the changes have their ids from here on
    for item, fact, document in written:
        if not item.is_new:
            continue  # another page reported it before; this one is linked to it
        report.changes += 1
        if alert and item.change.type in EVENT_OF_CHANGE:  # a first sighting alerts no one
            event = Event.for_change(item.change, document=document, source_name=source.name,
                                     source_tags=source.tags, fact=fact)
            report.alerts += _enqueue(rt, session, evaluate(rt.rules, event),
                                      change_id=item.id, source_id=source_id, now=now)


def _save_net_changes(writer: PageWriter, folder: Folder, documents: dict[int, Document]
                      ) -> list[tuple[WrittenChange, Fact | None, Document]]:
    """Each fact's net change over the chunk, resting on its newest page and linked to
    every page that moved it; facts only repeated by a newer page get its time."""
    written: list[tuple[WrittenChange, Fact | None, Document]] = []
    for net in folder.net():
        document = documents[net.document]
        [item] = writer.save_changes([net.change], document_id=net.document,
                                     document_url=document.url,
                                     states={net.change.fact_key: net.state})
        for other in net.documents[:-1]:
            writer.link(item, other)
        written.append((item, net.fact, document))
    writer.touch(folder.unchanged())
    return written


def _store_page(writer: PageWriter, folder: Folder, page: Page, facts: list[Fact],
                now: datetime) -> tuple[int, PageDiff]:
    """Diff one page against the store and the chunk so far, and write the page."""
    document = page.document
    previous = writer.page_facts(document.url)
    stored = writer.current_facts([f.key for f in facts] + list(previous or {}))
    writer.save_snapshot(page.content_hash, page.content,
                         replaces=writer.document_hash(document.url), url=document.url)
    document_id = writer.save_document(document, page.content_hash)
    outcome = folder.page(facts, stored=stored, previous_on_page=previous,
                          published=document.published_or(now), document=document_id)
    writer.replace_page_facts(document_id, facts)
    return document_id, outcome


def _source_events(rt: Runtime, session: Session, source: SourceBase, source_id: int,
                   before: int, after: int, error: str | None, now: datetime,
                   report: PollReport) -> None:
    threshold = rt.settings.failing_after
    event: Event | None = None
    if error and after == threshold:
        event = Event.source_failing(source.name, source.tags, after, error)
    elif not error and before >= threshold:
        event = Event.source_recovered(source.name, source.tags, before)
    if event is not None:
        report.alerts += _enqueue(rt, session, evaluate(rt.rules, event), change_id=None,
                                  source_id=source_id, now=now)


def _enqueue(rt: Runtime, session: Session, alerts: list[Alert], *, change_id: int | None,
             source_id: int | None, now: datetime) -> int:
    # Routes, realert and dedup live in watcher.delivery; rows join this transaction.
    return enqueue_alerts(session, alerts, realert={r.id: r.realert for r in rt.rules},
                          routes=rt.routes, targets=rt.targets, change_id=change_id,
                          source_id=source_id, now=now)


def _claim(rt: Runtime, source: SourceBase, now: datetime, force: bool,
           lease: timedelta) -> bool:
    slack = min(source.every / 10, timedelta(minutes=1)) + (source.jitter or timedelta(0))
    with store.transaction(rt.engine) as session:
        claimed = source_store.claim(session, source.name, rt.owner, now, lease,
                                     force=force, slack=slack)
        # A failure the database refused to record before is recorded now.
        pending = rt.poll_failures.unrecorded(source.name) if claimed else None
        if pending is not None:
            source_store.record_failures(session, source.name, pending.error, pending.at,
                                         pending.unrecorded)
        failed_at = None if claimed else rt.poll_failures.since(source.name)
        polled_at = source_store.last_polled(session, source.name) if failed_at else None
    if pending is not None:
        rt.poll_failures.recorded(source.name)
    if failed_at is not None and polled_at is not None and polled_at > failed_at:
        rt.poll_failures.succeeded(source.name)  # another replica has polled it since
    return claimed


async def _keep_lease(rt: Runtime, name: str, lease: timedelta) -> None:
    """Renew the lease while a poll runs: the lease can stay short (a killed replica's
    sources are free soon) and still cover a poll that takes longer than it."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        try:
            await asyncio.to_thread(_renew, rt, name, lease)
        except Exception:  # a database hiccup; the next renewal may succeed
            log.warning("could not renew the lease on %s", name, exc_info=True)


def _renew(rt: Runtime, name: str, lease: timedelta) -> None:
    with store.transaction(rt.engine) as session:
        source_store.renew(session, name, rt.owner, utcnow() + lease)


def _release(rt: Runtime, name: str) -> None:
    with store.transaction(rt.engine) as session:
        source_store.release(session, name, rt.owner)


def _record_failure(rt: Runtime, source: SourceBase, error: str, now: datetime,
                    retry_at: datetime) -> bool:
    """Record a failed poll, due again at ``retry_at``; False if the database refused."""
    try:
        with store.transaction(rt.engine) as session:
            source_store.finish_poll(session, source.name, now, retry_at, error)
    except Exception as exc:
        log.error("could not record the failure of %s: %s", source.name,
                  store.describe_error(exc, rt.engine.url))
        return False
    return True


async def fetch_source(rt: Runtime, source: SourceBase, report: PollReport) -> Fetched:
    """The network half of a poll, all of it at once: nothing is written yet."""
    whole = Fetched()
    async with aclosing(fetch_chunks(rt, source, report, chunk_size=1_000_000)) as chunks:
        async for chunk in chunks:
            whole.results += chunk.results
            whole.pages += chunk.pages
            whole.unread += chunk.unread
            whole.defer_list_state |= chunk.defer_list_state
            whole.list_state = chunk.list_state  # the last chunk's say
    await asyncio.to_thread(_read_unread, source, whole, report)
    return whole


async def dispatch_outbox(rt: Runtime, *, limit: int = 50) -> DispatchReport:
    """Send due deliveries; each is marked sent only after its target accepted it.
    Digests, storm folding, quiet hours and pacing: watcher.delivery.dispatch."""
    report = await dispatch(rt, limit=limit,
                            lease=timedelta(seconds=rt.settings.delivery_lease_s))
    rt.metrics.record_deliveries(sent=report.sent, failed=report.failed, dead=report.dead)
    return report
