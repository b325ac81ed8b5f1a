"""When a source is due: its trigger (interval with jitter, or cron) and the next due time
after a poll. Shared by the scheduler (what fires when) and the pipeline (what the
database remembers as ``next_due_at``), so both agree after a restart.

Cron lines are read in Asia/Hong_Kong: "0 9 * * mon-fri" is nine in the morning in Hong
Kong, whatever the host's clock says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config.sources import SourceBase

TIMEZONE = ZoneInfo("Asia/Hong_Kong")


def _jitter(source: SourceBase) -> int | None:
    return int(source.jitter.total_seconds()) if source.jitter else None


def cron_trigger(line: str, jitter: int | None = None) -> CronTrigger:
    """A crontab line in Hong Kong time. Like APScheduler 3's ``from_crontab`` (which
    validated it at load time), weekday numbers count from Monday = 0, so use names:
    "mon-fri"."""
    minute, hour, day, month, day_of_week = line.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=day_of_week, timezone=TIMEZONE, jitter=jitter)


def trigger_for(source: SourceBase, start: datetime) -> IntervalTrigger | CronTrigger:
    """The APScheduler trigger of a source; an interval counts from ``start``."""
    if source.cron:
        return cron_trigger(source.cron, _jitter(source))
    return IntervalTrigger(seconds=int(source.every.total_seconds()), start_date=start,
                           jitter=_jitter(source), timezone=TIMEZONE)


def next_due(source: SourceBase, now: datetime) -> datetime:
    """When a source polled at ``now`` is next due: one interval on, or the cron's next
    time (a cron source polled at 09:00 daily is not due again at 09:00 + 24h on Friday
    but on Monday when the line says mon-fri)."""
    if source.cron:
        fire: datetime | None = cron_trigger(source.cron).get_next_fire_time(
            None, now + timedelta(seconds=1))
        assert fire is not None, "a valid crontab line always fires again"
        return fire.astimezone(now.tzinfo) if now.tzinfo else fire
    return now + source.every
