"""What an amount is doing in its sentence: a fund's size, a per-project cap, an old value
being replaced, or something that is no fund at all (a fine, a works cost, revenue).

Only the words right next to an amount decide, so "one-third of the approved project
cost or $15 million per project" is a cap (the "cost" is not the amount's own word) while
"works costing about HK$12 million" and "a fixed penalty of HK$3,000" are not funds.
"""

from __future__ import annotations

import re
from enum import StrEnum

from watcher.extract.amounts import Amount
from watcher.extract.scan import fold


class Role(StrEnum):
    TOTAL = "total"  # the size of a fund or scheme
    CAP = "cap"  # a ceiling per project / company / application
    PREVIOUS = "previous"  # "from $15 million (to $30 million)", "an initial $200 million"
    ADDED = "added"  # "a further $400 million", "inject $3 billion into": new money, not a size
    OTHER = "other"  # a fine, cost, price, revenue, investment, salary: never a fund


_FILLER = (r"(?:\s+(?:of|at|about|around|approximately|approx\.|some|total(?:l?ing)?|amounting|"
           r"to|was|is|were|are|be|reaching|reached|up|nearly|over|more|than|an?|the|"
           r"estimated|only|just|funding|grants?|by|for|:))*\s*:?\s*")
_OTHER_BEFORE = re.compile(
    r"\b(?:fined?|fines|penalt(?:y|ies)|cost(?:s|ing)?|revenues?|tax(?:es)?|salar(?:y|ies)|"
    r"wages?|pay|prices?d?|worth|turnover|sales|invest(?:s|ed|ing|ments?)?|spent|spend(?:ing)?|"
    r"expenditure|bail|compensation|loss(?:es)?|damages|profits?|income|fees?|rents?|value[ds]?|"
    r"contract|tender|approved|granted|awarded|disbursed|earned|donat(?:ed|ions?)|bills?|"
    r"balances?|reserves|raised|raising|deficit|surplus|involv(?:ing|es|ed)|charges?|loans?)"
    + _FILLER + r"$"
    r"|(?:罰款|罰|成本|造價|工程費用|費用|收入|稅收|稅款|薪金|薪酬|月薪|售價|價格|票價|投資|"
    r"估值|營業額|銷售額|租金|賠償|批出|批核|開支|支出|經常開支|結餘|儲備)"
    r"(?:約|為|達|高達|共|合共|了|逾|超過|近|總額)*\s*$"
    # "獲新型工業化資助計劃資助3,000萬元": a grant one company received
    r"|獲[^，。；]{0,24}?資助(?:約|達|共|合共|了)?\s*$"
    # "由創新及科技基金撥款約6,000萬元設立": a grant from the fund for one thing
    r"|由[^，。；]{0,24}?撥款(?:約|達|共|合共|了)?\s*$",
    re.IGNORECASE,
)
_OTHER_AFTER = re.compile(
    r"^\s*(?:(?:fine|penalty)\b|in\s+(?:fines|revenue|tax(?:es)?|sales|profits?)\b"
    r"|(?:[\w-]+\s+){0,2}?(?:project|investment|plant|contract|deal|building|renovation|"
    r"works|facility|factory|headquarters)\b"
    # money drawn from or granted under a fund, not its size: "$48 million from the ITF"
    r"|(?:from|under|out\s+of)\s+(?:the\s+|its\s+)?[A-Z]"
    r"|(?:was|were|has\s+been|have\s+been|had\s+been)\s+(?:funded|granted|awarded|approved"
    r"|disbursed|invested|spent|paid)\b"
    r"|的?(?:罰款|投資|工程|造價|廠房)|獲)",
    re.IGNORECASE,
)
_CAP_BEFORE = re.compile(
    r"(?:\bup\s+to|\bcapped\s+at|\bcap\s+of|\bmaximum\s+(?:of\s+)?|\bat\s+most|\bnot\s+exceeding"
    r"|\b(?:a|each|one-off)\s+grant\s+of|\bno\s+more\s+than|\bceiling\b[^.;]{0,60}?(?:to|at|of|from)|\bceiling\s+of)\s*$"
    r"|(?:上限[^。；]{0,30}?(?:為|是|至|達)?|最多(?:可獲)?|不多於|不超過|每個項目(?:可獲)?"
    r"|每項目|每項|每間企業|每家企業)\s*$",
    re.IGNORECASE,
)
_CAP_AFTER = re.compile(
    r"^\s*(?:per|for\s+each|each|a)\s+(?:approved\s+)?(?:project|company|enterprise|"
    r"application|applicant|organisation|team|institution)\b|^\s*(?:的)?(?:上限|為上限)",
    re.IGNORECASE,
)
# "a maximum funding for each PSTS project is $1 million"
_CAP_NEAR = re.compile(
    r"\b(?:maximum|ceiling|cap)\b[^.;$]{0,40}?\b(?:for\s+each|per|each)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:project|company|enterprise|application|applicant|organisation|team)s?\b[^.;$]{0,15}$",
    re.IGNORECASE)
