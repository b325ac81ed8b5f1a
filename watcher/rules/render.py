"""Human forms of values (amounts, statuses, a scheme's terms), and escaping of page text
for the formats alerts travel in.

Pure functions only. Amounts read "HK$10 billion" the way the government writes them;
a value that cannot be written exactly that way keeps every digit ("HK$1,234,567"), so two
different amounts never look the same in an alert.

Page-derived text (names, evidence sentences, titles) is untrusted: it goes through
``escape_html`` before it reaches an HTML email and ``escape_markdown`` before a markdown
message, so a page cannot inject links, mentions or markup (CD GHSA-q8xq-qg4x-wphg).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from watcher.models import TERM_FIELDS

# Largest unit first; two decimals at most ("HK$1.25 billion"), otherwise exact digits.
_UNITS = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"))
_UNIT_WORDS = {"thousand": 10**3, "k": 10**3, "million": 10**6, "m": 10**6, "mn": 10**6,
               "billion": 10**9, "bn": 10**9, "b": 10**9, "trillion": 10**12}
_AMOUNT = re.compile(
    r"^\s*(?:HK\$|HKD|\$)?\s*(?P<number>\d[\d,_]*(?:\.\d+)?)\s*(?P<unit>[a-z]+)?\s*$",
    re.IGNORECASE,
)


def format_hkd(amount: int | None) -> str:
    """``10_000_000_000`` -> ``"HK$10 billion"``; ``300_000`` -> ``"HK$300,000"``;
    ``None`` -> ``""`` (so ``{% if fact.amount %}`` works in templates)."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    for size, word in _UNITS:
        # Only use the unit when two decimals say the value exactly.
        if value >= size and (value * 100) % size == 0:
            number = Decimal(value) / Decimal(size)
            if value % size == 0:
                text = f"{value // size:,}"  # "HK$1,001 million", as budgets write it
            else:
                text = f"{number:.2f}".rstrip("0").rstrip(".")
            return f"{sign}HK${text} {word}"
    return f"{sign}HK${value:,}"


def parse_hkd(text: str | int) -> int:
    """The inverse of ``format_hkd`` for config values: ``"HK$10 billion"``, ``"15m"``,
    ``"300,000"`` or an int. Raises ``ValueError`` with a message worth showing."""
    if isinstance(text, bool):
        raise ValueError("an amount must be a number of HKD, not true/false")
    if isinstance(text, int):
        return text
    match = _AMOUNT.match(text)
    if not match:
        raise ValueError(
            f"invalid amount {text!r}: use a number of HKD such as 10000000, "
            "'HK$10 billion' or '15 million'"
        )
    unit = (match.group("unit") or "").lower()
    if unit and unit not in _UNIT_WORDS:
        raise ValueError(
            f"invalid amount {text!r}: unknown unit {unit!r} "
            f"(allowed: {', '.join(sorted(_UNIT_WORDS))})"
        )
    try:
        number = Decimal(match.group("number").replace(",", "").replace("_", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise ValueError(f"invalid amount {text!r}") from exc
    value = number * (_UNIT_WORDS[unit] if unit else 1)
    if value != value.to_integral_value():
        raise ValueError(f"invalid amount {text!r}: not a whole number of dollars")
    return int(value)


def format_status(status: str | None) -> str:
    """``"under_construction"`` -> ``"under construction"``; ``None`` -> ``""``."""
    return "" if status is None else str(status).replace("_", " ")


def escape_html(text: str) -> str:
    """Escape text for HTML element content and attribute values."""
    return html.escape(text, quote=True)


def escape_slack(text: str) -> str:
    """Slack mrkdwn gives ``&``, ``<`` and ``>`` meaning (links, mentions); nothing else
    needs escaping there, per Slack's formatting guide."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# CommonMark punctuation that can start markup inline or at a line start.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&#|~!])")
URL_PATTERN = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def escape_markdown(text: str) -> str:
    """Backslash-escape CommonMark punctuation so page text stays literal; bare URLs become
    ``<url>`` autolinks, left unescaped so they still work."""
    out: list[str] = []
    position = 0
    for match in URL_PATTERN.finditer(text):
        out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[position : match.start()]))
        out.append(f"<{match.group(0)}>")
        position = match.end()
    out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[position:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """A plain-text alert body as simple HTML: everything escaped, blank-line paragraphs,
    line breaks kept, and bare URLs made into links."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = []
    for paragraph in paragraphs:
        pieces: list[str] = []
        position = 0
        for match in URL_PATTERN.finditer(paragraph):
            pieces.append(escape_html(paragraph[position : match.start()]))
            url = escape_html(match.group(0))
            pieces.append(f'<a href="{url}">{url}</a>')
            position = match.end()
        pieces.append(escape_html(paragraph[position:]))
        rendered.append("<p>" + "".join(pieces).replace("\n", "<br>\n") + "</p>")
    return "\n".join(rendered)


# --- a scheme's terms in words -------------------------------------------------------
# What each term is called; a threshold is named after the words that made it one.
_TERM_NAMES = {"cap_per_project_hkd": "cap per project", "threshold_hkd": "minimum project cost",
               "matching_ratio": "matching ratio", "government_share": "government share"}
_THRESHOLD_NAMES = (("contribution", "minimum contribution"),
                    ("investment", "minimum investment"), ("capital", "minimum capital"))


def _term_value(field: str, value: Any) -> str:
    if value is None:
        return "none"
    return format_hkd(int(value)) if field.endswith("_hkd") else str(value)


def _term_number(field: str, value: Any) -> Fraction | None:
    """A term's value as a number, to say raised or lowered; None if it is not one."""
    try:
        if field.endswith("_hkd"):
            return Fraction(int(value))
        if field == "matching_ratio":  # which side "1:2" favours is the page's to say
            return None
        return Fraction(str(value))  # a share: "1/3"
    except (ValueError, ZeroDivisionError):
        return None


def term_name(field: str, amounts: Iterable[Mapping[str, Any]] = ()) -> str:
    """``threshold_hkd`` -> "minimum project cost" (or "minimum contribution" when the
    page's words for the threshold say so)."""
    if field == "threshold_hkd":
        cue = " ".join(str(a.get("cue", "")) for a in amounts
                       if a.get("role") == "threshold").lower()
        for word, name in _THRESHOLD_NAMES:
            if word in cue:
                return name
    return _TERM_NAMES.get(field, field.removesuffix("_hkd").replace("_", " "))


def term_phrase(field: str, old: Any, new: Any,
                amounts: Iterable[Mapping[str, Any]] = ()) -> str:
    """One term's change in words."""
    if field == "added_hkd":
        return f"{_term_value(field, new)} to be added"
    name = term_name(field, amounts)
    if new is None:
        return f"{name} no longer stated (was {_term_value(field, old)})"
    if old is None:
        return f"{name} {_term_value(field, new)}"
    was, now = _term_number(field, old), _term_number(field, new)
    verb = "changed" if was is None or now is None or was == now else (
        "raised" if now > was else "lowered")
    return f"{name} {verb} from {_term_value(field, old)} to {_term_value(field, new)}"


def term_phrases(before: Mapping[str, Any], after: Mapping[str, Any],
                 amounts: Iterable[Mapping[str, Any]] = ()) -> list[str]:
    """The terms a change moved, in words, in the order of ``TERM_FIELDS``."""
    amounts = list(amounts)
    return [term_phrase(f, before.get(f), after[f], amounts) for f in TERM_FIELDS
            if f in after]
