"""Wires one source through the stages: fetch -> read -> extract -> diff -> store -> rules
-> outbox, and sends what the outbox holds.

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
rest; a poll of fewer than ``CHUNK_SIZE`` items is still one transaction. ``fetch_source``
and ``store_poll`` do the whole poll at once, for callers that want exactly that.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session

from watcher import store
from watcher.cadence import next_due
from watcher.config.sources import HtmlSource, RssSource, SourceBase
from watcher.delivery.dispatch import DispatchReport, dispatch
from watcher.delivery.enqueue import enqueue_alerts
from watcher.diff import compare, diff
from watcher.errors import ReadError
from watcher.extract import extract
from watcher.fetch import content_hash as _hash  # one hash for page states and the short cut
from watcher.fetch.budget import PageBudget
from watcher.models import Alert, Document, Fact, FeedItem, FetchResult
from watcher.read import ensure_readable, read_entries, read_feed, read_links, read_page
from watcher.rules import Event, evaluate
from watcher.runtime import Runtime
from watcher.store import facts as fact_store
from watcher.store import sources as source_store
from watcher.store.chunk import ChunkWriter, PageWriter, WrittenChange
from watcher.store.timeutil import utcnow

log = logging.getLogger("watcher.pipeline")


@dataclass
class PollReport:
    source: str
    skipped: bool = False  # another replica holds it, or it is not due
    requests: int = 0
    not_modified: int = 0
    documents: int = 0
    facts: int = 0
    changes: int = 0
    alerts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None


@dataclass
class Page:
    """A document ready for extraction, with the response it came from (if any)."""

    document: Document
    content: bytes
    content_hash: str


@dataclass
class Fetched:
    """What the network part of a poll produced, before anything is stored."""

    results: list[tuple[FetchResult, str | None]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    # Followed pages fetched but not read yet: the worker that extracts and stores the
    # chunk reads them, so the event loop goes on fetching the next chunk meanwhile.
    unread: list[tuple[FeedItem, FetchResult]] = field(default_factory=list)
    # How many leading results are the list or feed request, logged even when unchanged
    # (a followed page's unchanged answer is only counted on its page state).
    list_results: int = 1
    more: bool = False  # more chunks of this poll follow (fetch_chunks sets it)
    slots: int = 0  # page budget slots its pages hold, given back once it is stored


async def _fetch(rt: Runtime, url: str, states: dict[str, fact_store.PageState],
                 fetched: Fetched, report: PollReport) -> FetchResult:
    result, content_hash = await _fetch_one(rt, url, states, report)
    fetched.results.append((result, content_hash))
    return result


async def _fetch_one(rt: Runtime, url: str, states: dict[str, fact_store.PageState],
                     report: PollReport) -> tuple[FetchResult, str | None]:
    """One conditional GET, counted on the report; the result and its body's hash."""
    state = states.get(url)
    result = await rt.fetcher.fetch(
        url,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        known_hash=state.content_hash if state else None,
    )
    report.requests += 1
    rt.metrics.record_fetch(report.source, seconds=result.elapsed_s, size=len(result.content),
                            not_modified=result.not_modified, error=result.error is not None)
    content_hash = _hash(result.content) if result.ok and result.content else None
    if result.error:
        report.errors.append(result.error if url in result.error else f"{url}: {result.error}")
    elif result.not_modified:
        report.not_modified += 1
    return result, content_hash


def _item_document(source: SourceBase, item: FeedItem) -> Page:
    """A feed item read as its own document (no page to follow)."""
    text = item.summary or item.title
    document = Document(url=item.url, source=source.name, title=item.title, text=text,
                        language=item.language or source.language or "en",
                        published=item.published)
    content = f"{item.title}\n\n{item.summary}".encode()
    return Page(document, content, _hash(content))


