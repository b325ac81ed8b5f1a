"""Names that the gazetteer does not know but whose shape says what they are.

"Smart Manufacturing Support Scheme" is a funding name, "Quantum Research Institute" a
facility and "Space Industry Development Office" an organisation, in English by their
last word and in Chinese by their last characters (...計劃, ...基金, ...中心, ...研發院).
A shape alone fires nothing: the extractor still demands an amount (funding) or a
status cue (facility, organisation), and a facility must sound like I&T, which keeps
sports centres and waterfront parks out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.extract.scan import has_cjk, head_word_offsets, lowered
from watcher.models import FactKind

_EN_HEADS: dict[str, FactKind] = {
    "scheme": FactKind.FUNDING, "fund": FactKind.FUNDING, "programme": FactKind.FUNDING,
    "program": FactKind.FUNDING, "initiative": FactKind.FUNDING,
    "centre": FactKind.FACILITY, "center": FactKind.FACILITY,
    "institute": FactKind.FACILITY, "park": FactKind.FACILITY, "hub": FactKind.FACILITY,
    "cluster": FactKind.FACILITY, "laboratory": FactKind.FACILITY,
    "laboratories": FactKind.FACILITY, "platform": FactKind.FACILITY,
    "technopole": FactKind.FACILITY, "innopark": FactKind.FACILITY,
    "office": FactKind.ORGANISATION, "academy": FactKind.ORGANISATION,
}
_ZH_HEADS: dict[str, FactKind] = {
    "計劃": FactKind.FUNDING, "基金": FactKind.FUNDING,
    "中心": FactKind.FACILITY, "研發院": FactKind.FACILITY, "研究院": FactKind.FACILITY,
    "科技園": FactKind.FACILITY, "創新園": FactKind.FACILITY, "實驗室": FactKind.FACILITY,
    "平台": FactKind.FACILITY, "基地": FactKind.FACILITY, "辦公室": FactKind.ORGANISATION,
}
_WORD = r"(?:[A-Z][\w&'’+@.-]*|[0-9][\w-]*)"
_GLUE = r"(?:of|and|for|on|in|the|&)"
# A head word ("Scheme", "Centre") after whitespace; the name's other words are found by
# walking back from it (see _chain_start). The whitespace is matched, not looked behind
# for, so that the engine skips from space to space: use ``start("head")``.
_EN_HEAD = re.compile(
    rf"\s(?P<head>(?i:{'|'.join(sorted(_EN_HEADS, key=len, reverse=True))}))s?(?![A-Za-z])"
)
# A name's words before its head, up to the head: dots only inside a word ("AI." ends
# the sentence before "The Institute"; "U.S." and "R&D" stay words).
_CHAIN_WORD = r"(?:(?:[A-Z]\.){2,}|[A-Z][\w&'’+@-]*(?:\.[\w&'’+@-]+)*|[0-9][\w-]*)"
_CHAIN = re.compile(rf"(?<![A-Za-z0-9]){_CHAIN_WORD}(?:\s+(?:{_CHAIN_WORD}|{_GLUE}))*\s+$")
_CHAIN_WINDOW = 160  # characters: longer than any name
_BRAND = re.compile(r"\w-[A-Z]|[a-z][A-Z]|\+|\d")  # Incu-Tech, InnoHK, RAISe+, 5G
_FOR_TITLE = re.compile(
    r"\s+for\s+[A-Z][\w-]*(?:\s+(?:(?:and|&|in|of|on)\s+)?[A-Z][\w-]*)*")
_CAPITALISED = re.compile(r"^[A-Z0-9]")
_DATE_TOKEN = re.compile(r"\d{1,4}(?:[-/.]\d{1,2}){1,2}[,.]?|\d{4}[,.]?")
# Words that open a sentence or a phrase but never a name.
_LEADING_STOP = frozenset(
    [
        "the", "a", "an", "under", "through", "with", "in", "on", "of", "for", "and",
        "this", "these", "that", "its", "his", "her", "their", "our", "also", "meanwhile",
        "furthermore", "moreover", "besides", "today", "yesterday", "since", "as", "at",
        "by", "from", "to", "when", "while", "if", "both", "all", "each", "every", "such",
        "said", "mr", "mrs", "ms", "dr", "professor", "prof", "new-look", "hong-kong's",
        "government's"
    ]
)
_ZH_HEAD_ALT = "|".join(sorted(_ZH_HEADS, key=len, reverse=True))
_ZH_QUOTED = re.compile(rf"「(?P<name>[^「」]{{1,30}}?(?P<head>{_ZH_HEAD_ALT}))」")
_ZH_NAME = re.compile(rf"(?P<name>[\u4e00-\u9fffA-Za-z0-9&+]{{2,24}}?(?P<head>{_ZH_HEAD_ALT}))")
# Where a Chinese name cannot begin: verbs, particles and framing words before it.
_ZH_CUT = re.compile(
    r"(?:的|在|於|將|會|已|並|和|與|為|以|向|由|把|推出|設立|成立|籌建|興建|預留|撥款|支援|"
    r"資助|透過|通過|包括|其中|一所|一個|一間|新設|有關|政府|今日|宣布|公布|正式|啟用|開幕|"
    r"位於|現正|正在|擬|個|所|間|座|及其|元|私人|其他|相關|不同|多個|各個|兩個|參與|參加|申請|"
    # function words only where they cannot be inside a name's own words: 就 but not 就業,
    # 對 but not 配對, 項/號 after a number ("118項工程計劃", "489CL號工程計劃")
    r"亦可|可以|可獲|能夠|而且|或者|但是|由於|根據|按照|該|此|每(?:項|個|間|家|名|年)|"
    r"就(?!業)|(?<![配應面絕相])對|其(?![他中次實餘])|[0-9０-９A-Za-z]*[0-9０-９](?:項|個|號)|[A-Za-z]+號|年度|"
    r"(?<![A-Za-z])[0-9０-９]+(?![A-Za-z0-9])|萬|億)"
)
_IT_WORDS = re.compile(
    r"research|r&d|innovat|technolog|\btech|scien|manufactur|microelectronic|semiconductor|"
    r"comput|\bdata\b|artificial intelligence|\bai\b|robot|biotech|biomedic|life and health|"
    r"digital|testing|incubat|start-?up|inno|smart|\bchips?\b|industr|production|engineering|"
    r"laborator|quantum|material|energy|venture|cyberport|\bstem\b|universit|scholar|talent|"
    r"factor(?:y|ies)|automat|web3|blockchain|fintech|metaverse|\b5g\b|cyber|"
    r"研發|研究|創新|科技|科學|製造|微電子|半導體|數據|工廠|自動化|區塊鏈|元宇宙|數碼|數字|"
    r"人工智能|超算|計算|生物|創科|檢測|實驗|智能|晶片|芯片|工業|生產|材料|能源|大學|人才|"
    r"創投|初創",
    re.IGNORECASE,
)
# r"\bproduction\s+lines?\b|生產線" ignoring case, written to open with a character class
# (the engine then skips to the next p, P or 生 instead of trying every position).
_PRODUCTION_LINE = re.compile(r"[Pp生](?:(?<=\b[Pp])(?i:roduction\s+lines?)\b|(?<=生)產線)")
# A company-like name; "HK" of "HK$800 million" is not one.
_OWNER = re.compile(r"(?<![A-Za-z0-9])[A-Z][\w&.-]*(?:\s+(?:[A-Z][\w&.-]*|&|and|of))*(?![\w$])")


# The government and its bodies pay for production lines; they own none: "the Government
# will help enterprises set up new smart production lines" names no plant.
_NOT_OWNERS = frozenset((
    "government", "hksar", "administration", "bureau", "department", "commission", "council",
    "committee", "secretary", "executive", "legco", "legislative", "policy", "budget",
    "address", "itc", "itib", "hkpc", "hkstp", "cyberport", "i&t", "sar", "mainland",
))

_COMPANY = re.compile(r"\b(?:Limited|Ltd|Co|Company|Group|Holdings|Corporation|Corp|Inc"
                      r"|Industries|International)\b\.?|['’]s$")

# Who a scheme pays: a production line after these words is theirs, not the subject's.
_BENEFICIARIES = re.compile(
    r"\b(?:manufacturers|companies|enterprises|firms|businesses|applicants|factories|"
    r"industries|industrialists|the\s+industry|SMEs)\b|企業|廠商|公司|業界", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A name of a known shape at ``[start, end)``; ``head`` is its last word."""

    kind: FactKind
    name: str
    start: int
    end: int
    head: str


