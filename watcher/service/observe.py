"""Prometheus metrics for the daemon: what was polled, fetched, changed and delivered.

Each ``Metrics`` holds its own ``CollectorRegistry`` (not prometheus-client's global one),
so a test or a second runtime in one process never sees another's counts. The pipeline
calls the ``record_*`` helpers; ``render()`` gives the text ``/metrics`` serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Government sites answer in tens of milliseconds to tens of seconds.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# A poll's result label: the replica polled it (ok or error), or another replica held it
# (or it was not due yet) and this one skipped it.
OK, ERROR, SKIPPED = "ok", "error", "skipped"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("watcher_polls", "Polls by source and result (ok, error, skipped)",
                             ["source", "result"], registry=r)
        self.fetch_seconds = Histogram("watcher_fetch_seconds", "HTTP fetch latency",
                                       ["source"], buckets=FETCH_BUCKETS, registry=r)
        self.fetch_bytes = Counter("watcher_fetch_bytes", "Response body bytes received",
                                   ["source"], registry=r)
        self.not_modified = Counter("watcher_fetch_not_modified",
                                    "Fetches answered 304 or with an unchanged body",
                                    ["source"], registry=r)
        self.fetch_errors = Counter("watcher_fetch_errors", "Fetches that failed",
                                    ["source"], registry=r)
        self.changes = Counter("watcher_changes", "New changes detected", ["source"],
                               registry=r)
        self.unstored = Counter("watcher_polls_unstored",
                                "Polls that could not store what they fetched (the "
                                "database refused); each is retried", ["source"],
                                registry=r)
        self.deliveries = Counter("watcher_deliveries",
                                  "Delivery attempts by status (sent, failed, dead)",
                                  ["status"], registry=r)
        self.outbox_depth = Gauge("watcher_outbox_depth",
                                  "Deliveries in the outbox by status", ["status"],
                                  registry=r)
        self.last_success = Gauge("watcher_last_success_timestamp_seconds",
                                  "When each source was last polled without error (Unix time)",
                                  ["source"], registry=r)
        self.up = Gauge("watcher_scheduler_running",
                        "1 while the scheduler runs, 0 once it stopped", registry=r)

    # -- recording (called by the pipeline and the daemon) -----------------------------
    def record_fetch(self, source: str, *, seconds: float, size: int, not_modified: bool,
                     error: bool) -> None:
        self.fetch_seconds.labels(source).observe(seconds)
        self.fetch_bytes.labels(source).inc(size)
        if not_modified:
            self.not_modified.labels(source).inc()
        if error:
            self.fetch_errors.labels(source).inc()

    def record_poll(self, source: str, *, skipped: bool, error: bool, changes: int,
                    finished_at: datetime, unstored: bool = False) -> None:
        result = SKIPPED if skipped else ERROR if error or unstored else OK
        self.polls.labels(source, result).inc()
        if skipped:
            return
        if unstored:
            self.unstored.labels(source).inc()
        self.changes.labels(source).inc(changes)
        if not error:
            self.last_success.labels(source).set(finished_at.timestamp())

    def record_deliveries(self, *, sent: int, failed: int, dead: int) -> None:
        # "failed" counts attempts that will be retried; "dead" those given up on.
        for status, count in (("sent", sent), ("failed", failed - dead), ("dead", dead)):
            if count:
                self.deliveries.labels(status).inc(count)

    def set_outbox_depth(self, depth: Mapping[str, int]) -> None:
        for status in ("pending", "sending", "sent", "dead"):
            self.outbox_depth.labels(status).set(depth.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
