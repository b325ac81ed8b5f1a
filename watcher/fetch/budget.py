"""How many fetched pages the whole process holds before they are stored.

A poll that follows a feed keeps page bodies in flight: requests in its pipe, a chunk
being filled, a chunk being stored. Polls run side by side (one per due source), so
without a shared bound the daemon's memory grew with the number of sources polled at
once: five 1,000-page feeds peaked ~25 MB above the same feeds polled one after another.
A ``PageBudget`` is that shared bound, counted in pages (a page is 30-60 KB plus its
text on the sites watcher reads; ``max_body_bytes`` caps the exception).

A poll takes a slot before each request it sends, gives it back as soon as the answer
holds no page to store (304, error, unchanged body) and otherwise when the chunk holding
the page is stored. A poll that finds the budget empty hands on what it has already
fetched (a chunk smaller than usual), so slots always come back: no poll waits on a
slot that only its own stored chunk could return.

A budget is used from its event loop's thread only (it is not thread-safe, and need not
be); a runtime used by one ``asyncio.run`` after another gets fresh waiting primitives in
each loop, since asyncio's are bound to the loop that first waited on them.
"""

from __future__ import annotations

import asyncio

DEFAULT_PAGES = 100


class PageBudget:
    def __init__(self, pages: int = DEFAULT_PAGES) -> None:
        if pages < 1:
            raise ValueError("a page budget needs at least one page")
        self.pages = pages
        self.free = pages
        self._freed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def taken(self) -> int:
        return self.pages - self.free

    def try_take(self) -> bool:
        """Take one slot if one is free, without waiting."""
        if self.free == 0:
            return False
        self.free -= 1
        return True

    def give(self, count: int = 1) -> None:
        """Return ``count`` slots (never more than were taken)."""
        if count <= 0:
            return
        if self.free + count > self.pages:
            raise RuntimeError(f"page budget: {count} slots returned, {self.taken} taken")
        self.free += count
        if self._freed is not None:
            self._freed.set()

    async def wait_for_free(self) -> None:
        """Return once at least one slot is free (it is not taken for the caller)."""
        while self.free == 0:
            loop = asyncio.get_running_loop()
            if self._freed is None or self._loop is not loop:
                self._freed, self._loop = asyncio.Event(), loop
            self._freed.clear()
            await self._freed.wait()


class HostTurns:
    """Polls that follow a list's links take turns per host; other polls run side by side.

    Requests to one host already share its politeness slots (``per_host_concurrency``),
    so two such polls of the same host side by side finish no sooner than one after the
    other, and the first finishes later; they only hold two polls' feeds, page states and
    chunks in memory at once (bench, five 1,000-page feeds on one host: peak 117 MB side
    by side, 106 MB in turns, same wall time). A poll of a single page, or of a feed whose
    items are the documents, never waits for a turn, so a scheme page is not held up
    behind a long archive poll of the same site.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def turn(self, host: str) -> asyncio.Lock:
        """The lock to hold (``async with``) while a poll of ``host`` follows links."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new asyncio.run: the old loop's locks are void
            self._locks, self._loop = {}, loop
        lock = self._locks.get(host)
        if lock is None:
            lock = self._locks[host] = asyncio.Lock()
        return lock
