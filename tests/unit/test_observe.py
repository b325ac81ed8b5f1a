"""observe: the metrics a poll, a fetch and a dispatch leave, in Prometheus text format."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from watcher.service.observe import Metrics

NOW = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """name + sorted labels -> value, parsed back with prometheus-client's own parser."""
    parsed = text_string_to_metric_families(metrics.render().decode())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in parsed for s in family.samples}


def test_polls_are_counted_by_source_and_result() -> None:
    metrics = Metrics()
    metrics.record_poll("gia", skipped=False, error=False, changes=2, finished_at=NOW)
    metrics.record_poll("gia", skipped=False, error=True, changes=0, finished_at=NOW)
    metrics.record_poll("gia", skipped=True, error=False, changes=0, finished_at=NOW)
    metrics.record_poll("itf", skipped=False, error=False, changes=0, finished_at=NOW)
    got = samples(metrics)
    assert got[("watcher_polls_total", (("result", "ok"), ("source", "gia")))] == 1
    assert got[("watcher_polls_total", (("result", "error"), ("source", "gia")))] == 1
    assert got[("watcher_polls_total", (("result", "skipped"), ("source", "gia")))] == 1
    assert got[("watcher_changes_total", (("source", "gia"),))] == 2
    assert got[("watcher_last_success_timestamp_seconds", (("source", "gia"),))] == \
        NOW.timestamp()


def test_a_failed_poll_does_not_move_last_success() -> None:
    metrics = Metrics()
    metrics.record_poll("gia", skipped=False, error=True, changes=0, finished_at=NOW)
    assert not any(name == "watcher_last_success_timestamp_seconds"
                   for name, _ in samples(metrics))


def test_fetches_feed_latency_bytes_304s_and_errors() -> None:
    metrics = Metrics()
    metrics.record_fetch("gia", seconds=0.3, size=1000, not_modified=False, error=False)
    metrics.record_fetch("gia", seconds=0.02, size=0, not_modified=True, error=False)
    metrics.record_fetch("gia", seconds=10.0, size=0, not_modified=False, error=True)
    got = samples(metrics)
    source = (("source", "gia"),)
    assert got[("watcher_fetch_seconds_count", source)] == 3
    assert got[("watcher_fetch_seconds_bucket", (("le", "0.05"), *source))] == 1
    assert got[("watcher_fetch_seconds_bucket", (("le", "0.5"), *source))] == 2
    assert got[("watcher_fetch_bytes_total", source)] == 1000
    assert got[("watcher_fetch_not_modified_total", source)] == 1
    assert got[("watcher_fetch_errors_total", source)] == 1


def test_deliveries_and_outbox_depth() -> None:
    metrics = Metrics()
    metrics.record_deliveries(sent=3, failed=2, dead=1)  # 1 will retry, 1 given up
    metrics.set_outbox_depth({"pending": 4, "sent": 10})
    got = samples(metrics)
    assert got[("watcher_deliveries_total", (("status", "sent"),))] == 3
    assert got[("watcher_deliveries_total", (("status", "failed"),))] == 1
    assert got[("watcher_deliveries_total", (("status", "dead"),))] == 1
    assert got[("watcher_outbox_depth", (("status", "pending"),))] == 4
    assert got[("watcher_outbox_depth", (("status", "dead"),))] == 0


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.record_poll("gia", skipped=False, error=False, changes=1, finished_at=NOW)
    assert ("watcher_polls_total", (("result", "ok"), ("source", "gia"))) in samples(first)
    assert not any(name == "watcher_polls_total" for name, _ in samples(second))
