"""Every written form of an amount in real releases reads back as the same integer HKD.

Property-based: hypothesis draws amounts, each is written in every form the government's
English and Chinese pages use (commas, 萬/億 with Arabic digits, mixed 1億4,000萬, Chinese
numerals such as 一億四千萬, full-width digits, a space before the unit, Simplified 亿/万,
"HK$X million"), and each form must read back as the amount drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from watcher.extract.amounts import chinese_number, find_amounts, parse_amount

_DIGITS = "零一二三四五六七八九"
_WIDE = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


def _section(n: int) -> str:
    """0 < n < 10,000 in Chinese numerals, with 零 for a gap (一千零五)."""
    out = []
    gap = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            gap = bool(out)
            continue
        if gap:
            out.append("零")
            gap = False
        out.append(_DIGITS[digit] + unit)
    return "".join(out)


def zh_numerals(n: int) -> str:
    """``140000000`` -> ``一億四千萬`` (the standard writing)."""
    parts = []
    for value, unit in ((10**8, "億"), (10**4, "萬"), (1, "")):
        section = n // value % 10**4 if value < 10**8 else n // value
        if section:
            if parts and section < 1000:
                parts.append("零")
            parts.append(_section(section) + unit)
        elif parts and not parts[-1].endswith("零"):
            parts.append("零")
    return "".join(parts).rstrip("零")


def arabic_units(n: int, space: str = "") -> str:
    """``140000000`` -> ``1億4,000萬`` (each section in Arabic digits with commas)."""
    yi, rest = divmod(n, 10**8)
    wan, ones = divmod(rest, 10**4)
    out = ""
    if yi:
        out += f"{yi:,}{space}億"
    if wan:
        out += f"{wan:,}{space}萬"
    if ones:
        out += f"{ones:,}"
    return out


def forms(n: int) -> Iterator[str]:
    yield f"{n:,}元"
    yield f"港幣{n:,}元"
    yield f"HK${n:,}"
    yield f"${n:,}"
    yield arabic_units(n) + "元"
    yield arabic_units(n, space=" ") + "元"
    yield zh_numerals(n) + "元"
    yield zh_numerals(n).replace("億", "亿").replace("萬", "万") + "元"
    yield arabic_units(n).translate(_WIDE) + "元"
    yield f"{n:,}".translate(_WIDE) + "港元"
    if n % 10**4 == 0:
        yield f"{n // 10**4:,}萬元"
        yield f"{n // 10**4} 萬港元"
    if n % 10**6 == 0:
        millions = Decimal(n) / 10**6
        yield f"HK${millions:,f} million"
        yield f"${millions:f}m"
        yiyuan = Decimal(n) / 10**8
        yield f"{yiyuan.normalize():f}億元"
        yield f"HK${yiyuan.normalize():f}億"
    if n % 10**8 == 0:
        yield f"${Decimal(n) / 10**9:f} billion"


@given(st.integers(min_value=1, max_value=10**12 - 1))
@example(140_000_000)
@example(930_000_000)
@example(60_000_000)
@example(10_050)
@example(105_000_000)
def test_every_written_form_reads_back(n: int) -> None:
    for form in forms(n):
        amount = parse_amount(f"撥款{form}，") if not form[0].isascii() else parse_amount(
            f"a grant of {form} for")
        assert amount is not None, form
        assert (amount.value, amount.hkd) == (n, n), form


@given(st.integers(min_value=1, max_value=10**12 - 1))
def test_chinese_numerals_round_trip(n: int) -> None:
    assert chinese_number(zh_numerals(n)) == n


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一億四千萬元", 140_000_000),
        ("九億三千萬元", 930_000_000),
        ("6000 萬元", 60_000_000),
        ("1億4,000萬元", 140_000_000),
        ("14,000萬元", 140_000_000),
        ("1.4億元", 140_000_000),
        ("１４億元", 1_400_000_000),
        ("３，０００萬元", 30_000_000),
        ("约3亿元", 300_000_000),
        ("两亿元", 200_000_000),
        ("逾百億元", 10_000_000_000),
        ("5千萬元", 50_000_000),
        ("十三億元", 1_300_000_000),
        ("3萬億元", 3_000_000_000_000),
    ],
)
def test_forms_from_real_releases(text: str, value: int) -> None:
    amount = parse_amount(text)
    assert amount is not None and amount.hkd == value
    assert text[amount.start:amount.end] == amount.text


@pytest.mark.parametrize(
    ("text", "qualifier"),
    [
        ("about $600 million", "about"), ("around HK$2 billion", "about"),
        ("over $400 million", "over"), ("more than HK$1 billion", "over"),
        ("up to $15 million per project", "up_to"), ("at least $200 million", "at_least"),
        ("約1.5億元", "about"), ("逾百億元", "over"), ("超過30億元", "over"),
        ("最高25萬元", "up_to"), ("不少於2億元", "at_least"), ("$5 billion", ""),
        ("預留100億元", ""),
    ],
)
def test_qualifiers_are_kept(text: str, qualifier: str) -> None:
    amount = parse_amount(text)
    assert amount is not None and amount.qualifier == qualifier


@pytest.mark.parametrize("text", ["萬億萬", "億萬", "十萬億萬"])
def test_malformed_chinese_numbers_are_no_number(text: str) -> None:
    assert chinese_number(text) is None


def test_years_and_counts_in_chinese_are_not_money() -> None:
    assert find_amounts("二○二三年施政報告提出兩個項目，約三分之一") == []