def sounds_like_innovation(name: str) -> bool:
    """Whether a facility name is about I&T (a "Quantum Research Centre", not a
    "Sports Centre" or "Waterfront Park")."""
    return bool(_IT_WORDS.search(name))


def _chain_start(text: str, floor: int, head_start: int) -> int | None:
    """Where the run of capitalised words and glue words that ends right before a head
    (at ``head_start``) begins, not before ``floor``; None when no word is there.

    Only a bounded window before each head is searched, so a page of title-case text
    costs a few steps per head; the old single regex retried its lazy chain at every
    capitalised word of the page (690 ms on 50 KB of title case)."""
    lo = max(floor, head_start - _CHAIN_WINDOW)
    if not _may_end_chain(text, lo, head_start):
        return None
    match = _CHAIN.search(text, lo, head_start)
    return match.start() if match else None


_GLUE_WORDS = frozenset(["of", "and", "for", "on", "in", "the", "&"])
_CHAIN_OPENERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _may_end_chain(text: str, lo: int, head_start: int) -> bool:
    """Whether the word before the spaces before a head can end a chain: a chain's last
    word holds a capital or a digit (it is a name's word) or is a glue word. Most heads
    follow a small word ("the revised programme"), and this says so without the search."""
    end = head_start
    while end > lo and text[end - 1].isspace():
        end -= 1
    start = end
    while start > lo and not text[start - 1].isspace():
        start -= 1
    word = text[start:end]
    return word in _GLUE_WORDS or not _CHAIN_OPENERS.isdisjoint(word)


