"""Send what the outbox holds: claim due deliveries, fold them into messages, send each,
and mark its deliveries sent only after the target accepted it.

At least once: a claim is a lease, so if this process dies between a send and its mark,
the lease runs out and the deliveries are sent again. Each target is sent to alone, so a
failing target is retried alone and a healthy one is never re-sent. A delivery whose
route is in quiet hours now (a retry that fell into them) is handed back, not sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from watcher import store
from watcher.delivery.fold import plan
from watcher.delivery.pace import interval_for
from watcher.display import plural
from watcher.store import outbox
from watcher.store.outbox import Delivery
from watcher.store.queries import DocumentRef, change_documents
from watcher.store.timeutil import utcnow

if TYPE_CHECKING:
    from watcher.service.runtime import Runtime

log = logging.getLogger("watcher.delivery")

DELIVERY_LEASE = timedelta(minutes=2)


@dataclass
class DispatchReport:
    sent: int = 0  # deliveries (one per alert and target), not messages
    failed: int = 0
    dead: int = 0
    deferred: int = 0  # handed back for quiet hours
    messages: int = 0  # messages accepted by targets


def sources_block(documents: list[DocumentRef]) -> str:
    """The pages that reported one change (the English and Chinese releases, a news
    story...), so one alert says everywhere it was read."""
    lines = [f"Reported by {len(documents)} pages:"]
    lines += [f"- [{d.language}] {d.title or d.url} ({d.source})\n  {d.url}" for d in documents]
    return "\n".join(lines)


def with_sources(session: Session, deliveries: list[Delivery]) -> list[Delivery]:
    """Deliveries whose change was reported by more than one page, with those pages
    listed. Read at send time: a twin release polled after the change was stored still
    makes it into the alert."""
    ids = [d.change_id for d in deliveries if d.change_id is not None]
    documents = change_documents(session, ids)
    return [
        replace(d, body=f"{d.body.rstrip()}\n\n{sources_block(documents[d.change_id])}")
        if d.change_id is not None and len(documents.get(d.change_id, [])) > 1 else d
        for d in deliveries
    ]


def _target_url(rt: Runtime, name: str) -> str | None:
    return next((t.url for t in rt.targets if t.name == name), None)


async def dispatch(rt: Runtime, *, limit: int = 50, now: datetime | None = None,
                   lease: timedelta = DELIVERY_LEASE) -> DispatchReport:
    """One dispatch cycle. ``now`` is for tests; sends and marks use the real clock."""
    report = DispatchReport()
    start = now or utcnow()
    with store.transaction(rt.engine) as session:
        due = outbox.claim_due(session, rt.owner, start, lease, limit)
        ready = []
        for delivery in due:
            route = rt.routes.get(delivery.route)
            until = route.hold_until(start) if route else start
            if until > start:
                outbox.defer(session, delivery.id, until)
                report.deferred += 1
            else:
                ready.append(delivery)
        ready = with_sources(session, ready)
    for message in plan(ready, rt.routes):
        url = _target_url(rt, message.target)
        await rt.pacer.wait(message.target, interval_for(url) if url else None)
        result = await asyncio.to_thread(rt.send, message.target, message.subject,
                                         message.body)
        with store.transaction(rt.engine) as session:
            for delivery_id in message.delivery_ids:
                if result.ok:
                    outbox.mark_sent(session, delivery_id, utcnow())
                    report.sent += 1
                else:
                    status = outbox.mark_failed(
                        session, delivery_id, result.error or "send failed", utcnow(),
                        base_delay=rt.settings.retry_base_delay,
                        max_age=rt.settings.delivery_max_age)
                    report.dead += status == outbox.DEAD
                    report.failed += 1
        if result.ok:
            report.messages += 1
        else:
            log.warning("%s message to %s (%s) failed: %s", message.kind, message.target,
                        plural(len(message.delivery_ids), "delivery", "deliveries"),
                        result.error)
    return report
