"""Values as people read them, the same in the CLI, the web pages and the alerts: counts
with the right plural ("1 test", "3 tests") and times in Hong Kong time, marked "HKT".

Machine-read output (JSON, the API, the Atom feed) keeps ISO 8601 with its offset; only
text for people goes through here. Stored times are UTC (watcher.store.tables).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``plural(1, "test")`` -> ``"1 test"``; ``plural(2, "delivery", "deliveries")``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def hk_time(value: datetime | None, with_time: bool = True, empty: str = "-") -> str:
    """``2024-10-16 14:15 HKT`` (or ``2024-10-16`` without the time) for an instant; a naive
    value is taken as UTC, as SQLite hands stored times back."""
    if value is None:
        return empty
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(HONG_KONG)
    return local.strftime("%Y-%m-%d %H:%M HKT" if with_time else "%Y-%m-%d")