def _head_matches(text: str) -> list[re.Match[str]]:
    """``_EN_HEAD.finditer(text)``, trying the pattern only before a head word's letters.

    The pattern at every space of a page cost more than all the rest of the name shapes;
    ``str.find`` of a few words is a small part of that. Matches cannot overlap (each
    opens with the only space it holds), so matching at each candidate finds them all."""
    offsets = head_word_offsets(text)
    if offsets is None:
        return list(_EN_HEAD.finditer(text))
    found = (_EN_HEAD.match(text, at - 1) for at in offsets if at > 0)
    return [match for match in found if match is not None]


def _english(text: str) -> list[Candidate]:
    found: list[Candidate] = []
    floor = 0
    for head_match in _head_matches(text):
        head_start = head_match.start("head")
        begin = _chain_start(text, floor, head_start)
        if begin is None:
            last = found[-1] if found else None
            if last is not None and last.end == floor and text[floor:head_start].isspace():
                # "Data Centre Park": a head right after a name's head extends that name
                name = " ".join(text[last.start:head_match.end()].split())
                found[-1] = Candidate(_EN_HEADS[head_match.group("head").lower()], name,
                                      last.start, head_match.end(), head_match.group("head"))
                floor = head_match.end()
            continue
        floor = head_match.end()
        tokens = list(re.finditer(r"\S+", text[begin:head_match.end()]))
        head = tokens.pop()
        # Cut at the last possessive: "the Government's Quantum Fund" names "Quantum Fund".
        for index in range(len(tokens) - 1, -1, -1):
            if tokens[index].group().endswith(("'s", "’s")):
                tokens = tokens[index + 1:]
                break
        # "Announcement 2020-06-10 The STEM Internship Scheme": a "The" or a date inside
        # the run of words opens the name.
        for index in range(len(tokens) - 1, 0, -1):
            if tokens[index].group() == "The" or _DATE_TOKEN.fullmatch(tokens[index].group()):
                tokens = tokens[index:]
                break
        while tokens and (tokens[0].group().lower() in _LEADING_STOP
                          or not _CAPITALISED.match(tokens[0].group())
                          or _DATE_TOKEN.fullmatch(tokens[0].group())):
            tokens.pop(0)
        kind = _EN_HEADS[head_match.group("head").lower()]
        if not tokens or not (_CAPITALISED.match(head.group()) or (
                kind is FactKind.FUNDING and _BRAND.search(tokens[-1].group()))):
            continue  # "Incu-Tech programme": a brand names it even with a small head
        start = begin + tokens[0].start()
        end = head_match.end()
        more = _FOR_TITLE.match(text, end)  # "... Support Scheme for Universities"
        if more:
            end = floor = more.end()
        name = " ".join(text[start:end].split())
        found.append(Candidate(kind, name, start, end, head_match.group("head")))
    return found