async def _follow(rt: Runtime, source: RssSource | HtmlSource, items: list[FeedItem],
                  fetched: Fetched, report: PollReport, chunk_size: int,
                  budget: PageBudget | None) -> AsyncGenerator[Fetched, None]:
    """The listed items in chunks: a chunk is handed on once it holds ``chunk_size``
    pages to store (or at the end), so a warm poll whose pages mostly answer 304 is still
    one chunk. ``fetched`` (with the list request) is the first. Requests are kept in a
    pipe, refilled as each answer is taken, so they keep flowing while a chunk is handed
    on (waiting for whole batches of ``chunk_size`` left the connections idle).

    With a ``budget``, each request takes a slot of it (watcher.fetch.budget says why); the
    slots of pages to store travel with their chunk (``Fetched.slots``) and the caller
    gives them back once the chunk is stored. Without one, the pipe alone bounds the
    requests in flight."""
    items = items[: source.max_items]
    states = await asyncio.to_thread(_page_states, rt, [item.url for item in items])
    chunk = fetched
    del fetched  # the first chunk is dropped once stored, like the others
    if source.follow is None:  # the items are the documents: nothing to fetch
        for k, item in enumerate(items):
            _item_as_document(source, item, states, chunk)
            if len(chunk.pages) >= chunk_size and k + 1 < len(items):
                chunk.more = True
                yield chunk
                chunk = Fetched(list_results=0)
        yield chunk
        return
    followed = _fetch_followed(rt, items, states, chunk, report, chunk_size, budget)
    del chunk, items, states  # held by the pipe alone, so each is dropped when done
    async with aclosing(followed):
        async for part in followed:
            yield part


async def _fetch_followed(rt: Runtime, items: list[FeedItem],
                          states: dict[str, fact_store.PageState], chunk: Fetched,
                          report: PollReport, chunk_size: int, budget: PageBudget | None
                          ) -> AsyncGenerator[Fetched, None]:
    """The followed pages of ``items`` through a pipe of requests (see _follow)."""
    pipe: deque[tuple[FeedItem, asyncio.Task[tuple[FetchResult, str | None]]]] = deque()
    upcoming = deque(items)
    del items
    # Answers are taken in list order, so one slow answer holds back those behind it; a
    # pipe four chunks deep keeps the per-host slots busy meanwhile (warm 1,000-page
    # bench poll: 1.7 s with a one-chunk pipe, 1.0 s with this) and bounds the bodies
    # waiting to be taken to four chunks' worth.
    depth = 4 * chunk_size

    def refill() -> None:
        while upcoming and len(pipe) < depth and (budget is None or budget.try_take()):
            item = upcoming.popleft()
            pipe.append((item, asyncio.create_task(_fetch_one(rt, item.url, states, report))))

    handed: Fetched | None = None
    try:
        while True:
            refill()
            if pipe:
                item, request = pipe.popleft()
                try:
                    result, content_hash = await request
                except BaseException:
                    if budget is not None:
                        budget.give()
                    raise
                chunk.results.append((result, content_hash))
                if result.ok and not result.not_modified:
                    chunk.unread.append((item, result))
                    if budget is not None:
                        chunk.slots += 1
                elif budget is not None:
                    budget.give()
                refill()
                full = len(chunk.pages) + len(chunk.unread) >= chunk_size
            elif not upcoming:
                break
            else:
                # The budget is spent and none of it is in this poll's pipe: hand on
                # what this poll holds, so that storing it frees slots, or wait for
                # other polls to free some.
                assert budget is not None
                full = bool(chunk.unread or chunk.pages)
                if not full:
                    await budget.wait_for_free()
                    continue
            if full and (pipe or upcoming):
                chunk.more = True
                handed = chunk
                yield chunk
                chunk = Fetched(list_results=0)
        handed = chunk
        yield chunk
    finally:
        for _, request in pipe:  # the poll was stopped: no request outlives it
            request.cancel()
        if budget is not None:
            # A chunk handed on is the receiver's to give back; the one still being
            # filled, and the requests in the pipe, are this poll's.
            budget.give(len(pipe) + (chunk.slots if chunk is not handed else 0))


