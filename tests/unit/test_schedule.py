"""schedule and cadence: first runs spread and resumed from the database, triggers in Hong
Kong time with jitter, next due times after a poll, and reload keeping a good configuration.

Times are pinned (AP trigger tests do the same); the scheduler is built but never started.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher import store
from watcher.config.sources import RssSource
from watcher.service.cadence import TIMEZONE, next_due, trigger_for
from watcher.service.runtime import Runtime
from watcher.service.schedule import Daemon, first_run
from watcher.service.settings import Settings
from watcher.store import sources as source_store

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)  # Friday 09:30 in Hong Kong


def source(**fields: object) -> RssSource:
    return RssSource.model_validate({"kind": "rss", "name": "gia", "url": "http://x/",
                                     **fields})


def test_a_source_polled_recently_waits_until_it_is_due() -> None:
    due = NOW + timedelta(minutes=7)
    assert first_run("gia", timedelta(minutes=15), due, NOW) == due


def test_due_sources_spread_over_the_window_stably_by_name() -> None:
    spread = timedelta(seconds=60)
    runs = {name: first_run(name, timedelta(hours=1), None, NOW, spread)
            for name in (f"source-{i}" for i in range(200))}
    offsets = [(t - NOW).total_seconds() for t in runs.values()]
    assert all(0 <= o < 60 for o in offsets)
    assert len({round(o) for o in offsets}) > 30  # not all at once
    assert first_run("source-7", timedelta(hours=1), None, NOW, spread) == runs["source-7"]
    # An overdue source (due in the past) is spread the same way.
    assert first_run("source-7", timedelta(hours=1), NOW - timedelta(days=2), NOW,
                     spread) == runs["source-7"]


def test_the_spread_never_exceeds_the_interval_and_zero_means_now() -> None:
    run = first_run("fast", timedelta(seconds=5), None, NOW, timedelta(seconds=60))
    assert NOW <= run < NOW + timedelta(seconds=5)
    assert first_run("fast", timedelta(hours=1), None, NOW, timedelta(0)) == NOW


def test_interval_trigger_keeps_jitter_and_hong_kong_time() -> None:
    trigger = trigger_for(source(interval="15m", jitter="30s"), NOW)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(minutes=15) and trigger.jitter == 30
    assert str(trigger.timezone) == "Asia/Hong_Kong"


def test_cron_runs_in_hong_kong_time_with_jitter() -> None:
    trigger = trigger_for(source(cron="0 9 * * mon-fri", jitter="1m"), NOW)
    assert isinstance(trigger, CronTrigger) and trigger.jitter == 60
    # Friday 09:30 HKT: the next weekday 09:00 is Monday, 01:00 UTC.
    fire = CronTrigger(minute="0", hour="9", day_of_week="mon-fri",
                       timezone=TIMEZONE).get_next_fire_time(None, NOW)
    assert fire == datetime(2026, 11, 30, 9, 0, tzinfo=TIMEZONE)
    assert next_due(source(cron="0 9 * * mon-fri"), NOW) == datetime(2026, 11, 30, 1, 0,
                                                                      tzinfo=UTC)


def test_next_due_is_one_interval_on() -> None:
    assert next_due(source(interval="15m"), NOW) == NOW + timedelta(minutes=15)
    assert next_due(source(), NOW) == NOW + timedelta(hours=1)  # the default interval


# -- the daemon's jobs, against a real SQLite file ----------------------------------------

def write_sources(directory: Path, *blocks: str) -> None:
    directory.mkdir(exist_ok=True)
    for path in directory.glob("*.yaml"):
        path.unlink()
    for i, block in enumerate(blocks):
        (directory / f"s{i}.yaml").write_text(block)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    write_sources(tmp_path / "sources",
                  "name: recent\nkind: rss\nurl: http://127.0.0.1:9/a\ninterval: 1h\n",
                  "name: fresh\nkind: rss\nurl: http://127.0.0.1:9/b\ninterval: 1h\n",
                  "name: daily\nkind: rss\nurl: http://127.0.0.1:9/c\ncron: '0 9 * * *'\n",
                  "name: missed\nkind: rss\nurl: http://127.0.0.1:9/d\ncron: '0 9 * * *'\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                        sources_dir=tmp_path / "sources", rules_dir=REPO / "rules",
                        startup_spread_s=30)
    rt = Runtime.load(settings)
    rt.init_database()
    return rt


def test_jobs_resume_from_the_database(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    due_recent = now + timedelta(minutes=40)
    with store.transaction(runtime.engine) as session:
        source_store.finish_poll(session, "recent", now - timedelta(minutes=20), due_recent,
                                 None)
        source_store.finish_poll(session, "missed", now - timedelta(days=2),
                                 now - timedelta(days=1), None)
    daemon = Daemon(runtime)
    daemon.schedule_sources()
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) == {"source:recent", "source:fresh", "source:daily", "source:missed"}
    assert jobs["source:recent"].next_run_time == due_recent  # not re-polled on restart
    fresh = jobs["source:fresh"].next_run_time - now
    assert timedelta(0) <= fresh < timedelta(seconds=31)  # within the start-up spread
    missed = jobs["source:missed"].next_run_time - now  # its 09:00 passed while down
    assert timedelta(0) <= missed < timedelta(seconds=31)
    daily = jobs["source:daily"].next_run_time  # never polled: at its own time
    assert daily.astimezone(TIMEZONE).hour == 9 and daily.minute == 0


def test_reload_adds_new_sources_and_keeps_the_old_config_on_errors(
        runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    directory = tmp_path / "sources"

    async def scenario() -> None:
        daemon = Daemon(runtime)
        daemon.scheduler.start(paused=True)  # jobs are stored (and replaced), never run
        daemon.schedule_sources()
        (directory / "new.yaml").write_text(
            "name: added\nkind: rss\nurl: http://127.0.0.1:9/e\ninterval: 2h\n")
        daemon.reload()
        assert "source:added" in {job.id for job in daemon.scheduler.get_jobs()}

        (directory / "bad.yaml").write_text(
            "name: broken\nkind: rss\nurl: http://127.0.0.1:9/f\nintervall: 2h\n")
        daemon.reload()
        assert f"{directory / 'bad.yaml'}:4:1:" in caplog.text
        assert "reload refused" in caplog.text
        assert "broken" not in runtime.sources and "added" in runtime.sources
        assert len(daemon.scheduler.get_jobs()) == 5

        (directory / "bad.yaml").unlink()
        (directory / "new.yaml").unlink()
        daemon.reload()  # a removed source's job goes too
        assert "source:added" not in {job.id for job in daemon.scheduler.get_jobs()}
        daemon.scheduler.shutdown(wait=False)

    asyncio.run(scenario())
