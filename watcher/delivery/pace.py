"""At most one message per interval per target (Slack asks for one per second per
channel). The pacer waits rather than drops: a message is late, never lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import lru_cache

from watcher.delivery.apprise_plugins import prepare_apprise

SLACK_INTERVAL = timedelta(seconds=1)


@lru_cache(maxsize=256)
def interval_for(url: str) -> timedelta | None:
    """The pacing a target's service needs: Slack 1/s; others none."""
    # Imported here: only a dispatch with something to send asks, and a daemon with no
    # target configured never loads Apprise.
    import apprise
    from apprise.plugins.slack import NotifySlack

    prepare_apprise([url])
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return SLACK_INTERVAL if isinstance(plugin, NotifySlack) else None


class Pacer:
    """Remembers when each target last got a message. One per process (on the Runtime),
    so the limit holds across dispatch cycles too."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}

    async def wait(self, target: str, interval: timedelta | None) -> float:
        """Wait until ``target`` may get its next message; returns the seconds waited."""
        waited = 0.0
        if interval is not None and target in self._last:
            waited = self._last[target] + interval.total_seconds() - self._clock()
            if waited > 0:
                await self._sleep(waited)
            waited = max(waited, 0.0)
        self._last[target] = self._clock()
        return waited
