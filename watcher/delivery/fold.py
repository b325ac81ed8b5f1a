"""Pure: the deliveries due in one dispatch cycle -> the messages to send.

Per target, in the order claimed:

- deliveries of a digest route become one digest message per route, listing every alert
  in full ("everything since the last digest": they were all held until the same time);
- if more immediate deliveries than ``storm_threshold`` are due, they become one summary
  message listing every subject and link, instead of a flood;
- otherwise each immediate delivery is its own message.

A message carries the ids of every delivery it covers: all are marked sent when it is
accepted, all retried when it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from watcher.delivery.routing import Routes
from watcher.rules.render import URL_PATTERN
from watcher.store.outbox import Delivery

Kind = Literal["single", "digest", "storm"]


@dataclass(frozen=True, slots=True)
class Message:
    target: str
    subject: str
    body: str  # plain text, as rules write bodies
    delivery_ids: tuple[int, ...]
    kind: Kind = "single"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def digest_message(target: str, route: str, deliveries: Sequence[Delivery]) -> Message:
    count = len(deliveries)
    lines = [f"{_plural(count, 'alert')} since the last digest ({route})."]
    for number, delivery in enumerate(deliveries, start=1):
        lines += ["", f"{number}. {delivery.subject}", "", delivery.body.strip()]
    subject = f"watcher digest: {_plural(count, 'alert')}"
    if count == 1:
        subject += f": {deliveries[0].subject}"
    return Message(target, subject, "\n".join(lines), tuple(d.id for d in deliveries),
                   "digest")


def storm_message(target: str, deliveries: Sequence[Delivery]) -> Message:
    count = len(deliveries)
    lines = [f"{count} alerts arrived at once; here is the list instead of {count} "
             "messages. `watcher outbox` and `watcher log` show each in full.", ""]
    for number, delivery in enumerate(deliveries, start=1):
        link = URL_PATTERN.search(delivery.body)
        lines.append(f"{number}. {delivery.subject}" + (f" {link.group(0)}" if link else ""))
    return Message(target, f"watcher: {count} alerts at once", "\n".join(lines),
                   tuple(d.id for d in deliveries), "storm")


def plan(deliveries: Sequence[Delivery], routes: Routes) -> list[Message]:
    """The messages for one cycle's due deliveries."""
    by_target: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_target.setdefault(delivery.target, []).append(delivery)
    messages: list[Message] = []
    for target, group in by_target.items():
        digests: dict[str, list[Delivery]] = {}
        immediate: list[Delivery] = []
        for delivery in group:
            route = routes.get(delivery.route)
            if route is not None and route.mode == "digest":
                digests.setdefault(route.name, []).append(delivery)
            else:
                immediate.append(delivery)  # also a route removed from the config
        for name, held in digests.items():
            messages.append(digest_message(target, name, held))
        if len(immediate) > routes.storm_threshold:
            messages.append(storm_message(target, immediate))
        else:
            messages += [Message(target, d.subject, d.body, (d.id,)) for d in immediate]
    return messages
