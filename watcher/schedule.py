"""The daemon: APScheduler 3.x jobs for every source and for the outbox dispatcher.

The sources' YAML says what is scheduled; the database says what has run. Each source is
one job (id = the source's name) with ``coalesce`` and one instance at a time. First polls
resume from ``next_due_at`` in the database, and sources that are due are spread over a
start-up window instead of all firing at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher import store
from watcher.config.sources import SourceBase
from watcher.errors import ConfigError
from watcher.pipeline import dispatch_outbox, poll_source
from watcher.runtime import Runtime
from watcher.store import sources as source_store
from watcher.store.timeutil import utcnow

log = logging.getLogger("watcher.daemon")

TIMEZONE = ZoneInfo("Asia/Hong_Kong")
DISPATCH_EVERY = timedelta(seconds=10)
STARTUP_SPREAD = timedelta(seconds=60)  # due sources start within this window
SHUTDOWN_GRACE_S = 5.0


def first_run(name: str, every: timedelta, due: datetime | None, now: datetime,
              spread: timedelta = STARTUP_SPREAD) -> datetime:
    """When a source's first poll after start-up should run.

    A source polled recently waits until it is due again; a due one gets a stable offset
    inside the spread window (from its name, so restarts do not reshuffle everything).
    """
    if due is not None and due > now:
        return due
    window = min(spread, every)
    offset = (zlib.crc32(name.encode()) % 1000) / 1000 * window.total_seconds()
    return now + timedelta(seconds=offset)


def trigger_for(source: SourceBase, start: datetime) -> IntervalTrigger | CronTrigger:
    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone=TIMEZONE)
    jitter = int(source.jitter.total_seconds()) if source.jitter else None
    return IntervalTrigger(seconds=int(source.every.total_seconds()), start_date=start,
                           jitter=jitter, timezone=TIMEZONE)


class Daemon:
    def __init__(self, runtime: Runtime, *, dispatch_every: timedelta = DISPATCH_EVERY,
                 spread: timedelta = STARTUP_SPREAD) -> None:
        self.runtime = runtime
        self.dispatch_every = dispatch_every
        self.spread = spread
        self.scheduler = AsyncIOScheduler(timezone=TIMEZONE, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 300,
        })
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task[object]] = set()

    # -- jobs ------------------------------------------------------------------------
    async def _poll(self, name: str) -> None:
        if self.stopping.is_set():
            return
        source = self.runtime.sources.get(name)
        if source is None:
            return
        await self._tracked(poll_source(self.runtime, source))

    async def _dispatch(self) -> None:
        if not self.stopping.is_set():
            await self._tracked(dispatch_outbox(self.runtime))

    async def _tracked(self, coroutine: object) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coroutine)  # type: ignore[arg-type]
        self.in_flight.add(task)
        try:
            await task
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
        except Exception:
            log.exception("job failed")
        finally:
            self.in_flight.discard(task)

    def schedule_sources(self) -> None:
        """Make the scheduler's jobs match the configured sources."""
        with store.transaction(self.runtime.engine) as session:
            due = source_store.next_due(session)
        now = utcnow()
        wanted = self.runtime.sources
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id[7:] not in wanted:
                job.remove()
        for name, source in wanted.items():
            start = first_run(name, source.every, due.get(name), now, self.spread)
            trigger = trigger_for(source, start)
            self.scheduler.add_job(self._poll, trigger, args=[name], id=f"source:{name}",
                                   name=name, replace_existing=True,
                                   next_run_time=start if source.cron is None else None)
        log.info("scheduled %d sources", len(wanted))

    def reload(self) -> None:
        try:
            self.runtime.reload()
        except ConfigError as exc:
            log.error("reload refused, the running configuration stays: %s", exc)
            return
        self.schedule_sources()
        log.info("configuration reloaded")

    # -- life cycle ------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        async with self.runtime.network():
            self.schedule_sources()
            self.scheduler.add_job(self._dispatch, IntervalTrigger(
                seconds=self.dispatch_every.total_seconds(), timezone=TIMEZONE),
                id="outbox", next_run_time=datetime.now(TIMEZONE))
            self.scheduler.start()
            log.info("watcher running as %s with %d sources", self.runtime.owner,
                     len(self.runtime.sources))
            await self.stopping.wait()
            log.info("stopping: no new polls; waiting up to %.0fs for %d in flight",
                     SHUTDOWN_GRACE_S, len(self.in_flight))
            self.scheduler.shutdown(wait=False)
            if self.in_flight:
                _, pending = await asyncio.wait(set(self.in_flight), timeout=SHUTDOWN_GRACE_S)
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.wait(pending, timeout=2)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        log.info("stopped")
