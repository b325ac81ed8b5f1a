"""read.dates and read.language: the date forms HK sources use; en/zh detection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from watcher.read.dates import find_gia_date, parse_date
from watcher.read.language import detect_language, normalise_language

HK = ZoneInfo("Asia/Hong_Kong")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-07-27", datetime(2020, 7, 27, tzinfo=HK)),
        ("2020-07-27T10:05:00+08:00", datetime(2020, 7, 27, 10, 5, tzinfo=HK)),
        ("Tue, 04 Nov 2025 17:33:44 +0800",
         datetime(2025, 11, 4, 17, 33, 44, tzinfo=timezone(timedelta(hours=8)))),
        ("Tuesday, June 21, 2022", datetime(2022, 6, 21, tzinfo=HK)),
        ("12 Oct 2023", datetime(2023, 10, 12, tzinfo=HK)),
        ("(Hong Kong, 8 January 2024)", datetime(2024, 1, 8, tzinfo=HK)),
        ("21-06-2022", datetime(2022, 6, 21, tzinfo=HK)),
        ("2024年5月10日（星期五）", datetime(2024, 5, 10, tzinfo=HK)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["", "no date here", "2020-02-30", "Smarch 3, 2020",
                                  "Mon, 99 Foo 2020 10:00:00 +0800", "x" * 20_000])
def test_unparseable_is_none(text: str) -> None:
    assert parse_date(text) is None


def test_gia_footer_english_and_chinese() -> None:
    english = "text about 1 May 2020.\nEnds/Tuesday, June 21, 2022\nIssued at HKT 20:16\nNNNN"
    assert find_gia_date(english) == datetime(2022, 6, 21, 20, 16, tzinfo=HK)
    chinese = "正文提到2023年1月1日（星期日）。\n完\n2024年5月10日（星期五）\n香港時間17時32分"
    assert find_gia_date(chinese) == datetime(2024, 5, 10, 17, 32, tzinfo=HK)
    assert find_gia_date("Ends/Friday, May 10, 2024") == datetime(2024, 5, 10, tzinfo=HK)
    assert find_gia_date("no footer") is None


def test_detect_language() -> None:
    assert detect_language("The Government announced a fund today.") == "en"
    assert detect_language("政府今日宣布成立創新及科技基金，注資五十億元。") == "zh"
    assert detect_language("創新科技署（ITC）與 Hong Kong Science Park 合作推出新計劃。") == "zh"
    assert detect_language("The Chief Executive, 李家超, said the fund is ready.") == "en"
    assert detect_language("") == "en"


def test_normalise_language() -> None:
    assert normalise_language("zh-HK") == "zh"
    assert normalise_language("en-us") == "en"
    assert normalise_language("") is None and normalise_language(None) is None
