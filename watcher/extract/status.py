"""Words that say where a fund or facility stands ("will be set up", "opened", "籌建").

Every cue is found with its span so the extractor can give each name in a sentence the
status cue nearest to it. Future forms are listed before the past forms they contain and
start earlier in the text, so "will be established" is one *planned* cue and never also an
*established* one: the scanner consumes it whole.

Choices worth knowing:
- ``研究`` (study) with a verb ("研究設立") and ``探討``/``考慮`` mean *contemplated*, like
  "contemplating" and "exploring"; ``計劃`` only counts when a verb follows, because it
  also ends scheme names (新型工業加速計劃).
- A bare ``set up`` is no cue (it is as often "help companies set up" as a past event);
  "was/has been set up" is *established*, "will be set up"/"to set up" is *planned*.
- ``成立`` with no future marker before it is *established*; ``啟用``, ``開幕`` and
  ``投入運作`` are *opened*.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from watcher.models import Status

_EST = (
    r"(?:set(?:ting)?\s+up|establish(?:ed|ing)?|creat(?:e|ed|ing)|buil[dt]|construct(?:ed)?"
    r"|open(?:ed)?|launch(?:ed)?|introduc(?:e|ed)|roll(?:ed)?\s+out|commence\w*|form(?:ed)?)"
)
_ZH_EST = r"(?:設立|成立|興建|建立|推出|開設|設置|啟用|開幕|投入運作|營運|籌建|落成)"
_P, _C, _U, _L = Status.PLANNED, Status.CONTEMPLATED, Status.UNDER_CONSTRUCTION, Status.LAUNCHED
_E, _O, _S, _X = Status.EARMARKED, Status.OPENED, Status.ESTABLISHED, Status.EXISTING

# (status, pattern), tried in this order at each position of the text.
_CUES: list[tuple[Status, str]] = [
    # planned: future and intention
    (_P, rf"\bwill\s+(?:soon\s+|also\s+|further\s+)?(?:be\s+)?{_EST}\b"),
    # "will be in operation early next year", "will come into operation"
    (_P, r"\bwill\s+(?:soon\s+|also\s+)?(?:be\s+in|come\s+into|commence|start|begin)\s+"
         r"(?:full\s+)?operations?\b"),
    (_P, r"\b(?:is|are)\s+(?:going|expected|scheduled|slated|due|set)\s+to\s+(?:be\s+)?"
         rf"(?:{_EST}|complet\w+)\b"),
    (_P, rf"\bto\s+be\s+(?:{_EST}|managed|administered|operated|run)\b"),
    (_P, r"\b(?:plans?|planning|proposes?|proposing|intends?|intending)\s+to\b"),
    (_P, r"\b(?:planned|proposed|upcoming|forthcoming)\b"),
    (_P, r"\bto\s+(?:set\s+up|establish|build)\b"),
    (_P, rf"(?:將|會|計劃|擬|準備|籌備|打算|預計|預期|可望|有望)(?:[於在][^，。；]{{0,30}})?"
         rf"(?:正式)?(?:{_ZH_EST}|發展|建造)"),
    # a scheme that "will subsidise" is announced, not yet open
    (_P, r"\bwill\s+(?:also\s+)?subsidi[sz]e\b"),
    (_P, r"將(?:會)?資助"),
    (_P, r"將由[^，。；]{1,24}?(?:管理|營運|負責|推行)的"),  # "將由…管理的…基金": yet to come
    (_P, rf"籌建|籌劃|將設|(?:明年|下年|稍後|年內|日後){_ZH_EST}"),
    # welcoming, supporting or proposing a set-up says it has not happened yet:
    # 「工總歡迎成立新型工業化發展辦公室」 is a plan, not an opening
    (_P, rf"(?:歡迎|支持|建議|促請|倡議|爭取|需要|必須|撥款)(?:政府)?{_ZH_EST}"),
    (_P, r"\bwill\s+(?:also\s+)?promulgate\b|\bpress(?:es|ed|ing)?\s+ahead\s+with\b"),
    (_P, r"\b(?:is|are)\s+(?:now\s+)?developing\b"),
    # a Finance Committee paper asks for the money: the fund is not set up yet
    (_P, r"\b(?:invited|asked)\s+to\s+approve\b"),
    (_P, r"請委員批准|建議批准"),
    # a proposal to set a thing up (the thing's name is blanked out as \0 here):
    # "有關成立創新及科技局的撥款建議", "the proposal to establish the X"
    (_P, r"(?:成立|設立|推出|籌建)\0+的?(?:撥款|擬議)?(?:建議|方案|申請|議案)"),
    (_P, r"\bproposals?\s+(?:to|for)\s+(?:set(?:ting)?\s+up|establish(?:ing)?|the\s+establishment"
         r"\s+of|creat(?:e|ing))\b"),
    # contemplated
    # contemplating a thing, not considering an application: "explore the establishment
    # of", "consider setting up", "考慮設立"; a bare "consider"/考慮 is no cue
    (_C, rf"\bcontemplat\w*|\b(?:explor(?:e|es|ed|ing)|consider(?:s|ed|ing)?|stud(?:y|ies|ying))"
         rf"\s+(?:the\s+)?(?:(?:possibility|feasibility)\s+of\s+)?(?:{_EST}|establishment"
         rf"|development|setting\s+up|building|construction|introduction)\b"
         # "exploring a fourth InnoHK research cluster", not "exploring opportunities"
         r"|\bexplor(?:e|es|ed|ing)(?=\s+(?:a|an|the)\s+(?!(?:\w+\s+)?(?:opportunit|ways?\b"
         r"|options?\b|possibilit|collaborat|co-?operat|partnership|synerg|potential)))"),
    (_C, r"\b(?:feasibility\s+study|studying|to\s+study|will\s+study)\b"),
    (_C, rf"(?:正|會|將)?(?:研究|探討|考慮)(?:是否|可否|如何)?(?:{_ZH_EST}|引入|發展|建立)"),
    # under construction
    (_U, r"\bunder\s+construction\b|\bbeing\s+(?:built|constructed)\b"),
    (_U, r"\b(?:commenced|started|began|begun)\s+construction\b"),
    (_U, r"\bconstruction\s+(?:works?\s+)?(?:has|have|had)\s+(?:commenced|started|begun)\b"),
    (_U, r"\bconstruction\s+is\s+underway\b|\bground-?breaking\b|\btopping[- ]out\b"),
    (_U, r"興建中|正(?:在)?興建|建造中|施工中|已動工|動工"),
    # launched: a scheme open for applications
    (_L, r"\b(?:open(?:ed|s)?|opening)\s+for\s+applications?\b"),
    (_L, r"\b(?:accepting|invit(?:es|ed|ing))\s+applications\b"),
    (_L, r"\bapplications?\b[^.;]{0,60}?\b(?:are|is)\s+(?:now\s+)?open\b"),
    (_L, r"\binvit(?:es|ed|ing)\s+(?:[\w-]+\s+){1,3}?to\s+(?:apply|nominate|submit)\b"),
    (_L, r"\blaunch(?:ed|es)\b|\blaunch\s+(?:of|ceremony)\b|\brolled\s+out\b"
         r"|\b(?:its|the)\s+launch\b"),
    (_L, r"(?:已|正式)?推出|(?:開始|開放|接受)申請"),
    (_L, r"\bpromulgated\b"),
    # earmarked: money set aside
    (_E, r"\bearmark\w*|\bset(?:s|ting)?\s+aside\b|\breserv(?:e|ed|es|ing)\b"),
    # not "inject" or "allocate": money put into a fund that exists sets nothing aside
    (_E, r"預留|撥出|撥款"),
    # opened
    (_O, r"\b(?:officially\s+|formally\s+)?opened\b|\bcommence[ds]?\s+operations?\b"),
    (_O, r"\b(?:came|come|comes)\s+into\s+operation\b|\b(?:began|begun|started)\s+operations?\b"),
    (_O, r"\b(?:officially|formally)\s+opens\b|\bopening\s+(?:ceremony|of)\b"),
    (_O, r"\bgrand\s+opening\b|\binaugurat\w+|\bcompletion\s+ceremony\b"),
    (_O, r"\b(?:began|begun|started|commenced)\s+production\b"),
    (_O, r"\b(?:is|are)\s+now\s+(?:open|operational|in\s+operation)\b"
         r"(?!\s+for\s+applications?)"),
    (_O, r"(?:正式|已)?(?:啟用|開幕|開業|投產)|投入(?:運作|服務|使用)|開始運作|落成典禮|"
         r"(?:已|經已)?落成"),
    # established
    (_S, r"\b(?:was|were|has\s+been|have\s+been|had\s+been)\s+"
         r"(?:set\s+up|established|formed|created)\b"),
    (_S, r"\b(?:has|have|had)\s+(?:also\s+|already\s+|recently\s+)?(?:set\s+up|established)\b"),
    # "The Government set up the BUD Fund in 2012": a bare "set up" with a year after its
    # object is a past event (the object is blanked out as \0 here)
    (_S, r"\bset\s+up\s+(?:the\s+|a\s+|an\s+)?\0+(?:\s*\([^)]{1,20}\))?\s+in\s+(?:\w+\s+)?\d{4}\b"),
    # not an adjective: "newly established streamlined procedures", "established players"
    (_S, r"(?<!well-)(?<!well\s)(?<!newly\s)\bestablished\b(?!\s+(?:[a-z]+\s+)?(?:procedures?"
         r"|practices?|mechanisms?|channels?|guidelines?|rules?|requirements?|criteria|principles?"
         r"|arrangements?|networks?|relationships?|systems?|companies|enterprises|players"
         r"|brands|firms|businesses|industries|track\s+record))"),
    (_S, r"(?:已|正式)?成立了?|已設立"),
    # existing
    (_X, r"\bboasts?\b|\bexisting\b|\bcurrently\s+(?:has|have|houses?)\b"),
    (_X, r"現有"),
    # closed
    (Status.CLOSED, r"\b(?:closed|ceased\s+operations?|terminated|discontinued)\b"),
    (Status.CLOSED, r"\b(?:wound\s+up|shut\s+down)\b"),
    (Status.CLOSED, r"(?:已)?(?:結束|停止運作|關閉|截止申請)"),
]

# Every pattern is either English or Chinese. The scanner only tries the English ones at
# the start of a word beginning with a letter some cue begins with, and the Chinese ones
# at a character some Chinese cue begins with: most positions fail at once.
_EN_FIRST = "abcdefghilopqrstuw"
_ZH_FIRST = ("將會計擬準籌明下稍年日正研探考興建施已動推開接預撥注啟投成現結停關截落歡支促倡爭"
             "打期可有經請")


def _is_chinese(pattern: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in pattern)


def _alternation(chinese: bool) -> str:
    return "|".join(f"(?P<c{i}>{p})" for i, (_, p) in enumerate(_CUES)
                    if _is_chinese(p) == chinese)


def _openers(pattern: str) -> frozenset[str] | None:
    """The characters (in lower case) that a match of ``pattern`` can open with, read from
    the standard library's own parse of it; None where that is not plain (a class such as
    ``\\w``, a pattern that can match nothing, or another Python's parser)."""
    try:
        parser: Any = importlib.import_module("re._parser")
        chars, nullable = _first(parser, parser.parse(pattern, re.IGNORECASE).data)
    except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
        return None
    return None if chars is None or nullable else frozenset(c.lower() for c in chars)


