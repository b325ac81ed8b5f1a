"""Money amounts in English and Chinese text, normalised to whole currency units.

On Hong Kong government pages a bare ``$`` and a bare ``元`` mean Hong Kong dollars, so
``$15 million``, ``HK$1.2bn``, ``HKD 200 million``, ``100億元``, ``港幣100億元`` and
``HK$2.84億`` are all HKD. Other currencies (``US$``, ``RMB``, ``人民幣``, ``美元``...) are
recognised so that they are *not* mistaken for HKD: their :attr:`Amount.hkd` is ``None``.

A number only counts as money when a currency marks it (a prefix such as ``HK$`` or
``港幣``, or a suffix such as ``元`` or ``Hong Kong dollars``): ``27 percent`` and ``5G``
are not amounts.

Chinese numbers come in every mix real releases use: ``一億四千萬元`` (140,000,000),
``九億三千萬元``, ``1億4,000萬元``, ``14,000萬元``, ``1.4億元``, ``6000 萬元`` (a space before
the unit), full-width digits (``１４億元``), ``逾百億元`` and Simplified ``亿``/``万``/``两``.
A number is read in sections: each ``億`` and ``萬`` closes the section before it, and
``千``/``百``/``十`` inside a section multiply the digit before them, whether that digit is
written ``四`` or ``4``.

A qualifier written right before an amount ("about", "over", "up to", 約, 逾, 最高...) is
kept on it: "over $400 million" is not exactly 400 million.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from watcher.extract.scan import lowered

# Longest spellings first: the regex takes the first alternative that matches at a
# position, so "US$" must be tried before "$" and "HKD" before nothing.
_PREFIXES: dict[str, str] = {
    "HK$": "HKD", "HKD": "HKD", "港幣": "HKD", "港元": "HKD", "港币": "HKD",
    "US$": "USD", "USD": "USD", "美元": "USD",
    "RMB": "CNY", "CNY": "CNY", "人民幣": "CNY", "人民币": "CNY",
    "NT$": "TWD", "S$": "SGD", "A$": "AUD", "C$": "CAD", "MOP$": "MOP", "MOP": "MOP",
    "EUR": "EUR", "€": "EUR", "歐元": "EUR", "欧元": "EUR", "GBP": "GBP", "£": "GBP",
    "英鎊": "GBP", "英镑": "GBP", "JPY": "JPY", "¥": "JPY", "日圓": "JPY", "日元": "JPY",
    "$": "HKD",  # on these pages a bare dollar sign is the Hong Kong dollar
}
_SUFFIXES: dict[str, str] = {
    "港元": "HKD", "港幣": "HKD", "港币": "HKD", "元": "HKD",
    "美元": "USD", "人民幣": "CNY", "人民币": "CNY", "歐元": "EUR", "欧元": "EUR",
    "英鎊": "GBP", "英镑": "GBP", "日圓": "JPY", "日元": "JPY",
    "hong kong dollars": "HKD", "hk dollars": "HKD",
}
_EN_MULT = {
    "billion": 10**9, "bn": 10**9, "b": 10**9,
    "million": 10**6, "mn": 10**6, "m": 10**6,
    "thousand": 10**3, "k": 10**3,
}
_ZH_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_SMALL = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"萬": 10**4, "万": 10**4, "億": 10**8, "亿": 10**8}
_TRILLION = ("萬億", "万亿", "兆")

# Full-width digits and separators, mapped one character to one so offsets hold.
_WIDE = str.maketrans("０１２３４５６７８９．", "0123456789.")
_WIDE_COMMA = re.compile(r"(?<=\d)，(?=\d{3}(?!\d))")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_ASCII_PREFIX = _alternation([p for p in _PREFIXES if p.isascii()])
_CJK_PREFIX = _alternation([p for p in _PREFIXES if not p.isascii()])
_CJK_SUFFIX = _alternation([s for s in _SUFFIXES if not s.isascii()])
_ZH_DIGIT = "零〇○一二兩两三四五六七八九十百千"
# One "part" of a number: Arabic (with thousands commas or decimals) or Chinese digits.
_PART = rf"(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|[{_ZH_DIGIT}])+"
_BIG = "萬億|万亿|兆|萬|万|億|亿"

_AMOUNT = re.compile(
    rf"""
    (?=[HUSRCNAMEGJ$€£¥港美人歐欧英日\d{_ZH_DIGIT}])  # fail fast elsewhere
    (?:(?<![A-Za-z])(?P<pre>{_ASCII_PREFIX})|(?P<zpre>{_CJK_PREFIX}))?\s?
    (?P<num>{_PART}(?:\s?(?:{_BIG})(?:{_PART}(?:\s?(?:{_BIG}))?)*)?)
    (?:\s?(?P<emult>(?i:billion|million|thousand|bn|mn)|[bmkBMK])(?![A-Za-z]))?
    \s?(?P<suf>{_CJK_SUFFIX}|(?i:hong\s+kong\s+dollars|hk\s+dollars))?
    """,
    re.VERBOSE,
)

# An amount needs a currency: every prefix and suffix above holds one of these (the CJK
# ones by their last character; "dollars" in lower case). A text with none of them, such
# as most paragraphs of a notice, holds no amount, and the pattern need not scan it.
_CURRENCY_MARKS = ("$", "HKD", "USD", "RMB", "CNY", "MOP", "EUR", "GBP", "JPY", "€", "£", "¥",
                   "元", "幣", "币", "鎊", "镑", "圓")

# Words right before an amount that say it is not exact. Longest first.
_QUALIFIERS: dict[str, str] = {
    "approximately": "about", "around": "about", "about": "about", "some": "about",
    "roughly": "about", "nearly": "about", "almost": "about", "close to": "about",
    "more than": "over", "over": "over", "exceeding": "over", "in excess of": "over",
    "upwards of": "over",
    "up to": "up_to", "no more than": "up_to", "not more than": "up_to",
    "not exceeding": "up_to", "a maximum of": "up_to", "maximum of": "up_to",
    "at most": "up_to", "capped at": "up_to",
    "at least": "at_least", "no less than": "at_least", "not less than": "at_least",
    "a minimum of": "at_least", "minimum of": "at_least",
    "less than": "under", "under": "under", "below": "under",
    "約": "about", "约": "about", "大約": "about", "大约": "about", "近": "about",
    "接近": "about", "逾": "over", "超過": "over", "超过": "over", "多於": "over",
    "多于": "over", "最高": "up_to", "最多": "up_to", "多達": "up_to", "多达": "up_to",
    "高達": "up_to", "高达": "up_to", "不超過": "up_to", "不超过": "up_to",
    "不多於": "up_to", "不多于": "up_to", "最少": "at_least", "最低": "at_least",
    "不少於": "at_least", "不少于": "at_least", "至少": "at_least", "不足": "under",
    "少於": "under", "少于": "under",
}
_QUALIFIER = re.compile(
    r"(?:(?<![A-Za-z])(?P<en>(?i:" + _alternation([q for q in _QUALIFIERS if q.isascii()])
    + r"))\s+|(?P<zh>" + _alternation([q for q in _QUALIFIERS if not q.isascii()])
    + r"))(?:(?:HK)?\$|HKD\s?|港幣|港元)?$"
)


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
    qualifier: str = ""  # about | over | up_to | at_least | under; "" when exact

    @property
    def hkd(self) -> int | None:
        """The value in Hong Kong dollars, or None for any other currency."""
        return self.value if self.currency == "HKD" else None


_TOKEN = re.compile(rf"\d[\d,]*(?:\.\d+)?|{_BIG}|[{_ZH_DIGIT}]")


def chinese_number(text: str) -> Decimal | None:
    """The value of a number written with Chinese units, Arabic digits or both:
    ``一億四千萬`` -> 140000000, ``1億4,000萬`` -> 140000000, ``2.84億`` -> 284000000,
    ``百`` -> 100; None when the writing is not a number (``萬億萬``)."""
    text = text.replace(" ", "")
    total = Decimal(0)  # the sections closed by a big unit so far
    section = Decimal(0)  # the part below the next big unit
    pending: Decimal | None = None  # the last digit or Arabic number, not yet placed
    last_big: int | None = None  # big units must fall: 億 ... 萬 ..., never 萬 ... 億
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            return None
        position = match.end()
        token = match.group()
        if token[0].isdigit():
            if pending is not None:
                return None
            pending = Decimal(token.replace(",", ""))
        elif token in _ZH_DIGITS:
            digit = Decimal(_ZH_DIGITS[token])
            # 二○二三 is read digit by digit, 一百零五 as 105: a zero only spaces digits out
            pending = digit if pending is None else pending * 10 + digit
        elif token in _ZH_SMALL:
            section += (Decimal(1) if pending is None else pending) * _ZH_SMALL[token]
            pending = None
        else:
            unit = 10**12 if token in _TRILLION else _ZH_BIG[token]
            if last_big is not None and unit >= last_big:
                return None
            last_big = unit
            if pending is None and section == 0:
                return None  # a unit with no number before it: "億萬"
            total += (section + (pending or Decimal(0))) * unit
            section, pending = Decimal(0), None
    if position != len(text) or (pending is None and section == 0 and total == 0):
        return None
    return total + section + (pending if pending is not None else Decimal(0))


def _number(text: str) -> Decimal | None:
    if text.replace(",", "").replace(".", "", 1).isdigit():
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the regex only admits valid numbers
            return None
    return chinese_number(text)


def _qualifier(text: str, start: int) -> str:
    match = _QUALIFIER.search(text, max(0, start - 24), start)
    if match is None:
        return ""
    word = match.group("en") or match.group("zh")
    return _QUALIFIERS[" ".join(word.lower().split())]


def find_amounts(text: str) -> list[Amount]:
    """Every amount of money in ``text``, in order of appearance."""
    found: list[Amount] = []
    if not _may_hold_money(text):
        return found
    plain = _WIDE_COMMA.sub(",", text.translate(_WIDE))  # same length, same offsets
    for m in _AMOUNT.finditer(plain):
        prefix = m.group("pre") or m.group("zpre")
        suffix = m.group("suf")
        if not prefix and not suffix:
            continue  # a bare number: a count, a percentage, a year
        written = m.group("num")
        number = _number(written)
        if number is None:
            continue
        emult = m.group("emult")
        if emult and len(emult) == 1 and not prefix:
            continue  # "5 m" with no currency sign is a distance, not money
        if emult:
            number *= _EN_MULT[emult.lower()]
        if prefix:
            currency = _PREFIXES[prefix]
        else:
            assert suffix is not None
            currency = _SUFFIXES[" ".join(suffix.lower().split())]
        start, end = m.start(), m.end()
        while plain[end - 1].isspace():  # the optional "\s?" before a suffix that was absent
            end -= 1
        if prefix is None:
            start = m.start("num")
        found.append(Amount(text[start:end], start, end, int(number), currency,
                            _qualifier(plain, start)))
    return found


def parse_amount(text: str) -> Amount | None:
    """The first amount in ``text`` (convenience for tests and the CLI)."""
    amounts = find_amounts(text)
    return amounts[0] if amounts else None