def _item_as_document(source: SourceBase, item: FeedItem,
                      states: dict[str, fact_store.PageState], chunk: Fetched) -> None:
    page = _item_document(source, item)
    state = states.get(item.url)
    if state is None or state.content_hash != page.content_hash:
        chunk.pages.append(page)
        chunk.results.append((FetchResult(url=item.url, status=200), page.content_hash))


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
    ensure_readable(result.content, result.content_type, result.url)
    return read_page(result.content, result.content_type, url=result.url, source=source.name,
                     reader=source.follow, fallback_title=item.title,
                     published=item.published, language=source.language or item.language)


def _page_states(rt: Runtime, urls: list[str]) -> dict[str, fact_store.PageState]:
    with store.transaction(rt.engine) as session:
        return fact_store.page_states(session, urls)


def _read_list(source: SourceBase, result: FetchResult) -> list[FeedItem] | list[Document]:
    """The list page or feed: items to follow, or documents when the page holds them."""
    ensure_readable(result.content, result.content_type, result.url)
    if isinstance(source, RssSource):
        return read_feed(result.content, result.content_type, result.url)
    assert isinstance(source, HtmlSource)
    if source.items:
        return read_links(result.content, result.content_type, base_url=result.url,
                          selector=source.items)
    if source.entries:
        return read_entries(result.content, result.content_type, url=result.url,
                            source=source.name, entries=source.entries,
                            language=source.language)
    return [read_page(result.content, result.content_type, url=result.url, source=source.name,
                      reader=source.page, language=source.language)]


async def fetch_source(rt: Runtime, source: SourceBase, report: PollReport) -> Fetched:
    """The network half of a poll, all of it at once: nothing is written yet."""
    whole = Fetched()
    async with aclosing(fetch_chunks(rt, source, report, chunk_size=1_000_000)) as chunks:
        async for chunk in chunks:
            whole.results += chunk.results
            whole.pages += chunk.pages
            whole.unread += chunk.unread
    await asyncio.to_thread(_read_unread, source, whole, report)
    return whole


async def fetch_chunks(rt: Runtime, source: SourceBase, report: PollReport, *,
                       chunk_size: int = 100, budget: PageBudget | None = None
                       ) -> AsyncGenerator[Fetched, None]:
    """The network half of a poll in chunks of at most ``chunk_size`` followed items;
    the first chunk holds the list or feed request. Nothing is written here. With a
    ``budget``, a chunk may be smaller, and the receiver gives back each chunk's
    ``slots`` once it is done with it."""
    fetched = Fetched()
    url = str(source.url)
    states = await asyncio.to_thread(_page_states, rt, [url])
    result = await _fetch(rt, url, states, fetched, report)
    if not result.ok or result.not_modified:
        yield fetched
        return
    try:
        listed = await asyncio.to_thread(_read_list, source, result)
    except ReadError as exc:
        report.errors.append(str(exc))
        fetched.results[-1] = (
            FetchResult(url=url, status=result.status, error=exc.reason), None)
        yield fetched
        return
    items = [x for x in listed if isinstance(x, FeedItem)]
    documents = [x for x in listed if isinstance(x, Document)]
    if documents:
        await _documents_in_page(rt, documents, result, fetched)
    if items:
        assert isinstance(source, RssSource | HtmlSource)
        follow = _follow(rt, source, items, fetched, report, chunk_size, budget)
        # _follow alone holds the first chunk (and the list response) now: held here too,
        # its pages would stay in memory until the whole poll ends.
        del fetched, result, listed, items
        async with aclosing(follow):  # stopped here, it cancels its requests at once
            async for chunk in follow:
                yield chunk
    else:
        yield fetched


