"""Dates as Hong Kong sources write them, into timezone-aware datetimes.

Naive dates and times are Hong Kong local time (``Asia/Hong_Kong``); dates that carry an
offset (RFC 822 ``pubDate``, ISO with ``+08:00``) keep it. Every parser returns None for
text it does not recognise or that names an impossible day; none raises.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

HK = ZoneInfo("Asia/Hong_Kong")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ](?P<rest>[0-9:.+\-Z]+))?")
_DMY_NUMERIC = re.compile(r"\b(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})\b")
_MDY = re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})\b")
_DMY = re.compile(rf"\b(?P<d>\d{{1,2}})\s+{_MONTH},?\s+(?P<y>\d{{4}})\b")
_CHINESE = re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")

# GIA footers. English: "Ends/Tuesday, June 21, 2022" then "Issued at HKT 20:16".
# Chinese: "完", then "2024年5月10日（星期五）" then "香港時間17時32分".
_GIA_EN_DATE = re.compile(
    rf"Ends/\s*(?:[A-Za-z]+,\s*)?{_MONTH}\s+(?P<d>\d{{1,2}}),\s*(?P<y>\d{{4}})"
)
_GIA_EN_TIME = re.compile(r"Issued\s+at\s+HKT\s+(?P<h>\d{1,2}):(?P<min>\d{2})")
_GIA_ZH_DATE = re.compile(
    r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日\s*[（(]星期[一二三四五六日天][）)]"
)
_GIA_ZH_TIME = re.compile(r"香港時間\s*(?P<h>\d{1,2})\s*時\s*(?P<min>\d{1,2})\s*分")


def parse_date(text: str) -> datetime | None:
    """The first date in ``text``: ISO, RFC 822, ``June 21, 2022``, ``12 Oct 2023``,
    ``21-06-2022`` (day first, as GIA's banner) or ``2024年5月10日``."""
    text = text.strip()
    if not text or len(text) > 10_000:
        return None
    return (
        _rfc822(text)
        or _iso(text)
        or _ymd(_CHINESE.search(text))
        or _named(_MDY.search(text))
        or _named(_DMY.search(text))
        or _ymd(_DMY_NUMERIC.search(text))
    )


def find_gia_date(text: str) -> datetime | None:
    """The issue date and time from a GIA press release footer, English or Chinese.

    The footer comes last, so the last match wins over dates quoted in the body."""
    for date_re, time_re, named in (
        (_GIA_EN_DATE, _GIA_EN_TIME, True),
        (_GIA_ZH_DATE, _GIA_ZH_TIME, False),
    ):
        matches = list(date_re.finditer(text))
        if not matches:
            continue
        found = matches[-1]
        day = _named(found) if named else _ymd(found)
        if day is None:
            continue
        clock = time_re.search(text, found.end())
        if clock:
            try:
                return day.replace(hour=int(clock["h"]), minute=int(clock["min"]))
            except ValueError:
                return day
        return day
    return None


def _rfc822(text: str) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d", text):
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=HK)


def _iso(text: str) -> datetime | None:
    match = _ISO.search(text)
    if not match:
        return None
    if match["rest"]:
        try:
            parsed = datetime.fromisoformat(match.group(0).replace(" ", "T"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=HK)
    return _ymd(match)


def _ymd(match: re.Match[str] | None) -> datetime | None:
    if match is None:
        return None
    groups = match.groupdict()
    return _day(groups.get("y"), groups.get("m"), groups.get("d"))


def _named(match: re.Match[str] | None) -> datetime | None:
    if match is None:
        return None
    month = _MONTHS.get(match["month"].lower())
    return _day(match["y"], str(month) if month else None, match["d"])


def _day(year: str | None, month: str | None, day: str | None) -> datetime | None:
    if not (year and month and day):
        return None
    try:
        return datetime.combine(date(int(year), int(month), int(day)), time(), tzinfo=HK)
    except ValueError:
        return None
