"""delivery.pace: one message per interval per target; which services need it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from watcher.delivery.pace import SLACK_INTERVAL, Pacer, interval_for


def test_slack_is_paced_email_and_webhooks_are_not() -> None:
    assert interval_for("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7") == SLACK_INTERVAL
    assert interval_for("mailto://u:p@smtp.example.org?to=a@example.org") is None
    assert interval_for("json://127.0.0.1/x") is None
    assert interval_for("not a url") is None


def test_pacer_waits_per_target_and_never_drops() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(clock=lambda: clock[0], sleep=sleep)
    second = timedelta(seconds=1)

    async def run() -> list[float]:
        waits = [await pacer.wait("a", second), await pacer.wait("b", second)]
        clock[0] += 0.25
        waits.append(await pacer.wait("a", second))  # 0.75 s to go for a
        waits.append(await pacer.wait("a", None))  # unpaced target kinds never wait
        clock[0] += 5
        waits.append(await pacer.wait("a", second))  # long since: no wait
        return waits

    assert asyncio.run(run()) == [0.0, 0.0, 0.75, 0.0, 0.0]
    assert slept == [0.75]
