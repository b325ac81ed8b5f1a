"""The network half of a poll: the list or feed, then the pages it links to, in chunks.

``fetch_chunks`` yields a poll's responses ``chunk_size`` followed pages at a time (the
first chunk holds the list or feed request), so the pipeline (watcher.pipeline) can read,
extract and store one chunk while the next is fetched. Requests are kept in a pipe,
refilled as each answer is taken; with the process's page budget (watcher.fetch.budget)
each request takes a slot, given back once its page is stored or needs no storing. A poll that
follows links waits for its host's turn (``host_turn``). Nothing here writes to the
database: the page states read here (ETag, Last-Modified, content hash) make every
request conditional.

The list or feed itself is read here (watcher.read), since its links say what to fetch
next; the followed pages are read later, in the worker thread that stores their chunk.

A list's own validators (its ETag, Last-Modified and body hash) make the next poll's
request conditional: a 304 there means "nothing new to follow". So they are kept only by
the poll's last chunk, and only when every item the list names has been followed (a page
state of its own) or failed for good (a 4xx): a poll killed between chunks, an item that
timed out, or a list longer than the source's ``max_items`` leaves them unrecorded, and
the next poll reads the list again and follows what is still unfollowed, those first.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from watcher import store
from watcher.config.sources import HtmlSource, RssSource, SourceBase
from watcher.errors import ReadError
from watcher.fetch.budget import PageBudget
from watcher.fetch.client import content_hash as _hash  # one hash for page states and the short cut
from watcher.fetch.failures import Failures
from watcher.models import Document, FeedItem, FetchResult
from watcher.read import ensure_readable, read_entries, read_feed, read_links, read_page
from watcher.service.runtime import Runtime
from watcher.store import facts as fact_store


@dataclass
class PollReport:
    """What one poll did: the fetching here counts its requests, 304s and errors; the
    pipeline counts the documents, facts, changes and alerts."""

    source: str
    skipped: bool = False  # another replica holds it, or it is not due
    requests: int = 0
    not_modified: int = 0
    left: int = 0  # listed items not followed this poll (max_items): the next poll's
    documents: int = 0
    facts: int = 0
    changes: int = 0
    alerts: int = 0
    # Counted by reason, not listed: a poll of 1,000 failing items is one bounded line.
    errors: Failures = field(default_factory=Failures)
    # Why what was fetched could not all be stored (the database refused, or a bug), and
    # when the poll is to be tried again: a failed poll, whatever else it did.
    incomplete: str | None = None
    retry_at: datetime | None = None

    @property
    def error(self) -> str | None:
        return self.errors.summary()


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
    # The list request's validators wait for the end of the poll (see the module's
    # docstring): the first chunk logs the request without them, and the last one
    # carries them in ``list_state`` when every listed item has been followed.
    defer_list_state: bool = False
    list_state: tuple[FetchResult, str | None] | None = None


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


def oldest_first(items: list[FeedItem]) -> list[FeedItem]:
    """A feed's items in publication order, so that each chunk of a poll is stored after
    the older ones (facts move forward in time, see watcher.diff.fold); an item without a
    date is as new as the poll, so it goes last. Feeds list the newest first."""
    dated = sorted((i for i in items if i.published is not None),
                   key=lambda i: i.published or datetime.min)
    return dated + [i for i in items if i.published is None]


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
    states = await asyncio.to_thread(_page_states, rt, [item.url for item in items])
    items, report.left = _choose(items, states, source.max_items)
    items = oldest_first(items)  # each chunk then moves facts forward in time
    # The list's validators, kept by the last chunk if nothing is left over (its body is
    # not needed for that, and the first chunk is dropped once stored).
    settled = None if report.left else (replace(fetched.results[0][0], content=b""),
                                        fetched.results[0][1])
    chunk = fetched
    del fetched  # the first chunk is dropped once stored, like the others
    if source.follow is None:  # the items are the documents: nothing to fetch
        for k, item in enumerate(items):
            _item_as_document(source, item, states, chunk)
            if len(chunk.pages) >= chunk_size and k + 1 < len(items):
                chunk.more = True
                yield chunk
                chunk = Fetched(list_results=0)
        chunk.list_state = settled
        yield chunk
        return
    followed = _fetch_followed(rt, items, states, chunk, report, chunk_size, budget, settled)
    del chunk, items, states  # held by the pipe alone, so each is dropped when done
    async with aclosing(followed):
        async for part in followed:
            yield part


async def _fetch_followed(rt: Runtime, items: list[FeedItem],
                          states: dict[str, fact_store.PageState], chunk: Fetched,
                          report: PollReport, chunk_size: int, budget: PageBudget | None,
                          settled: tuple[FetchResult, str | None] | None
                          ) -> AsyncGenerator[Fetched, None]:
    """The followed pages of ``items`` through a pipe of requests (see _follow); the
    last chunk carries ``settled``, the list's validators, unless a request failed in a
    way worth trying again."""
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
                if _retry_next_poll(result):
                    settled = None
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
        chunk.list_state = settled
        yield chunk
    finally:
        for _, request in pipe:  # the poll was stopped: no request outlives it
            request.cancel()
        if budget is not None:
            # A chunk handed on is the receiver's to give back; the one still being
            # filled, and the requests in the pipe, are this poll's.
            budget.give(len(pipe) + (chunk.slots if chunk is not handed else 0))


def _choose(items: list[FeedItem], states: Mapping[str, object], most: int
            ) -> tuple[list[FeedItem], int]:
    """The items to follow this poll, in the list's order, and how many listed items are
    left unfollowed: at most ``most`` (the source's ``max_items``), those never followed
    yet (no page state) first, then those followed before, to see whether they changed.
    A list longer than ``most`` is so read completely over successive polls."""
    urls = list(dict.fromkeys(item.url for item in items))  # a link listed twice: once
    new = [url for url in urls if url not in states]
    chosen = set((new + [url for url in urls if url in states])[:most])
    followed = []
    for item in items:
        if item.url in chosen:
            chosen.discard(item.url)
            followed.append(item)
    return followed, max(0, len(new) - most)


def _retry_next_poll(result: FetchResult) -> bool:
    """A followed page that failed in a way that may pass (no answer, a timeout, a 5xx,
    429): the next poll must read the list again to try it. A 4xx is an answer that
    will not change by asking again; the page is recorded as failed."""
    if result.error is None:
        return False
    status = result.status
    return status is None or status >= 500 or status in (408, 429)


def _item_as_document(source: SourceBase, item: FeedItem,
                      states: dict[str, fact_store.PageState], chunk: Fetched) -> None:
    page = _item_document(source, item)
    state = states.get(item.url)
    if state is None or state.content_hash != page.content_hash:
        chunk.pages.append(page)
        chunk.results.append((FetchResult(url=item.url, status=200), page.content_hash))


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
        fetched.defer_list_state = True  # _follow decides, at the end, whether to keep them
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


def host_turn(rt: Runtime, source: SourceBase) -> AbstractAsyncContextManager[object]:
    """A poll that follows the links of a list or feed waits for its host's turn
    (watcher.fetch.budget.HostTurns); a single page or a feed read as it is does not."""
    if getattr(source, "follow", None) is None:
        return nullcontext()
    return rt.host_turns.turn(urlsplit(str(source.url)).netloc)