async def _documents_in_page(rt: Runtime, documents: list[Document], result: FetchResult,
                             fetched: Fetched) -> None:
    """Entries of a table or a single page: each keeps its own content hash, so an
    unchanged row of a changed table is not read again."""
    if len(documents) == 1 and documents[0].url == result.url:
        fetched.pages.append(Page(documents[0], result.content, _hash(result.content)))
        return
    states = await asyncio.to_thread(_page_states, rt, [d.url for d in documents])
    for document in documents:
        content = f"{document.title}\n\n{document.text}".encode()
        page = Page(document, content, _hash(content))
        state = states.get(document.url)
        if state is None or state.content_hash != page.content_hash:
            fetched.pages.append(page)
            fetched.results.append((FetchResult(url=document.url, status=200), page.content_hash))


def _extract_pages(rt: Runtime, pages: list[Page]) -> list[list[Fact]]:
    return [extract(page.document, rt.gazetteer) for page in pages]


def _enqueue(rt: Runtime, session: Session, alerts: list[Alert], *, change_id: int | None,
             source_id: int | None, now: datetime) -> int:
    # Routes, realert and dedup live in watcher.delivery; rows join this transaction.
    return enqueue_alerts(session, alerts, realert={r.id: r.realert for r in rt.rules},
                          routes=rt.routes, targets=rt.targets, change_id=change_id,
                          source_id=source_id, now=now)


def store_poll(rt: Runtime, source: SourceBase, fetched: Fetched, extracted: list[list[Fact]],
               report: PollReport, now: datetime, alert: bool = True,
               started: datetime | None = None, *, final: bool = True) -> None:
    """The database half of a poll (or of one chunk of it), as one transaction. The
    ``final`` one also records the poll on the source; its next due time counts from
    ``started`` (when the poll claimed its source), so a long poll does not push the
    source past its next scheduled run."""
    with store.transaction(rt.engine) as session:
        store.serialize_writes(session)  # read, decide and write as one turn
        source_id = source_store.source_id(session, source.name)
        assert source_id is not None, f"source {source.name} is not registered"
        # The list or feed request is always logged; a followed page that did not
        # change only counts on its page state (no log row per 304).
        head = fetched.list_results
        fact_store.record_fetches(session, source_id, fetched.results[:head], now)
        fact_store.record_fetches(session, source_id, fetched.results[head:], now,
                                  log_not_modified=False)
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
    writer = _open_writer(session, source_id, [(p.document, p.content_hash) for p in pages],
                          [f.key for facts in extracted for f in facts], now)
    events: list[tuple[WrittenChange, Event]] = []
    for page, facts in zip(pages, extracted, strict=True):
        report.documents += 1
        report.facts += len(facts)
        events += _store_page(writer, source, page, facts)
    writer.finish()  # the changes have their ids from here on
    for item, event in events:
        report.changes += 1
        if alert:
            report.alerts += _enqueue(rt, session, evaluate(rt.rules, event),
                                      change_id=item.id, source_id=source_id, now=now)


def _store_page(writer: PageWriter, source: SourceBase, page: Page,
                facts: list[Fact]) -> list[tuple[WrittenChange, Event]]:
    """Diff one page against the store and write it; its new changes, with their events."""
    document = page.document
    previous = writer.page_facts(document.url)
    current = writer.current_facts([f.key for f in facts] + list(previous or {}))
    changes = diff(facts, current=current, previous_on_page=previous)
    writer.save_snapshot(page.content_hash, page.content,
                         replaces=writer.document_hash(document.url), url=document.url)
    document_id = writer.save_document(document, page.content_hash)
    writer.replace_page_facts(document_id, facts)
    stored = writer.save_changes(changes, document_id=document_id, document_url=document.url)
    changed_keys = {c.fact_key for c in changes}
    repeats = [f for f in facts if f.key not in changed_keys and f.key in current
               and not compare(f, current[f.key])[1]]
    writer.corroborate(repeats, current, document_id)
    by_key = {f.key: f for f in facts}
    return [(item, Event.for_change(item.change, document=document, source_name=source.name,
                                    source_tags=source.tags,
                                    fact=by_key.get(item.change.fact_key)))
            for item in stored if item.is_new]


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