# "由1,500萬元提高至…", and with the unit between: "由每個項目1,500萬元提高至…"
_PREVIOUS_BEFORE = re.compile(
    r"(?:\bfrom|由(?:每個|每項|每間|每家|每名)?(?:項目|企業|公司|機構|申請)?)\s*$", re.IGNORECASE)
_INITIAL_BEFORE = re.compile(
    r"\b(?:initial(?:ly)?|original(?:ly)?|first)\s+(?:(?:commitment|funding|size|capital"
    r"|injection)\s+of\s+)?(?:about\s+|some\s+)?$|(?:原本|最初|初期)(?:為|的|約)*$",
    re.IGNORECASE)
_ADDED_BEFORE = re.compile(
    r"\b(?:further|additional|extra|another|more|inject(?:s|ed|ing)?|top(?:ped|s)?\s+up\s+(?:by|with))"
    r"\s+(?:of\s+)?(?:about\s+|some\s+)?$|(?:再|額外|另外|增撥|注資)(?:約|了)?\s*$",
    re.IGNORECASE)
_PREVIOUS_AFTER = re.compile(r"^\s*(?:to|(?:提高|增加|增|調高|提升|上調)?至)\s*", re.IGNORECASE)


_ADDED_AFTER = re.compile(
    r"^\s*(?:more|extra|additional|further|in\s+additional)\b|^\s*(?:的)?(?:額外|新增)",
    re.IGNORECASE)


# Words that every match of a "before" pattern holds (in lower case): where the words
# before an amount have none of them, the pattern is not searched for (each search tries
# every place in the 80 characters before the amount).
_KEYWORDS: dict[re.Pattern[str], tuple[str, ...]] = {
    _PREVIOUS_BEFORE: ("from", "由"),
    _INITIAL_BEFORE: ("initial", "original", "first", "原本", "最初", "初期"),
    _ADDED_BEFORE: ("further", "additional", "extra", "another", "more", "inject", "top",
                    "再", "額外", "另外", "增撥", "注資"),
    _CAP_BEFORE: ("up", "cap", "maximum", "most", "exceeding", "grant", "more", "ceiling",
                  "上限", "最多", "不多於", "不超過", "每"),
    _CAP_NEAR: ("maximum", "ceiling", "cap"),
}


def _before(pattern: re.Pattern[str], before: str, low: str | None) -> bool:
    if low is not None and not any(word in low for word in _KEYWORDS[pattern]):
        return False
    return pattern.search(before) is not None


def amount_role(text: str, amount: Amount, lo: int, hi: int) -> Role:
    """The role of ``amount`` in ``text``, reading only within ``[lo, hi)`` (its sentence)."""
    before = text[max(lo, amount.start - 80):amount.start]
    after = text[amount.end:min(hi, amount.end + 50)]
    low = fold(before)
    if _before(_PREVIOUS_BEFORE, before, low) and _PREVIOUS_AFTER.match(after):
        return Role.PREVIOUS
    if _before(_INITIAL_BEFORE, before, low):
        return Role.PREVIOUS
    if _before(_ADDED_BEFORE, before, low) or _ADDED_AFTER.match(after):
        return Role.ADDED
    if _OTHER_BEFORE.search(before):
        return Role.OTHER
    if _CAP_AFTER.match(after):  # before the "project" test below: "per project" is a cap
        return Role.CAP
    if _OTHER_AFTER.match(after):
        return Role.OTHER
    if _before(_CAP_BEFORE, before, low) or _before(_CAP_NEAR, before, low):
        return Role.CAP
    return Role.TOTAL
