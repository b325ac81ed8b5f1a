"""Status cues: each phrase maps to its status, and future forms are never past ones."""

from __future__ import annotations

import pytest

from watcher.extract.status import find_status, find_status_cues, nearest_cue
from watcher.models import Status

CASES = [
    ("A New Industrialisation Development Office will be set up", Status.PLANNED, "will be set up"),
    ("The Government will establish an office", Status.PLANNED, "will establish"),
    ("The bureau plans to build a centre", Status.PLANNED, "plans to"),
    ("The government is planning to establish a second AMC", Status.PLANNED, "planning to"),
    ("The office is to be established next year", Status.PLANNED, "to be established"),
    ("The planned construction of a supercomputing centre", Status.PLANNED, "planned"),
    ("It is also contemplating a third cluster", Status.CONTEMPLATED, "contemplating"),
    ("HKSTP is exploring a new park", Status.CONTEMPLATED, "exploring"),
    ("a feasibility study on a new institute", Status.CONTEMPLATED, "feasibility study"),
    ("a fund of HK$10 billion has been earmarked", Status.EARMARKED, "earmarked"),
    ("HK$1 billion was set aside for the scheme", Status.EARMARKED, "set aside"),
    ("The Government launched the scheme", Status.LAUNCHED, "launched"),
    ("The scheme is now open for applications", Status.LAUNCHED, "open for applications"),
    ("The second AMC is under construction", Status.UNDER_CONSTRUCTION, "under construction"),
    ("The centre was officially opened today", Status.OPENED, "officially opened"),
    ("The institute commenced operation in May", Status.OPENED, "commenced operation"),
    ("The office was established in 2023", Status.ESTABLISHED, "was established"),
    ("The city boasts the Science Park", Status.EXISTING, "boasts"),
    ("The scheme was closed for applications", Status.CLOSED, "closed"),
    ("政府將設立新型工業化發展辦公室", Status.PLANNED, "將設立"),
    ("政府會於明年成立辦公室", Status.PLANNED, "會於明年成立"),
    ("科技園公司正籌建中心", Status.PLANNED, "籌建"),
    ("政府正研究設立第三個研發平台", Status.CONTEMPLATED, "正研究設立"),
    ("政府已預留100億元", Status.EARMARKED, "預留"),
    ("計劃已推出", Status.LAUNCHED, "已推出"),
    ("計劃現正接受申請", Status.LAUNCHED, "接受申請"),
    ("第二所先進製造業中心興建中", Status.UNDER_CONSTRUCTION, "興建中"),
    ("微電子中心今日正式開幕", Status.OPENED, "正式開幕"),
    ("中心已於去年投入運作", Status.OPENED, "投入運作"),
    ("辦公室已於去年成立", Status.ESTABLISHED, "成立"),
    ("現有的先進製造業中心", Status.EXISTING, "現有"),
]


@pytest.mark.parametrize(("text", "status", "cue"), CASES, ids=[c[0][:30] for c in CASES])
def test_cue(text: str, status: Status, cue: str) -> None:
    found = find_status(text)
    assert found is not None
    assert (found.status, found.cue) == (status, cue)
    assert text[found.start:found.end] == cue


@pytest.mark.parametrize("text", [
    "The sector is well-established.", "Companies set up production facilities.",
    "The tennis courts remain open as usual.", "The park will reopen on March 10.",
    "新型工業加速計劃的詳情", "研究院的研究人員",
])
def test_no_cue(text: str) -> None:
    assert find_status_cues(text) == []


def test_future_forms_are_one_cue() -> None:
    cues = find_status_cues("The office will be established, and the fund will be launched.")
    assert [(c.status, c.cue) for c in cues] == [
        (Status.PLANNED, "will be established"), (Status.PLANNED, "will be launched")]


def test_nearest_cue_prefers_the_closer_and_skips_cues_inside_the_name() -> None:
    text = "The scheme launched last year; the centre will be set up soon."
    cues = find_status_cues(text)
    centre = text.index("centre")
    nearest = nearest_cue(cues, centre, centre + len("centre"))
    assert nearest is not None and nearest.status is Status.PLANNED
    assert nearest_cue(cues[:1], 4, 20) is None  # "launched" lies inside [4, 20)
    assert nearest_cue([], 0, 1) is None


def test_every_cue_pattern_is_english_or_chinese_not_both() -> None:
    """The scanner tries a pattern only at places its language's cues can open: an English
    alternative inside a Chinese pattern would never be tried ("will subsidise" was not)."""
    import re

    from watcher.extract import status

    for _, pattern in status._CUES:
        if status._is_chinese(pattern):
            assert not re.search(r"(?<!\\)\b[A-Za-z]{3,}", pattern), pattern