def _claim(rt: Runtime, source: SourceBase, now: datetime, force: bool,
           lease: timedelta) -> bool:
    slack = min(source.every / 10, timedelta(minutes=1)) + (source.jitter or timedelta(0))
    with store.transaction(rt.engine) as session:
        return source_store.claim(session, source.name, rt.owner, now, lease,
                                  force=force, slack=slack)


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


async def poll_source(rt: Runtime, source: SourceBase, *, force: bool = False,
                      alert: bool = True, chunk_size: int | None = None) -> PollReport:
    """Poll one source end to end. Never raises for a source's own trouble: errors are
    recorded on the source and returned in the report."""
    report = PollReport(source=source.name)
    lease = timedelta(seconds=rt.settings.poll_lease_s)
    started = utcnow()
    if not await asyncio.to_thread(_claim, rt, source, started, force, lease):
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
    except Exception as exc:  # a bug or a database outage: keep the daemon alive
        log.exception("poll of %s failed", source.name)
        report.errors.append(f"{exc.__class__.__name__}: {exc}")
        await asyncio.to_thread(_record_failure, rt, source, report.error or "", utcnow())
    finally:
        keeper.cancel()
    for error in report.errors:
        log.warning("%s: %s", source.name, error)
    rt.metrics.record_poll(source.name, skipped=False, error=bool(report.errors),
                           changes=report.changes, finished_at=utcnow())
    log.info("polled %s: %d requests, %d not modified, %d documents, %d changes, "
             "%d alerts%s", source.name, report.requests, report.not_modified,
             report.documents, report.changes, report.alerts,
             ", with errors" if report.errors else "")
    return report


# Followed items fetched, read, extracted and stored together. A poll holds two chunks of
# bodies and their text, and polls run side by side: at 5 polls of 1,000 bench pages, 100
# made the daemon peak at 206 MB and 25 at ~150 MB; the extra transactions cost ~0.1 ms
# of CPU per page (extract + store, 1,000 cold pages: 1.6 s either way within noise).
CHUNK_SIZE = 25


async def _poll_in_chunks(rt: Runtime, source: SourceBase, report: PollReport, alert: bool,
                          started: datetime, chunk_size: int) -> None:
    """Fetch chunk k+1 while chunk k is extracted and stored; the last chunk is final.
    A chunk goes to storage as soon as it is fetched (the generator says whether more
    follow), so a poll holds two chunks at most, not a third one waiting its turn."""
    async with _turn(rt, source):
        await _poll_chunks_in_turn(rt, source, report, alert, started, chunk_size)


def _turn(rt: Runtime, source: SourceBase) -> AbstractAsyncContextManager[object]:
    """A poll that follows the links of a list or feed waits for its host's turn
    (watcher.fetch.budget.HostTurns); a single page or a feed read as it is does not."""
    if getattr(source, "follow", None) is None:
        return nullcontext()
    return rt.host_turns.turn(urlsplit(str(source.url)).netloc)


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
    extracted = _extract_pages(rt, fetched.pages)
    store_poll(rt, source, fetched, extracted, report, utcnow(), alert, started, final=final)


def _release(rt: Runtime, name: str) -> None:
    with store.transaction(rt.engine) as session:
        source_store.release(session, name, rt.owner)


def _record_failure(rt: Runtime, source: SourceBase, error: str, now: datetime) -> None:
    try:
        with store.transaction(rt.engine) as session:
            source_store.finish_poll(session, source.name, now, next_due(source, now), error)
    except Exception:
        log.exception("could not record the failure of %s", source.name)


async def dispatch_outbox(rt: Runtime, *, limit: int = 50) -> DispatchReport:
    """Send due deliveries; each is marked sent only after its target accepted it.
    Digests, storm folding, quiet hours and pacing: watcher.delivery.dispatch."""
    report = await dispatch(rt, limit=limit)
    rt.metrics.record_deliveries(sent=report.sent, failed=report.failed, dead=report.dead)
    return report
