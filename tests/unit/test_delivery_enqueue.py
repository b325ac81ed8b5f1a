"""delivery.enqueue: dedup, realert (checked in the store), routes' release times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from watcher import store
from watcher.config.targets import Target
from watcher.delivery.enqueue import enqueue_alerts
from watcher.delivery.routing import Routes
from watcher.models import Alert
from watcher.store import outbox

T0 = datetime(2025, 1, 15, 1, 0, tzinfo=UTC)  # 09:00 in Hong Kong
EMAIL = Target("mailto://bot:****@smtp.example.org", "mailto://x", ("email",))
SLACK = Target("slack://T1/****", "slack://y", ("slack",))
FAILING = Alert(rule_id="source-failing", change_identity="source_failing:gia",
                subject="Source failing: gia", body="down", tags=(),
                dedup_key="source-failing:gia:source_failing", severity="critical")


def utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = store.make_engine(database_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


def queue(engine: Engine, alert: Alert, now: datetime, *, realert: timedelta | None = None,
          routes: Routes | None = None, targets: tuple[Target, ...] = (EMAIL, SLACK)) -> int:
    with store.transaction(engine) as session:
        return enqueue_alerts(session, [alert], realert={alert.rule_id: realert},
                              routes=routes or Routes(), targets=targets, change_id=None,
                              source_id=None, now=now)


def deliveries(engine: Engine) -> list[outbox.Delivery]:
    with store.transaction(engine) as session:
        return sorted(outbox.listing(session), key=lambda d: d.id)


def test_one_row_per_target_and_a_key_alerts_once_without_realert(engine: Engine) -> None:
    assert queue(engine, FAILING, T0) == 2
    assert queue(engine, FAILING, T0 + timedelta(days=30)) == 0
    assert [(d.target, d.alert_key) for d in deliveries(engine)] == [
        (EMAIL.name, FAILING.dedup_key), (SLACK.name, FAILING.dedup_key)]


def test_realert_holds_back_within_the_period_then_alerts_again(engine: Engine) -> None:
    day = timedelta(days=1)
    assert queue(engine, FAILING, T0, realert=day) == 2
    assert queue(engine, FAILING, T0 + timedelta(hours=23), realert=day) == 0
    assert queue(engine, FAILING, T0 + day, realert=day) == 2
    assert queue(engine, FAILING, T0 + day + timedelta(hours=1), realert=day) == 0
    assert queue(engine, FAILING, T0 + 3 * day, realert=day) == 2
    assert len(deliveries(engine)) == 6


def test_realert_is_per_target(engine: Engine) -> None:
    day = timedelta(days=1)
    assert queue(engine, FAILING, T0, realert=day, targets=(EMAIL,)) == 1
    # Slack was added to the configuration later: it has never had this alert.
    assert queue(engine, FAILING, T0 + timedelta(hours=1), realert=day) == 1
    assert [d.target for d in deliveries(engine)] == [EMAIL.name, SLACK.name]


def test_routes_set_release_time_and_route(engine: Engine) -> None:
    routes = Routes.model_validate({"routes": {
        "daily": {"tags": ["email"], "mode": "digest", "schedule": "0 9 * * *"}}})
    alert = Alert(rule_id="new-funding", change_identity="c1", subject="New fund: X",
                  body="X", tags=("daily", "slack"), dedup_key="new-funding:x:")
    assert queue(engine, alert, T0 + timedelta(hours=1), routes=routes) == 2
    email, slack = deliveries(engine)
    assert (email.route, slack.route) == ("daily", None)
    assert utc(email.next_attempt_at) == T0 + timedelta(days=1)
    assert utc(slack.next_attempt_at) == T0 + timedelta(hours=1)
