"""Money amounts in English and Chinese text, normalised to whole currency units.

On Hong Kong government pages a bare ``$`` and a bare ``元`` mean Hong Kong dollars, so
``$15 million``, ``HK$1.2bn``, ``HKD 200 million``, ``100億元``, ``港幣100億元`` and
``HK$2.84億`` are all HKD. Other currencies (``US$``, ``RMB``, ``人民幣``, ``美元``...) are
recognised so that they are *not* mistaken for HKD: their :attr:`Amount.hkd` is ``None``.

A number only counts as money when a currency marks it (a prefix such as ``HK$`` or
``港幣``, or a suffix such as ``元`` or ``Hong Kong dollars``): ``27 percent`` and ``5G``
are not amounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from watcher.extract.scan import lowered

# Longest spellings first: the regex takes the first alternative that matches at a
# position, so "US$" must be tried before "$" and "HKD" before nothing.
_PREFIXES: dict[str, str] = {
    "HK$": "HKD", "HKD": "HKD", "港幣": "HKD", "港元": "HKD",
    "US$": "USD", "USD": "USD", "美元": "USD",
    "RMB": "CNY", "CNY": "CNY", "人民幣": "CNY",
    "NT$": "TWD", "S$": "SGD", "A$": "AUD", "C$": "CAD", "MOP$": "MOP", "MOP": "MOP",
    "EUR": "EUR", "€": "EUR", "歐元": "EUR", "GBP": "GBP", "£": "GBP", "英鎊": "GBP",
    "JPY": "JPY", "¥": "JPY", "日圓": "JPY",
    "$": "HKD",  # on these pages a bare dollar sign is the Hong Kong dollar
}
_SUFFIXES: dict[str, str] = {
    "港元": "HKD", "港幣": "HKD", "元": "HKD",
    "美元": "USD", "人民幣": "CNY", "歐元": "EUR", "英鎊": "GBP", "日圓": "JPY",
    "hong kong dollars": "HKD", "hk dollars": "HKD",
}
_EN_MULT = {
    "billion": 10**9, "bn": 10**9, "b": 10**9,
    "million": 10**6, "mn": 10**6, "m": 10**6,
    "thousand": 10**3, "k": 10**3,
}
_ZH_MULT = {"萬億": 10**12, "千萬": 10**7, "百萬": 10**6, "億": 10**8, "萬": 10**4, "千": 10**3}
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_ASCII_PREFIX = _alternation([p for p in _PREFIXES if p.isascii()])
_CJK_PREFIX = _alternation([p for p in _PREFIXES if not p.isascii()])

_AMOUNT = re.compile(
    rf"""
    (?=[HUSRCNAMEGJ$€£¥港美人歐英日\d零〇一二兩三四五六七八九十百千])  # fail fast elsewhere
    (?:(?<![A-Za-z])(?P<pre>{_ASCII_PREFIX})|(?P<zpre>{_CJK_PREFIX}))?\s?
    (?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|[零〇一二兩三四五六七八九十百千]+)
    (?:\s?(?P<emult>billion|million|thousand|bn|mn|b|m|k)(?![A-Za-z]))?
    (?P<zmult>萬億|千萬|百萬|億|萬)?
    \s?(?P<suf>港元|港幣|美元|人民幣|歐元|英鎊|日圓|元|(?i:hong\s+kong\s+dollars|hk\s+dollars))?
    """,
    re.VERBOSE,
)


# An amount needs a currency: every prefix and suffix above holds one of these (the CJK
# ones by their last character; "dollars" in lower case). A text with none of them, such
# as most paragraphs of a notice, holds no amount, and the pattern need not scan it.
_CURRENCY_MARKS = ("$", "HKD", "USD", "RMB", "CNY", "MOP", "EUR", "GBP", "JPY", "€", "£", "¥",
                   "元", "幣", "鎊", "圓")


def _may_hold_money(text: str) -> bool:
    if any(mark in text for mark in _CURRENCY_MARKS):
        return True
    low = lowered(text)
    return low is None or "dollars" in low


@dataclass(frozen=True, slots=True)
class Amount:
    """One amount of money as written at ``text[start:end]``."""

    text: str
    start: int
    end: int
    value: int  # in whole units of ``currency``
    currency: str  # ISO 4217 code: HKD, USD, CNY...

    @property
    def hkd(self) -> int | None:
        """The value in Hong Kong dollars, or None for any other currency."""
        return self.value if self.currency == "HKD" else None


def _zh_number(text: str) -> int | None:
    """``十`` -> 10, ``一百二十`` -> 120, ``三千`` -> 3000 (the small numbers amounts use)."""
    total, digit = 0, None
    for char in text:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            total += (1 if digit is None else digit) * _ZH_UNITS[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _number(text: str) -> Decimal | None:
    if text[0].isdigit():
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the regex only admits valid numbers
            return None
    value = _zh_number(text)
    return None if value is None else Decimal(value)


def find_amounts(text: str) -> list[Amount]:
    """Every amount of money in ``text``, in order of appearance."""
    found: list[Amount] = []
    if not _may_hold_money(text):
        return found
    for m in _AMOUNT.finditer(text):
        prefix = m.group("pre") or m.group("zpre")
        suffix = m.group("suf")
        if not prefix and not suffix:
            continue  # a bare number: a count, a percentage, a year
        number = _number(m.group("num"))
        if number is None:
            continue
        emult, zmult = m.group("emult"), m.group("zmult")
        if emult and len(emult) == 1 and not prefix:
            continue  # "5 m" with no currency sign is a distance, not money
        multiplier = 1
        if emult:
            multiplier *= _EN_MULT[emult.lower()]
        if zmult:
            multiplier *= _ZH_MULT[zmult]
        if prefix:
            currency = _PREFIXES[prefix]
        else:
            assert suffix is not None
            currency = _SUFFIXES[" ".join(suffix.lower().split())]
        start, end = m.start(), m.end()
        while text[end - 1].isspace():  # the optional "\s?" before a suffix that was absent
            end -= 1
        if prefix is None:
            start = m.start("num")
        found.append(Amount(text[start:end], start, end, int(number * multiplier), currency))
    return found


def parse_amount(text: str) -> Amount | None:
    """The first amount in ``text`` (convenience for tests and the CLI)."""
    amounts = find_amounts(text)
    return amounts[0] if amounts else None
