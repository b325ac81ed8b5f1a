"""Network error text: one bounded line, and a poll's failures counted by reason."""

from __future__ import annotations

from watcher.fetch.failures import MAX_CHARS, Failures, one_line
from watcher.fetch.poll import PollReport


def test_one_line_flattens_and_bounds() -> None:
    assert one_line("connection failed:\r\n  reset\tby peer\x00") == (
        "connection failed: reset by peer")
    raw = "invalid response: " + "\x01\x7f<b>x</b>\n" * 1000
    line = one_line(raw)
    assert len(line) == MAX_CHARS and line.endswith("…") and "\n" not in line
    assert "\x01" not in line and "\x7f" not in line
    assert one_line("short") == "short"


def test_one_failure_is_said_as_it_is() -> None:
    failures = Failures()
    assert failures.summary() is None and not failures and len(failures) == 0
    failures.append("https://h/p: HTTP 503")
    assert failures.summary() == "https://h/p: HTTP 503" and failures and len(failures) == 1


def test_a_thousand_failures_are_counted_not_listed() -> None:
    report = PollReport(source="feed")
    for i in range(998):
        report.errors.append(f"https://h/p/{i}: HTTP 503")
    report.errors.append("https://h/p/998: timed out after 30s")
    report.errors.append("https://h/p/999: timed out after 30s")
    assert report.error == ("1,000 items failed: HTTP 503 (998), timed out after 30s (2); "
                            "first: https://h/p/0")
    assert report.errors.counts() == {"HTTP 503": 998, "timed out after 30s": 2}
    # Iterated (for the log), one line per reason with its first URL.
    assert list(report.errors) == ["https://h/p/0: HTTP 503 (and 997 more like it)",
                                   "https://h/p/998: timed out after 30s (and 1 more like it)"]


def test_many_different_reasons_stay_bounded() -> None:
    failures = Failures()
    for i in range(500):
        failures.append(f"https://h/p/{i}: invalid response {i}: {'x' * 400}\nsecond line")
    summary = failures.summary()
    assert summary is not None and len(summary) <= MAX_CHARS and "\n" not in summary
    assert summary.startswith("500 items failed: other errors (480), invalid response 0: xxx")
    counts = failures.counts()
    assert len(counts) == 21 and counts["other errors"] == 480  # 20 kept apart, the rest
    assert all(len(reason) <= MAX_CHARS for reason in counts)
