"""What an amount is doing in its sentence: a fund's size, money added to it, a cap per
project, the grant to one company, a project's cost, an eligibility threshold, private
investment, or something that is no fund's money at all (a fine, revenue, a salary).

A fund's size is the one role that can change how big a fund is, so it must be stated as
such: "a $10 billion fund", "the HK$5 billion Scheme X", "earmark $2 billion for",
"預留100億元", "總額30億元". An amount that nothing marks is *not* taken for a size: in
"The minimum project cost under the HK$5 billion Scheme X is lowered from HK$200 million to
HK$100 million" the two last amounts are thresholds (the noun the change is about, before
"from"), and only the first, written right before the scheme's name, is the size.

The reading goes from the nearest words outwards, and the first that speaks decides:

1. a change "from A to B" / "由A…至B": both take the role of the noun the change is about;
2. the words right before the amount ("up to", "a further", "minimum", "預留", "獲資助");
3. a fund's name right after it ("a $10 billion fund", "100億元的「…計劃」");
4. the words right after it ("per project", "of private investment", "in fines");
5. the nouns earlier in its clause ("the total cost of the project is about $600 million");
6. otherwise ``other``: an amount the page does not say is a size is not one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.extract.amounts import Amount
from watcher.models import AmountRole

_SIZE, _ADDED, _CAP = AmountRole.SIZE, AmountRole.ADDED, AmountRole.CAP_PER_PROJECT
_GRANT, _COST, _MIN = AmountRole.GRANT, AmountRole.PROJECT_COST, AmountRole.THRESHOLD
_PRIVATE, _OTHER = AmountRole.PRIVATE_INVESTMENT, AmountRole.OTHER


@dataclass(frozen=True, slots=True)
class RoleReading:
    role: AmountRole
    cue: str  # the words that decided, as written
    previous: bool = False  # the "from" side of a change: the value being replaced


# Small words that may stand between a role's word and its amount.
_FILL_EN = (r"(?:\s+(?:of|at|is|was|were|are|be|been|will|would|to|by|amounting|totall?ing|"
            r"reaching|an?|the|its|their|estimated|expected|projected|set|only|just|be|"
            r"involved|stood|stands|now|currently|some|about|around|approximately|over|"
            r"nearly|almost|more\s+than|HK|HKD|:))*\s*[:：]?\s*(?:HK)?\$?\s*$")
_FILL_ZH = r"(?:為|是|約|達|高達|共|合共|了|逾|超過|近|至|到|總額|可達|金額|港幣|港元|\s)*$"


def _before(en: str, zh: str) -> re.Pattern[str]:
    """A role's words right before an amount (English with small words between, or
    Chinese), anchored at the amount."""
    return re.compile(rf"(?:\b(?:{en}){_FILL_EN})|(?:(?:{zh}){_FILL_ZH})", re.IGNORECASE)


# 2a. Words that decide before any nearer word: money a fund pays out for one thing
# ("由創新及科技基金撥款約6,000萬元設立", "獲新型工業化資助計劃資助3,000萬元").
_FIRST: list[tuple[AmountRole, re.Pattern[str]]] = [
    (_GRANT, re.compile(r"(?:由|從)[^，。；]{0,24}?撥款(?:約|達|共|合共|了)?\s*$"
                        r"|獲[^，。；]{0,24}?(?:資助|撥款)(?:約|達|共|合共|了)?\s*$")),
]

# 2a'. A fund set up with its money: "launched in October 2023 with a funding of $10
# billion", "set up in 2017 with $2 billion", "成立時注資20億元"; and its first size, which
# a later one replaced: "with an initial commitment of $50 million".
_SET_UP_WITH = re.compile(
    r"\b(?P<verb>launched|set\s+up|established|introduced|created|rolled\s+out|started)\b"
    r"[^.;$]{0,100}?\b(?P<with>with\s+(?:a\s+|an\s+)?(?:total\s+|overall\s+)?(?:(?:funding"
    r"|budget|commitment|allocation|provision|injection|capital)\s+(?:of\s+)?)?)"
    r"(?:about\s+|around\s+|some\s+|over\s+)?(?:HK)?\$?\s*$", re.IGNORECASE)
_INITIAL = re.compile(
    r"\b(?:initial(?:ly)?|original(?:ly)?|first)\s+(?:(?:commitment|funding|size|capital"
    r"|injection|allocation|budget)\s+(?:of\s+)?)?(?:about\s+|some\s+)?(?:HK)?\$?\s*$"
    r"|(?:原本|最初|初期|起初|成立時)(?:為|的|約|注資|撥款)*\s*$", re.IGNORECASE)

# 2b. Right before the amount: the widest match decides (see _widest).
_BEFORE: list[tuple[AmountRole, re.Pattern[str]]] = [
    (_ADDED, _before(
        r"further|additional|extra|another|inject(?:s|ed|ing|ion)?(?:\s+of)?|injections?"
        r"|top(?:ped|s|ping)?[\s-]+up(?:\s+\w+){0,4}?\s+(?:by|with)"
        r"|increas(?:e|ed|es|ing)(?:\s+\w+){0,5}?\s+by|boost(?:ed)?(?:\s+\w+){0,4}?\s+by",
        r"注資|增撥|額外(?:撥款|注資|資助)?|再撥|追加|另撥|增加(?:承擔額|撥款)?")),
    (_MIN, _before(
        r"minimum(?:\s+(?:total|project|investment|cost|capital|contribution|amount|funding|of))*"
        r"|at\s+least|not\s+less\s+than|no\s+less\s+than|threshold(?:\s+of)?"
        r"|(?:must|should|required\s+to|need\s+to)\s+invest(?:\s+at\s+least)?",
        r"最低(?:要求|項目總成本|投資額|投資)?|最少|不少於|不少于|門檻|门槛|須投入(?:不少於)?|"
        r"須投資(?:不少於)?")),
    (_CAP, _before(
        r"up\s+to|capped\s+at|(?:a\s+)?cap\s+of|ceiling(?:\s+of)?|maximum(?:\s+(?:funding|"
        r"grant|subsidy|amount|of))*|at\s+most|not\s+exceeding|no\s+more\s+than|not\s+more"
        r"\s+than",
        r"上限(?:為|是)?|最高(?:可)?(?:獲得?|得到|資助|達)?(?:資助)?|最多(?:可)?(?:獲得?|得到)?|"
        r"不多於|不超過|不超过|"
        r"每(?:個|家|間|名|項)?(?:項目|企業|公司|機構|申請)(?:可獲|最高)?(?:資助)?")),
    (_PRIVATE, _before(
        r"private(?:\s+(?:sector|capital))?\s+(?:investments?|funding|capital)"
        r"|invest(?:s|ed|ing)?|investments?(?:\s+of)?",
        r"私人(?:機構)?投資|私營(?:機構)?投資|企業投資|投資額|投入|投資")),
    (_COST, _before(
        r"(?:project|total|estimated|overall|capital)\s+(?:costs?|budget|expenditure)"
        r"|costs?|costing|budget(?:ed)?|expenditure|worth|valued\s+at",
        r"總成本|項目成本|成本|總開支|開支|總預算|造價|總投資|費用")),
    (_GRANT, _before(
        r"grants?(?:ed)?|award(?:ed|s)?|approv(?:ed|al)|disburs(?:ed|ement)|receiv(?:e|ed|es|ing)"
        r"|(?:funding|subsidy|subsidies|support)(?:\s+(?:amount|support|of))*"
        r"|(?:was|were|has\s+been|have\s+been)\s+(?:granted|awarded|approved)",
        r"獲(?:批|得)?(?:[^，。；]{0,20}?)?資助|獲批(?:出)?|批出|批核|資助(?:額|金額)?|撥款予")),
    (_SIZE, _before(
        r"earmark(?:ed|s|ing)?|set(?:s|ting)?\s+aside|reserv(?:e|ed|es|ing)|allocat(?:e|ed|es|"
        r"ing|ion)|commitment|provision|(?:fund|funding\s+pool|scheme|programme)\s+of"
        r"|(?:total|overall)\s+(?:size|funding|allocation|provision|commitment)|a\s+total\s+of"
        r"|(?:has|have|had)\s+(?:a\s+|an\s+)?(?:total\s+|overall\s+)?(?:funding|budget"
        r"|allocation|commitment|size|capital|fund\s+size)(?:\s+of)?"
        r"|size",
        r"預留|撥出|撥款|承擔額|總額|總值|規模|涉及資金|合共撥款")),
    (_OTHER, _before(
        r"fined?|fines|penalt(?:y|ies)|revenues?|tax(?:es)?|salar(?:y|ies)|wages?|pay"
        r"|prices?d?|turnover|sales|spent|spend(?:ing)?|bail|compensation|loss(?:es)?|damages"
        r"|profits?|income|fees?|rents?|contract|tender|earned|donat(?:ed|ions?)|bills?"
        r"|balances?|reserves|raised|raising|deficit|surplus|charges?|loans?|exports?"
        r"|imports?|GDP|value\s+added|cash\s+flow",
        r"罰款|罰|收入|稅收|稅款|薪金|薪酬|月薪|售價|價格|票價|估值|營業額|銷售額|租金|賠償|"
        r"結餘|儲備|現金流量|出口|進口|增加價值")),
]

# 3. A fund's name right after: "a $10 billion fund", "the HK$5 billion Scheme X",
# "100億元的「新型工業加速計劃」", "10億元創科基金".
_FUND_AFTER = re.compile(
    r"^\s*(?:-?strong\s+)?(?:(?i:new|dedicated|special|additional)\s+)?"
    r"(?:(?:[A-Z][\w&'’+-]*|of|and|for|&)\s+){0,8}?(?i:fund|scheme|programme|program)s?\b"
    r"|^(?:的|之)?\s*[「『]?(?:(?![成設推與用作於以為向予給在由把調撥投注獲])[\u4e00-\u9fffA-Za-z0-9&+])"
    r"{0,24}?(?:基金|計劃|计划)(?![項项])")
_PER_AFTER = re.compile(
    r"^\s*(?:in\s+funding\s+|of\s+funding\s+|of\s+subsidy\s+)?(?:per|for\s+each|each|a|for\s+every)"
    r"\s+(?:approved\s+|eligible\s+|successful\s+)?(?:project|company|enterprise|application"
    r"|applicant|organisation|team|institution|production\s+line|line|person|participant"
    r"|trainee|student|researcher|start-?up|SME|business)\b"
    r"|^\s*(?:的)?(?:上限|為上限)",
    re.IGNORECASE)
_PRIVATE_AFTER = re.compile(
    r"^\s*(?:\w+\s+){0,3}?(?:came\s+)?(?:from|of|in)\s+private(?:\s+sector)?\s+investment"
    r"|^\s*(?:of\s+)?private\s+investment|^(?:為|是|來自)?私人投資",
    re.IGNORECASE)
_GRANT_AFTER = re.compile(
    r"^\s*(?:in\s+(?:funding|grants?|subsid\w+)\s+)?(?:from|under|out\s+of)\s+(?:the\s+|its\s+)?"
    r"[A-Z\u4e00-\u9fff]"
    r"|^\s*(?:was|were|has\s+been|have\s+been|had\s+been|will\s+be|is)\s+(?:granted|awarded"
    r"|approved|disbursed|provided)\b"
    r"|^\s*(?:in\s+)?(?:funding|grants?|subsid(?:y|ies))\s+(?:to|for)\b"
    r"|^\s*(?:的)?資助|^獲[^，。；]{0,30}?(?:資助|撥款)",
    re.IGNORECASE)
# "一筆為數12億元的新承擔額，用以設立…基金": a commitment is a fund's size.
_COMMITMENT_AFTER = re.compile(r"^\s*(?:的)?(?:新)?(?:承擔額|撥款承擔)|^\s*(?:new\s+)?commitment\b",
                               re.IGNORECASE)
_COST_AFTER = re.compile(
    r"^\s*(?:[\w-]+\s+){0,2}?(?:project|plant|factory|production\s+lines?|facility|building"
    r"|renovation|works|headquarters|investment\s+project)s?\b"
    r"|^(?:的)?(?:項目|工程|廠房|生產線)(?!資助)",
    re.IGNORECASE)
_OTHER_AFTER = re.compile(
    r"^\s*(?:(?:fine|penalty)\b|in\s+(?:fines|revenue|tax(?:es)?|sales|profits?|exports?)\b)"
    r"|^\s*(?:was|were|has\s+been|have\s+been|had\s+been)\s+(?:spent|paid|raised|lost)\b"
    r"|^(?:的)?(?:罰款|收入|稅款)",
    re.IGNORECASE)

# 5. Nouns earlier in the clause, nearest first.
_CLAUSE_NOUNS: list[tuple[AmountRole, re.Pattern[str]]] = [
    (_MIN, re.compile(r"\bminimum(?:\s+(?:total|project|investment|cost|capital|contribution"
                      r"|amount|funding|requirement))*\b|\bthreshold\b|\bat\s+least\b"
                      r"|最低(?:要求|門檻)?|門檻|门槛|不少於", re.IGNORECASE)),
    (_CAP, re.compile(r"\b(?:funding\s+)?(?:ceiling|cap|maximum)(?:\s+(?:funding|grant|amount"
                      r"|per\s+project))*\b|\bup\s+to\b|(?:資助)?上限|最高(?:資助)?(?:額|金額)?",
                      re.IGNORECASE)),
    (_PRIVATE, re.compile(r"\bprivate\s+(?:sector\s+)?investment|私人投資", re.IGNORECASE)),
    (_COST, re.compile(r"\b(?:total\s+)?(?:project\s+)?cost\b|\bcost\s+of\s+the\s+project"
                       r"|\bbudget\b|總成本|項目成本|總預算|總開支|造價", re.IGNORECASE)),
    (_GRANT, re.compile(r"\bfunding\s+amount|\bgrant(?:ed)?\b|\bawarded\b|\bapproved\b"
                        r"|資助額|資助金額|獲批|獲資助", re.IGNORECASE)),
    (_ADDED, re.compile(r"\binject|\badditional\b|注資|增撥", re.IGNORECASE)),
    (_SIZE, re.compile(r"\bearmark|\bset\s+aside\b|\bcommitment\b|\bsize\b|預留|承擔額|總額"
                       r"|(?<=[」』的])金額", re.IGNORECASE)),
]
_CLAUSE_BREAK = re.compile(r"[;；。]|,\s+(?:and|while|whereas|but)\s|,\s*of\s+which|，其中|當中")

# 1. A change: "from A to B", "由A…至B", "lowered/raised A to B" with "from" before.
_FROM = re.compile(r"(?:\bfrom|由)\s*(?:(?:HK)?\$|港幣)?\s*$|由(?:每(?:個|家|間|名|項)?"
                   r"(?:項目|企業|公司|機構|申請)?)\s*$|由(?:目前|現時|原來|原本|現行)的?\s*$",
                   re.IGNORECASE)
_TO_AFTER_FROM = re.compile(r"[,，]?\s*(?:to|(?:提高|增加|增|調高|提升|上調|下調|調低|降|降低|減|"
                            r"減少|調整)?至)\s*", re.IGNORECASE)


def _clause_start(text: str, lo: int, at: int) -> int:
    """Where the clause holding ``at`` begins (not before ``lo``)."""
    start = lo
    for match in _CLAUSE_BREAK.finditer(text, lo, at):
        start = match.end()
    return start


def _noun_role(text: str, lo: int, at: int) -> tuple[AmountRole, str] | None:
    """The role of the role noun in ``text[lo:at]`` that ends nearest to ``at``; of two
    ending together the longer ("minimum project cost" is a threshold, not a cost)."""
    best: tuple[int, int, AmountRole, str] | None = None
    for role, pattern in _CLAUSE_NOUNS:
        for match in pattern.finditer(text, lo, at):
            key = (match.end(), -match.start())
            if best is None or key > (best[0], best[1]):
                best = (match.end(), -match.start(), role, match.group())
    return None if best is None else (best[2], best[3])


def _change_role(text: str, amount: Amount, lo: int, hi: int, amounts: list[Amount],
                 fund_spans: list[tuple[int, int]]) -> RoleReading | None:
    """The reading of an amount that is either side of a change "from A to B"."""
    following = next((a for a in amounts if a.start > amount.end), None)
    preceding = next((a for a in reversed(amounts) if a.end < amount.start), None)
    if following is not None and following.start - amount.end < 40 and _TO_AFTER_FROM.match(
            text, amount.end, following.start):
        old, previous = amount, True
    elif preceding is not None and amount.start - preceding.end < 40 and _TO_AFTER_FROM.match(
            text, preceding.end, amount.start):
        old, previous = preceding, False
    else:
        return None
    window = max(lo, old.start - 16)
    found_from = _FROM.search(text[window:old.start])
    if found_from is None:
        return None
    origin = window + found_from.start()
    clause = _clause_start(text, lo, origin)
    found = _noun_role(text, clause, origin)
    if found is None:
        if any(clause <= start and end <= origin for start, end in fund_spans):
            # "the X Fund will be increased from A to B", "「X基金」的金額由A增加至B"
            return RoleReading(_SIZE, "a change of the fund itself", previous)
        return RoleReading(_OTHER, "a change of something unnamed", previous)
    role, noun = found
    return RoleReading(role, f"change of '{noun}'", previous)


# Words that say "in all" but not whose money: "a total of $6.2 billion of public funding
# have been approved" is what the scheme granted, not its size.
_WEAK_SIZE = re.compile(r"(?:a\s+)?total(?:\s+\w+)*|總額\S*|總值\S*|合共\S*|involving(?:\s+\w+)*",
                        re.IGNORECASE)
_APPROVED = re.compile(r"\b(?:approved|granted|awarded|disbursed|committed\s+to\s+projects"
                       r"|supported)\b|獲批|批出|批核|資助了|支持了", re.IGNORECASE)

# A financial year after an amount: what is spent in it ("a provision of $244 million in
# 1999-2000", "2024-25年度的現金流量"), not the fund's size.
_FISCAL_YEAR_AFTER = re.compile(r"\s*(?:in|for|during)\s+(?:the\s+)?(?:financial\s+year\s+)?"
                                r"\d{4}\s*[-–/]\s*\d{2,4}\b|\s*於\d{4}[-–/至]\d{2,4}年度",
                                re.IGNORECASE)
_GOVERNMENT = re.compile(r"\bGovernment\b|政府")
# A fund's own "funding" right after its name is its size, not a grant.
_OWN_FUNDING = re.compile(r"(?:資助額|資助金額|撥款)(?:為|是|約|達|共)*|(?i:funding|budget)"
                          r"(?:\s+(?:of|is|was|amounts\s+to|stands\s+at))*")
_NAME_THEN = re.compile(r"\s*(?:的|之|['’]s)?\s*", re.IGNORECASE)

_NAME_GAP_AFTER = re.compile(
    r"\s*(?:的|之)?\s*[「『“‘\"']?\s*"
    # "$2 billion for setting up the ITVF", "50億元用作成立「策略性創科基金」"
    r"|\s*(?:was\s+\w+\s+|is\s+\w+\s+)?(?:for|to)\s+(?:set(?:ting)?\s+up|establish(?:ing)?"
    r"|creat(?:e|ing)|launch(?:ing)?)\s+(?:a\s+|an\s+|the\s+|a\s+new\s+)?[“‘\"']?\s*"
    r"|\s*(?:用作|用於|作為|以)?(?:成立|設立|推出|創立)(?:名為)?[「『“]?", re.IGNORECASE)
_NAME_GAP_BEFORE = re.compile(
    r"\s*[”’\"')）」』]*\s*(?:[(（][^()（）]{1,24}[)）])?\s*[,，]?\s*(?:[(（]|with\s+(?:a\s+)?(?:total\s+)?(?:(?:funding|budget"
    r"|commitment|allocation|provision|capital|fund\s+size)\s+)?(?:of\s+)?|of\s+)\s*",
    re.IGNORECASE)


def _beside_fund_name(text: str, amount: Amount, fund_spans: list[tuple[int, int]]) -> bool:
    """"the $10 billion NIAS", "100億元的「…計劃」", "the Scheme (HK$10 billion)"."""
    for start, end in fund_spans:
        if start >= amount.end and _NAME_GAP_AFTER.fullmatch(text, amount.end, start):
            return True
        if end <= amount.start and _NAME_GAP_BEFORE.fullmatch(text, end, amount.start):
            return True
    return False


def _widest(patterns: list[tuple[AmountRole, re.Pattern[str]]], before: str
            ) -> tuple[AmountRole, str] | None:
    """The role whose words reach furthest back from the amount: the most specific
    reading ("has a funding of" is the fund's size, where "funding of" alone is a grant);
    list order breaks a tie."""
    best: tuple[int, AmountRole, str] | None = None
    for role, pattern in patterns:
        match = pattern.search(before)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), role, match.group())
    return None if best is None else (best[1], " ".join(best[2].split()))


def amount_role(text: str, amount: Amount, lo: int, hi: int,
                amounts: list[Amount] | None = None,
                fund_spans: list[tuple[int, int]] | None = None) -> RoleReading:
    """How ``amount`` (an HKD amount in ``text``) is used, reading only within ``[lo, hi)``
    (its sentence); ``amounts`` are the sentence's amounts in order (for changes) and
    ``fund_spans`` the ``(start, end)`` of the funding names in it."""
    change = _change_role(text, amount, lo, hi, amounts or [amount], fund_spans or [])
    if change is not None:
        return change
    before = text[max(lo, amount.start - 80):amount.start]
    first = _widest(_FIRST, before)
    if first is not None:
        return RoleReading(*first)
    initial = _INITIAL.search(before)
    if initial is not None:
        return RoleReading(_SIZE, " ".join(initial.group().split()), previous=True)
    set_up = _SET_UP_WITH.search(text, max(lo, amount.start - 160), amount.start)
    if set_up is not None:
        granted = _GRANT_AFTER.match(text[amount.end:min(hi, amount.end + 60)])
        if granted is not None:  # "set up with funding of $48 million from the ITF"
            return RoleReading(_GRANT, " ".join(granted.group().split()))
        words = " ".join(f"{set_up.group('verb')} ... {set_up.group('with')}".split())
        return RoleReading(_SIZE, words)
    if fund_spans and _beside_fund_name(text, amount, fund_spans):
        return RoleReading(_SIZE, "beside the fund's name")
    found = _widest(_BEFORE, before)
    if found is not None:
        role, cue = found
        if role is _SIZE and _FISCAL_YEAR_AFTER.match(text, amount.end):
            return RoleReading(_OTHER, f"{cue} ... a year's cash flow")  # "$244m in 1999-2000"
        if role is _PRIVATE and _GOVERNMENT.search(
                text, max(_clause_start(text, lo, amount.start), amount.start - 40),
                amount.start):
            return RoleReading(_GRANT, f"the Government's {cue}")  # 政府的總投資額
        if role is _SIZE and _WEAK_SIZE.fullmatch(cue) and _APPROVED.search(
                text, _clause_start(text, lo, amount.start), min(hi, amount.end + 80)):
            return RoleReading(_GRANT, f"{cue} ... approved")  # "a total of $X ... approved"
        if role is _GRANT and fund_spans and _OWN_FUNDING.fullmatch(cue) and any(
                _NAME_THEN.fullmatch(text, end, amount.start - len(before) + before.rfind(cue))
                for _, end in fund_spans if end <= amount.start):
            # "新型工業加速計劃資助額為100億元": the scheme's own funding is its size
            return RoleReading(_SIZE, f"the fund's own {cue}")
        return RoleReading(role, cue)
    if amount.qualifier == "up_to":
        return RoleReading(_CAP, "'up to'")
    if amount.qualifier == "at_least":
        return RoleReading(_MIN, "'at least'")
    after = text[amount.end:min(hi, amount.end + 60)]
    for role, pattern in ((_CAP, _PER_AFTER), (_PRIVATE, _PRIVATE_AFTER),
                          (_SIZE, _FUND_AFTER), (_SIZE, _COMMITMENT_AFTER), (_OTHER, _OTHER_AFTER),
                          (_GRANT, _GRANT_AFTER), (_COST, _COST_AFTER)):
        match = pattern.match(after)
        if match is not None:
            return RoleReading(role, " ".join(match.group().split()) or "after")
    clause = _clause_start(text, lo, amount.start)
    found = _noun_role(text, max(clause, amount.start - 120), amount.start)
    if found is not None:
        return RoleReading(found[0], found[1])
    return RoleReading(_OTHER, "no word says what it is")
