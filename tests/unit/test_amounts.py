"""Money amounts: every written form -> integer HKD; other currencies are not HKD."""

from __future__ import annotations

import pytest

from watcher.extract.amounts import find_amounts, parse_amount


@pytest.mark.parametrize(
    ("text", "written", "value"),
    [
        ("a fund of HK$10 billion", "HK$10 billion", 10_000_000_000),
        ("up to $15 million per project", "$15 million", 15_000_000),
        ("HK$1.2bn for the park", "HK$1.2bn", 1_200_000_000),
        ("HKD 200 million", "HKD 200 million", 200_000_000),
        ("a grant of HK$300,000.", "HK$300,000", 300_000),
        ("$2.84 million", "$2.84 million", 2_840_000),
        ("HK$15m in total", "HK$15m", 15_000_000),
        ("HK$ 3 billion", "HK$ 3 billion", 3_000_000_000),
        ("$500k", "$500k", 500_000),
        ("10 billion Hong Kong dollars", "10 billion Hong Kong dollars", 10_000_000_000),
        ("政府預留100億元", "100億元", 10_000_000_000),
        ("港幣100億元", "港幣100億元", 10_000_000_000),
        ("撥款2億元", "2億元", 200_000_000),
        ("每人25萬元", "25萬元", 250_000),
        ("上限為1,500萬港元。", "1,500萬港元", 15_000_000),
        ("HK$2.84億", "HK$2.84億", 284_000_000),
        ("十億元", "十億元", 1_000_000_000),
        ("一百二十億元", "一百二十億元", 12_000_000_000),
        ("三千萬元", "三千萬元", 30_000_000),
        ("港元5,000", "港元5,000", 5_000),
        ("罰款5,000元", "5,000元", 5_000),
    ],
)
def test_hkd_forms(text: str, written: str, value: int) -> None:
    amount = parse_amount(text)
    assert amount is not None
    assert (amount.text, amount.value, amount.currency, amount.hkd) == (
        written, value, "HKD", value)
    assert text[amount.start:amount.end] == written  # the span points into the input


@pytest.mark.parametrize(
    ("text", "currency", "value"),
    [
        ("US$50 million", "USD", 50_000_000),
        ("USD 3 billion", "USD", 3_000_000_000),
        ("RMB 1 billion", "CNY", 1_000_000_000),
        ("人民幣10億元", "CNY", 1_000_000_000),
        ("100億美元", "USD", 10_000_000_000),
        ("€5 million", "EUR", 5_000_000),
        ("S$2 million", "SGD", 2_000_000),
        ("NT$300,000", "TWD", 300_000),
    ],
)
def test_other_currencies_are_not_hkd(text: str, currency: str, value: int) -> None:
    amount = parse_amount(text)
    assert amount is not None
    assert (amount.currency, amount.value, amount.hkd) == (currency, value, None)


@pytest.mark.parametrize(
    "text",
    ["27 percent", "5G IoT", "in 2023", "1:2 matching", "30 000 square metres", "3 m away",
     "Issued at HKT 20:16", "Room 1001", "", "第三個", "half"],
)
def test_numbers_that_are_not_money(text: str) -> None:
    assert find_amounts(text) == []


def test_several_amounts_in_order_with_spans() -> None:
    text = "raised from $15 million to $30 million, and US$1 million from abroad"
    amounts = find_amounts(text)
    assert [(a.text, a.hkd) for a in amounts] == [
        ("$15 million", 15_000_000), ("$30 million", 30_000_000), ("US$1 million", None)]
    assert all(text[a.start:a.end] == a.text for a in amounts)
    assert amounts[0].end < amounts[1].start


def test_decimals_are_exact() -> None:
    # Float arithmetic would give 2839999.9999...; amounts use Decimal.
    assert [a.value for a in find_amounts("$2.84 million; HK$0.3 billion; HK$1.15bn")] == [
        2_840_000, 300_000_000, 1_150_000_000]