def _chinese(text: str) -> list[Candidate]:
    found = []
    taken: list[tuple[int, int]] = []
    for match in _ZH_QUOTED.finditer(text):
        found.append(Candidate(_ZH_HEADS[match.group("head")], match.group("name"),
                               match.start("name"), match.end("name"), match.group("head")))
        taken.append((match.start(), match.end()))
    quoted = bytearray(len(text) + 1)  # 1 inside a 「quoted」 name already taken
    for s, e in taken:
        quoted[s:e] = b"\x01" * (e - s)
    for match in _ZH_NAME.finditer(text):
        if quoted[match.start()]:
            continue
        name = match.group("name")
        prefix = name[: -len(match.group("head"))]
        # Cut after the last framing word that still leaves a name: "資助" in
        # "大學科技初創企業資助計劃" is part of the name, not a verb before it.
        found_cuts = list(_ZH_CUT.finditer(prefix))
        cuts = [m.end() for m in found_cuts if len(prefix) - m.end() >= 2]
        if found_cuts and len(prefix) - found_cuts[-1].end() < 2:
            continue  # "意向和計劃": a framing word leaves no name before the head
        cut = bool(cuts)
        if cuts:
            name = name[cuts[-1]:]
        if len(name) - len(match.group("head")) < 2 or (cut and len(name) - len(
                match.group("head")) < 3):
            continue  # "中心" or "該中心" alone names nothing, nor "(私人)創投基金"
        found.append(Candidate(_ZH_HEADS[match.group("head")], name,
                               match.end() - len(name), match.end(), match.group("head")))
    return found


def find_candidates(text: str) -> list[Candidate]:
    """Names of a funding, facility or organisation shape in ``text``."""
    chinese = _chinese(text) if has_cjk(text) else []  # most English pages have none
    return sorted(_english(text) + chinese, key=lambda c: c.start)


def find_production_lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each "production line" / "生產線" in ``text``."""
    low = lowered(text)
    if low is not None and "production" not in low and "生產線" not in text:
        return []  # most pages: no need for the scan
    return [(m.start(), m.end()) for m in _PRODUCTION_LINE.finditer(text)]


# A Chinese company name ends in 有限公司 or 集團; what stands before it in the same run of
# characters may be a description ("工總會員企業宏達精密科技有限公司").
_ZH_OWNER = re.compile(r"[\u4e00-\u9fff]{2,24}?(?:有限公司|集團)")
_ZH_OWNER_CUT = re.compile(r".*(?:會員企業|會員|企業|旗下|宣布|表示|的|與|和|及|由|是)")


def _chinese_owner(text: str, lo: int, start: int) -> str:
    owners = list(_ZH_OWNER.finditer(text, lo, start))
    if not owners:
        return ""
    owner = owners[-1].group()
    cut = _ZH_OWNER_CUT.match(owner[:-2])
    if cut:
        owner = owner[cut.end():]
    if len(owner) < 4 or _BENEFICIARIES.search(text, owners[-1].end(), start):
        return ""
    return owner


def production_line_owner(text: str, lo: int, start: int) -> str:
    """The company whose production line ``text[start:]`` is: the last capitalised name in
    ``text[lo:start]`` ("Vitasoy will set up a production line" -> "Vitasoy"), or "".

    Nobody owns the line when the name is a fund, scheme, centre or office (by its last
    word: "the ... Matching Fund ... to set up production lines") or when beneficiaries
    stand between the name and the line ("subsidise manufacturers to set up production
    lines"): those lines are policy talk, not one company's plant."""
    owners = [m for m in _OWNER.finditer(text, lo, start)
              if m.group().split()[0].lower() not in _LEADING_STOP]
    if not owners:
        return _chinese_owner(text, lo, start)
    owner = owners[-1]
    if text[owner.end():start].strip() == "" and not _COMPANY.search(owner.group()):
        return ""  # "a Pilot Manufacturing and Testing production line": a kind of line
    words = {word.lower().strip(".,'’") for word in owner.group().split()}
    if owner.group().split()[-1].lower().rstrip("s") in _EN_HEADS or words & _NOT_OWNERS:
        return ""
    if _BENEFICIARIES.search(text, owner.end(), start):
        return ""
    return owner.group()
