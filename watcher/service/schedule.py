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
import socket
import zlib
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher import store
from watcher.display import plural
from watcher.errors import ConfigError
from watcher.fetch.poll import PollReport
from watcher.pipeline import dispatch_outbox, poll_source
from watcher.service.cadence import TIMEZONE, trigger_for
from watcher.service.memory import release_free_memory, tune_malloc
from watcher.service.pidfile import PidFile, pid_file_path
from watcher.service.runtime import Runtime
from watcher.store import sources as source_store
from watcher.store.timeutil import utcnow

if TYPE_CHECKING:
    # Starlette only types the optional web app: it is imported with --http (watcher.service.http).
    from starlette.types import ASGIApp

log = logging.getLogger("watcher.daemon")

__all__ = ["TIMEZONE", "Daemon", "first_run", "trigger_for"]

STARTUP_SPREAD = timedelta(seconds=60)  # due sources start within this window


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


class Daemon:
    def __init__(self, runtime: Runtime, *, dispatch_every: timedelta | None = None,
                 spread: timedelta | None = None, http_socket: socket.socket | None = None,
                 web: ASGIApp | None = None, pid_file: PidFile | None = None) -> None:
        settings = runtime.settings
        # `watcher run` claims the pid file before it loads anything (one daemon per
        # file); a Daemon started some other way claims it when it runs.
        self.pid_file = pid_file
        self.runtime = runtime
        self.dispatch_every = dispatch_every or timedelta(seconds=settings.dispatch_every_s)
        self.spread = spread if spread is not None else timedelta(
            seconds=settings.startup_spread_s)
        self.shutdown_grace_s = settings.shutdown_grace_s
        self.scheduler = AsyncIOScheduler(timezone=TIMEZONE, job_defaults={
            "coalesce": True, "max_instances": 1,
            "misfire_grace_time": max(1, int(settings.misfire_grace_s)),
        })
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task[object]] = set()
        self.polling: set[str] = set()  # sources with a poll in flight
        self.http_socket = http_socket
        self.web = web

    @property
    def running(self) -> bool:
        """The scheduler runs and the daemon is not shutting down (for /healthz)."""
        return bool(self.scheduler.running) and not self.stopping.is_set()

    # -- jobs ------------------------------------------------------------------------
    async def _poll(self, name: str) -> None:
        source = self.runtime.sources.get(name)
        # A source's interval job and its retry job may fire together: one poll at a time.
        if self.stopping.is_set() or source is None or name in self.polling:
            return
        self.polling.add(name)
        try:
            report = await self._tracked(poll_source(self.runtime, source))
        finally:
            self.polling.discard(name)
        if isinstance(report, PollReport) and report.retry_at is not None:
            self._retry(name, report.retry_at)
        if not self.in_flight:  # the last poll running: its pages are garbage now
            release_free_memory()

    def _retry(self, name: str, at: datetime) -> None:
        """A poll that could not store what it fetched runs again at ``at`` (a backoff,
        see watcher.service.failures), besides its regular schedule."""
        if self.stopping.is_set():
            return
        log.info("%s: trying the poll again at %s", name, at.isoformat(timespec="seconds"))
        self.scheduler.add_job(self._poll, DateTrigger(run_date=at, timezone=TIMEZONE),
                               args=[name], id=f"retry:{name}", name=f"retry {name}",
                               replace_existing=True)

    async def _dispatch(self) -> None:
        if not self.stopping.is_set():
            await self._tracked(dispatch_outbox(self.runtime))

    async def _tracked(self, coroutine: Coroutine[Any, Any, object]) -> object:
        task: asyncio.Task[object] = asyncio.ensure_future(coroutine)
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        try:
            # Shielded: the scheduler's shutdown cancels its jobs at once, but a poll in
            # flight gets the grace period to finish (run() cancels it after that).
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
        except Exception as exc:
            if store.is_database_error(exc):  # an outage, not a bug: one line, no traceback
                log.error("job failed: database error: %s",
                          store.describe_error(exc, self.runtime.engine.url))
            else:
                log.exception("job failed")
        return None

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
            remembered = due.get(name)
            start = first_run(name, source.every, remembered, now, self.spread)
            trigger = trigger_for(source, start)
            # A cron source runs at its times; only one that missed its time while the
            # daemon was down (overdue in the database) gets an early, spread first poll.
            overdue = remembered is not None and remembered <= now
            first = start if source.cron is None or overdue else trigger.get_next_fire_time(
                None, now)
            self.scheduler.add_job(self._poll, trigger, args=[name], id=f"source:{name}",
                                   name=name, replace_existing=True, next_run_time=first)
        log.info("scheduled %s", plural(len(wanted), "source"))

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
        tune_malloc()  # before the worker threads that read and store pages start
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        pid_file = self.pid_file or PidFile.claim(pid_file_path(self.runtime.settings))
        try:
            await self._serve()
        finally:
            pid_file.release()
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(signum)
        log.info("stopped")

    def _say_what_runs(self, server: object) -> None:
        """Where the database is, what was loaded, where alerts and health go: what an
        operator checks first when a daemon seems to do nothing."""
        rt = self.runtime
        targets = (f"alerts to {plural(len(rt.targets), 'target')}" if rt.targets else
                   "no targets: alerts go to the console (set WATCHER_NOTIFY)")
        log.info("watcher running as %s: %s, %s; %s; database %s", rt.owner,
                 plural(len(rt.sources), "source"), plural(len(rt.rules), "rule"), targets,
                 rt.engine.url.render_as_string(hide_password=True))
        if server is None:
            log.info("no health or metrics endpoint (`watcher run --http 127.0.0.1:9108` "
                     "serves /healthz and /metrics)")

    async def _serve(self) -> None:
        server = None
        if self.http_socket is not None:
            from watcher.service.http import HttpServer, create_http_app

            server = HttpServer(create_http_app(self.runtime.engine, self.runtime.metrics,
                                                lambda: self.running, self.web,
                                                self.runtime.poll_failures.names),
                                self.http_socket, web=self.web is not None)
        async with self.runtime.network():
            self.schedule_sources()
            self.scheduler.add_job(self._dispatch, IntervalTrigger(
                seconds=self.dispatch_every.total_seconds(), timezone=TIMEZONE),
                id="outbox", next_run_time=datetime.now(TIMEZONE))
            self.scheduler.start()
            if server is not None:
                server.start()
            self._say_what_runs(server)
            await self.stopping.wait()
            log.info("stopping: no new polls; waiting up to %.0fs for %d in flight",
                     self.shutdown_grace_s, len(self.in_flight))
            self.scheduler.shutdown(wait=False)
            if self.in_flight:
                _, pending = await asyncio.wait(set(self.in_flight),
                                                timeout=self.shutdown_grace_s)
                for task in pending:
                    task.cancel()
                if pending:
                    log.info("abandoned %d polls in flight; their leases are released",
                             len(pending))
                    await asyncio.wait(pending, timeout=2)
            if server is not None:
                await server.stop()