def _first(parser: Any, items: Any) -> tuple[set[str] | None, bool]:
    """(the characters ``items`` can open with or None for any, whether they can match
    nothing). Zero-width items (\\b, lookarounds) are skipped: only a superset is needed."""
    out: set[str] = set()
    chars: set[str] | None
    for op, arg in items:
        if op is parser.LITERAL:
            chars, nullable = {chr(arg)}, False
        elif op is parser.IN and all(o is parser.LITERAL for o, _ in arg):
            chars, nullable = {chr(a) for _, a in arg}, False
        elif op in (parser.AT, parser.ASSERT, parser.ASSERT_NOT):
            chars, nullable = set(), True
        elif op is parser.BRANCH:
            firsts = [_first(parser, branch.data) for branch in arg[1]]
            if any(chars is None for chars, _ in firsts):
                return None, False
            chars = set().union(*(c for c, _ in firsts if c is not None))
            nullable = any(n for _, n in firsts)
        elif op is parser.SUBPATTERN:
            chars, nullable = _first(parser, arg[-1].data)
        elif op in (parser.MAX_REPEAT, parser.MIN_REPEAT):
            chars, nullable = _first(parser, arg[2].data)
            nullable = nullable or arg[0] == 0
        else:
            return None, False
        if chars is None:
            return None, False
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _english_by_letter() -> tuple[str, dict[str, Status]]:
    """The English cues as one alternation per opening letter, in groups of letters: at a
    word start the engine tries the few cues that can open with its letter (after two
    lookaheads) instead of all of them, which halves the time of a sentence's scan. Within
    a letter the cues keep their order, so the same cue wins at each position. Returns the
    pattern and the status of each of its groups (a cue can be in several letters')."""
    status_of: dict[str, Status] = {}
    letters: list[tuple[str, str]] = []
    openers = [_openers(pattern) for _, pattern in _CUES]
    for letter in _EN_FIRST:
        branches = []
        for i, (status, pattern) in enumerate(_CUES):
            opens = openers[i]
            if not _is_chinese(pattern) and (opens is None or letter in opens):
                status_of[f"c{i}_{letter}"] = status
                branches.append(f"(?P<c{i}_{letter}>{pattern})")
        if branches:
            letters.append((letter, f"(?={letter})(?:{'|'.join(branches)})"))
    groups = ["(?=[" + "".join(letter for letter, _ in letters[k:k + 6]) + "])(?:"
              + "|".join(branch for _, branch in letters[k:k + 6]) + ")"
              for k in range(0, len(letters), 6)]
    # The first lookahead lets a Chinese character through one test instead of a group's.
    return f"(?<![A-Za-z])(?=[{_EN_FIRST}])(?:" + "|".join(groups) + ")", status_of


