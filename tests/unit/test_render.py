"""render: human amounts and escaping of page text."""

from __future__ import annotations

import pytest

from watcher.rules.render import (
    escape_html,
    escape_markdown,
    escape_slack,
    format_hkd,
    format_status,
    parse_hkd,
    text_to_html,
)


@pytest.mark.parametrize(("amount", "text"), [
    (10_000_000_000, "HK$10 billion"),
    (15_000_000, "HK$15 million"),
    (300_000, "HK$300,000"),
    (1_500_000_000, "HK$1.5 billion"),
    (2_250_000_000, "HK$2.25 billion"),
    (1_000_000, "HK$1 million"),
    (1_234_567, "HK$1,234,567"),  # not exact in two decimals: keep every digit
    (1_001_000_000, "HK$1,001 million"),
    (999_999, "HK$999,999"),
    (1_200_000_000_000, "HK$1.2 trillion"),
    (0, "HK$0"),
    (-5_000_000, "-HK$5 million"),
    (None, ""),
])
def test_format_hkd(amount: int | None, text: str) -> None:
    assert format_hkd(amount) == text


def test_format_hkd_never_shows_two_amounts_the_same() -> None:
    amounts = [1_000_000_000, 1_001_000_000, 1_000_500_000, 1_000_000_001, 999_999_999]
    assert len({format_hkd(a) for a in amounts}) == len(amounts)


@pytest.mark.parametrize(("text", "amount"), [
    ("HK$10 billion", 10_000_000_000),
    ("15 million", 15_000_000),
    ("HK$300,000", 300_000),
    ("1.5bn", 1_500_000_000),
    ("HKD 2 m", 2_000_000),
    ("10_000", 10_000),
    (42, 42),
])
def test_parse_hkd(text: str | int, amount: int) -> None:
    assert parse_hkd(text) == amount


@pytest.mark.parametrize(("text", "message"), [
    ("ten", "invalid amount 'ten': use a number of HKD"),
    ("5 zillion", "unknown unit 'zillion'"),
    ("1.0000001 million", "not a whole number of dollars"),
])
def test_parse_hkd_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hkd(text)


def test_parse_hkd_refuses_booleans() -> None:
    with pytest.raises(ValueError, match="not true/false"):
        parse_hkd(True)


def test_round_trip() -> None:
    for amount in (10**10, 15 * 10**6, 300_000, 1_234_567, 2_250_000_000):
        assert parse_hkd(format_hkd(amount)) == amount


def test_format_status() -> None:
    assert format_status("under_construction") == "under construction"
    assert format_status(None) == ""


def test_escape_html() -> None:
    assert escape_html('<a href="x">R&D</a>') == "&lt;a href=&quot;x&quot;&gt;R&amp;D&lt;/a&gt;"


def test_escape_slack() -> None:
    assert escape_slack("<!channel> R&D <https://evil|click>") == (
        "&lt;!channel&gt; R&amp;D &lt;https://evil|click&gt;"
    )
    assert escape_slack("*bold* stays") == "*bold* stays"


def test_escape_markdown_keeps_urls_working() -> None:
    text = "R&D *now* [link](x) see https://www.itf.gov.hk/en/a_b.html."
    assert escape_markdown(text) == (
        r"R\&D \*now\* \[link\](x) see <https://www.itf.gov.hk/en/a_b.html>."
    )


def test_text_to_html() -> None:
    text = 'Fund <b>X</b>\n"R&D"\n\nhttps://www.info.gov.hk/a?x=1&y=2'
    assert text_to_html(text) == (
        "<p>Fund &lt;b&gt;X&lt;/b&gt;<br>\n&quot;R&amp;D&quot;</p>\n"
        '<p><a href="https://www.info.gov.hk/a?x=1&amp;y=2">'
        "https://www.info.gov.hk/a?x=1&amp;y=2</a></p>"
    )
