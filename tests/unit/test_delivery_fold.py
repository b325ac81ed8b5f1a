"""delivery.fold: due deliveries -> messages (single, digest, storm summary). Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.delivery.fold import plan
from watcher.delivery.routing import Routes
from watcher.store.outbox import Delivery

NOW = datetime(2025, 1, 15, 1, 0, tzinfo=UTC)
ROUTES = Routes.model_validate({"storm_threshold": 3, "routes": {
    "daily": {"mode": "digest", "schedule": "0 9 * * *"},
    "night": {"quiet_hours": {"start": "22:00", "end": "07:00"}}}})


def delivery(id_: int, target: str = "email", route: str | None = None) -> Delivery:
    return Delivery(id=id_, change_id=None, rule_id="new-funding", target=target,
                    subject=f"New fund: F{id_}", body=f"F{id_}\n\nhttps://x.gov.hk/{id_}.htm",
                    severity="info", status="sending", attempts=0, last_error=None,
                    created_at=NOW, next_attempt_at=NOW, sent_at=None, route=route)


def test_immediate_deliveries_are_sent_one_by_one() -> None:
    messages = plan([delivery(1), delivery(2, route="night")], ROUTES)
    assert [(m.kind, m.subject, m.delivery_ids) for m in messages] == [
        ("single", "New fund: F1", (1,)), ("single", "New fund: F2", (2,))]
    assert messages[0].body == "F1\n\nhttps://x.gov.hk/1.htm"


def test_digest_lists_every_alert_in_full_per_target_and_route() -> None:
    messages = plan([delivery(1, route="daily"), delivery(2, route="daily"),
                     delivery(3, "slack", route="daily")], ROUTES)
    assert [(m.target, m.kind, m.delivery_ids) for m in messages] == [
        ("email", "digest", (1, 2)), ("slack", "digest", (3,))]
    email, slack = messages
    assert email.subject == "watcher digest: 2 alerts"
    assert email.body.splitlines()[0] == "2 alerts since the last digest (daily)."
    assert "1. New fund: F1" in email.body and "https://x.gov.hk/2.htm" in email.body
    assert slack.subject == "watcher digest: 1 alert: New fund: F3"


def test_storm_above_threshold_becomes_one_summary_per_target() -> None:
    storm = [delivery(n) for n in range(1, 5)] + [delivery(9, "slack")]
    messages = plan(storm, ROUTES)
    assert [(m.target, m.kind, m.delivery_ids) for m in messages] == [
        ("email", "storm", (1, 2, 3, 4)), ("slack", "single", (9,))]
    summary = messages[0]
    assert summary.subject == "watcher: 4 alerts at once"
    assert "4. New fund: F4 https://x.gov.hk/4.htm" in summary.body
    # At the threshold exactly, no folding.
    assert [m.kind for m in plan([delivery(n) for n in range(3)], ROUTES)] == ["single"] * 3


def test_route_gone_from_config_is_sent_immediately() -> None:
    [message] = plan([delivery(1, route="removed")], ROUTES)
    assert message.kind == "single"