_EN_CUES, _STATUS_OF_EN_GROUP = _english_by_letter()
_REGEX = re.compile(
    rf"{_EN_CUES}|(?=[{_ZH_FIRST}])(?:{_alternation(True)})",
    re.IGNORECASE,
)
# Text with no Chinese needs only the English cues (most English pages).
_EN_REGEX = re.compile(_EN_CUES, re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_STATUS_OF_GROUP = {**{f"c{i}": status for i, (status, _) in enumerate(_CUES)},
                    **_STATUS_OF_EN_GROUP}


@dataclass(frozen=True, slots=True)
class StatusCue:
    status: Status
    cue: str  # the words as written, e.g. "will be set up"
    start: int
    end: int


# A measure listed in a plan opens with its verb: "set up a $10 billion New
# Industrialisation Acceleration Scheme – ...", "setting up a $10 billion I&T
# Industry-Oriented Fund", "設立100億元「創科產業引導基金」". Not "Set up in 2017, the Fund
# ...": a past participle takes no article.
_PLAN_ITEM = re.compile(
    r"\W{0,4}(?:\(?[0-9a-z]{1,3}[).]\s*)?(?P<cue>(?:set(?:ting)?\s+up|establish(?:ing)?"
    r"|launch(?:ing)?|introduc(?:e|ing)|creat(?:e|ing))\s+(?:a|an|the)\b"
    r"|(?:設立|成立|推出|籌建|建立))", re.IGNORECASE)


def find_status_cues(text: str) -> list[StatusCue]:
    """Every status cue in ``text``, in order, none overlapping."""
    cues = []
    item = _PLAN_ITEM.match(text)
    if item is not None:
        cues.append(StatusCue(Status.PLANNED, item.group("cue"), item.start("cue"),
                              item.end("cue")))
    for match in (_REGEX if _CJK.search(text) else _EN_REGEX).finditer(text):
        if item is not None and match.start() < item.end("cue"):
            continue
        group = match.lastgroup
        assert group is not None
        cues.append(StatusCue(_STATUS_OF_GROUP[group], match.group(), match.start(), match.end()))
    return cues


def find_status(text: str) -> StatusCue | None:
    """The first status cue of ``text`` (a sentence that names one thing)."""
    cues = find_status_cues(text)
    return cues[0] if cues else None


def nearest_cue(cues: list[StatusCue], start: int, end: int) -> StatusCue | None:
    """The cue closest to the span ``[start, end)`` (a name in the same sentence).

    Ties go to the cue before the name, as English and Chinese both tend to put the verb
    ("will set up", "將設立") ahead of what it acts on."""
    best: StatusCue | None = None
    best_key: tuple[int, int] | None = None
    for cue in cues:
        if cue.start >= start and cue.end <= end:
            continue  # inside the name itself, e.g. a cue word that is part of a title
        distance = start - cue.end if cue.end <= start else max(0, cue.start - end)
        key = (distance, 0 if cue.end <= start else 1)
        if best_key is None or key < best_key:
            best, best_key = cue, key
    return best
