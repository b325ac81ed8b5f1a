"""Which name a status cue speaks of, when a sentence holds several names and cues.

English and Chinese put the verb before what it acts on ("will set up a second AMC",
"將設立…中心") or after the thing it tells about ("the centre was opened", "中心已啟用").
So a cue *before* a name is that name's unless another name stands between them (other
than in a list: "a second AMC, the HKMRDI and the MEC" share "to establish"); a cue *after*
a name is that name's unless:

- the cue has an object of its own: a name right after it ("HKSTP plans to build a Quantum
  Centre"), or an article or a Chinese object ("which will set up a vetting committee",
  "會成立由…組成的委員會"): the name is the subject, not what is set up;
- another name stands between them (the nearer one is the cue's subject);
- a new clause starts between them ("OASES continues to reach out to enterprises, and many
  of those it attracted have set up ...").

A name framed as a place, a parent or an agent ("in Tseung Kwan O InnoPark", "under the
ITIB", "set up by Cyberport and the HKSTP") takes no cue at all: see :func:`framed`.
"""

from __future__ import annotations

import re

from watcher.extract.names import Name
from watcher.extract.status import StatusCue, nearest_cue
from watcher.models import FactKind, Status

ALLOWED: dict[FactKind, frozenset[Status]] = {
    FactKind.FUNDING: frozenset(Status) - {Status.UNDER_CONSTRUCTION, Status.OPENED},
    FactKind.FACILITY: frozenset(Status) - {Status.EARMARKED, Status.LAUNCHED},
    FactKind.ORGANISATION: frozenset({Status.CONTEMPLATED, Status.PLANNED, Status.ESTABLISHED,
                                      Status.EXISTING, Status.CLOSED}),
    FactKind.FIGURE: frozenset(),
}
_FRAME = re.compile(
    r"(?:\b(?:in|at|within|inside|located\s+in|situated\s+in|near|from|under|by)\s+(?:the\s+)?"
    r"|位於|在|於|由|獲)$",  # "獲X資助的課程": courses that X funds
    re.IGNORECASE)
_MODIFIES = re.compile(
    r"\s*(?:website|web\s+page|courses?|secretariat|hotline|facilities|site)\b"
    r"|課程|網站|網頁|秘書處|設施",
    re.IGNORECASE)
_OWNS = re.compile(r"\s+(?:chair\w*|director|chief|staff|tenants?|board|spokes\w+|head)\b",
                   re.IGNORECASE)
_LIST_GAP = re.compile(
    # a separator is needed: "元朗創新園微電子中心" is a place and a centre, not a list
    r"(?:\s*[(（][^()（）]{1,30}[)）])?\s*(?:[,，、]\s*(?:(?:and|or|as\s+well\s+as|及|和|與|以及)\s*)?"
    r"|(?:and|or|as\s+well\s+as)\s+|(?:及|和|與|以及)\s*)"
    r"(?:(?:the|a|an|its|their|multiple|several|many|various|two|three|four|five)\s+)?",
    re.IGNORECASE)
_CLAUSE_BREAK = re.compile(
    r"[;；]|,\s*(?:and|but|while|whereas)\b|\band\s+(?:many|some|most|all|those|these|others?)\b",
    re.IGNORECASE)
# "... companies that plan to build": the cue's subject is the noun before "that"
_RELATIVE = re.compile(r"\b(?:that|who)\s+$", re.IGNORECASE)
_OWN_RELATIVE = re.compile(r"\s*,?\s*(?:that|who|which)\s+", re.IGNORECASE)
_AGENT = re.compile(r"由|\bby\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[,，;；:：]")
_PASSIVE = re.compile(r"\b(?:be|been|being|was|were|is|are)\b", re.IGNORECASE)
_EN_OBJECT = re.compile(
    r"\s+(?:a|an|the|its|their|his|her|new|more|further|several|two|three|four|five|\d)\b",
    re.IGNORECASE)
_ZH_TRANSITIVE = re.compile(r"(?:設立|成立|推出|興建|建立|開設|設置|籌建|建造|發展)$")
_ZH_NOT_OBJECT = "了的，。；、：中後時前及和與至以"  # 以來, 以後: "since"


def framed(text: str, names: list[Name]) -> set[int]:
    """The ids of the names (of one sentence) written as a place, parent or agent,
    directly ("in the Science Park") or as the next item of such a list ("by Cyberport and
    the HKSTP"), or that only qualify another noun ("the ITF website", "培訓計劃課程")."""
    out: set[int] = set()
    previous: Name | None = None
    for name in sorted(names, key=lambda n: (n.end, n.start)):
        if (_FRAME.search(text, max(0, name.start - 20), name.start)
                or _MODIFIES.match(text, name.end)
                # "Cyberport's chairman said": the park is no subject of the sentence, nor
                # is HKSTP in "HKSTP's Corporate Venture Fund was created"
                or (name.text.endswith(("'s", "’s")) and (
                    _OWNS.match(text, name.end) or any(
                        0 <= other.start - name.end <= 2 for other in names)))
                or (previous is not None and id(previous) in out
                    and previous.end < name.start
                    and _LIST_GAP.fullmatch(text, previous.end, name.start))):
            out.add(id(name))
        if previous is None or name.end > previous.end:
            previous = name
    return out


def _takes_object(text: str, cue: StatusCue, others: list[Name]) -> bool:
    for other in others:
        between = text[cue.end:other.start]
        if cue.end <= other.start <= cue.end + 40 and not re.search(
                r"\bby\s+(?:the\s+)?$", between, re.IGNORECASE) and not _CLAUSE_END.search(between):
            return True
    if cue.cue.isascii():
        end = cue.end
        if cue.cue.lower().endswith(" to"):  # "plans to build a ...": the object follows
            verb = re.match(r"\s+\w+", text[end:])
            end += verb.end() if verb else 0
        return not _PASSIVE.search(cue.cue) and bool(_EN_OBJECT.match(text, end))
    following = text[cue.end:cue.end + 1]
    # "數碼港已成立Web3基地": an object may open with Latin letters or digits too
    return bool(_ZH_TRANSITIVE.search(cue.cue)) and bool(following) and (
        "\u4e00" <= following <= "\u9fff" or following.isascii() and following.isalnum()
    ) and following not in _ZH_NOT_OBJECT


def _listed(text: str, chain: list[Name], name: Name) -> bool:
    """Whether the names in ``chain`` and then ``name`` are written as one list."""
    ends = [n.end for n in chain]
    starts = [n.start for n in chain[1:]] + [name.start]
    return all(end <= start and _LIST_GAP.fullmatch(text, end, start)
               for end, start in zip(ends, starts, strict=True))


# The same event in the words each kind of thing takes: a fund "established" (成立) has
# been launched, an office that "commenced operation" has been established. (A facility
# "launched" is only announced: "the launch of the MARS Centre" that opens next year.)
_AS_KIND: dict[FactKind, dict[Status, Status]] = {
    FactKind.FUNDING: {Status.ESTABLISHED: Status.LAUNCHED},
    FactKind.ORGANISATION: {Status.OPENED: Status.ESTABLISHED,
                            Status.LAUNCHED: Status.ESTABLISHED},
    FactKind.FACILITY: {},
    FactKind.FIGURE: {},
}
# Another action between a verb and a name: "launches pilot scheme and enhances NIAS" does
# not launch the NIAS.
_OTHER_ACTION = re.compile(
    r"\b(?:enhanc|improv|extend|expand|revis|review|updat|adjust|lower|rais|refin|relax"
    r"|optimi[sz]|streamlin|strengthen|regularis|increas|reduc|modif|continu|renew)\w*"
    r"|優化|調整|放寬|延長|擴展|擴大|下調|調低|提高|加強|改善|檢討|更新|修訂|增加|延續",
    re.IGNORECASE)
# The name's own verb between it and a later cue makes the name the subject of something
# else: "HKPC welcomes the measures proposed", "工總歡迎政府成立…".
_OWN_VERB = re.compile(
    r"\b(?:welcom|support|said|says|announc|note[sd]?\b|express|believ|urg|call|hope|look"
    r"|will\s+continue|continues)\w*|表示|歡迎|支持|指出|認為|期望|希望|促請|呼籲|宣布|公布",
    re.IGNORECASE)
# How far after an English verb its object may begin: "launched the New Industrialisation
# Acceleration Scheme" is near; a name 60 characters on is another noun's neighbour.
_OBJECT_REACH = 60
# "existing" and 現有 speak of the noun right after them only: "為現有生產線引進技術" says
# nothing about the scheme that pays for it.
_ADJACENT_ONLY = frozenset({"existing", "現有"})


# What makes an office "established" among the opening words: it started work; an opening
# ceremony (開幕) is an event's, not the body's.
_STARTS_WORK = re.compile(r"commence|operation|運作|投入服務", re.IGNORECASE)


def _as_kind(cue: StatusCue, kind: FactKind) -> StatusCue | None:
    """``cue`` in the words ``kind`` takes, or None when it says nothing of such a thing."""
    status = _AS_KIND[kind].get(cue.status)
    if status is Status.ESTABLISHED and cue.status is Status.OPENED \
            and not _STARTS_WORK.search(cue.cue):
        return None
    return cue if status is None else StatusCue(status, cue.cue, cue.start, cue.end)


def status_cue(text: str, name: Name, names: list[Name], cues: list[StatusCue],
               framed_ids: set[int]) -> StatusCue | None:
    """The cue that speaks of ``name`` (see the module docstring), or None; ``framed_ids``
    is :func:`framed` of ``names``."""
    others = [o for o in names if o is not name and o.key != name.key
              and id(o) not in framed_ids]
    usable = []
    for cue in (_as_kind(c, name.kind) for c in cues):
        if cue is None or cue.status not in ALLOWED[name.kind]:
            continue
        if cue.cue.lower() in _ADJACENT_ONLY and not (
                cue.end <= name.start and text[cue.end:name.start].strip() in ("", "的")):
            continue
        if cue.start >= name.end:
            gap = text[name.end:cue.start]
            if cue.status is Status.EARMARKED and _AGENT.search(gap):
                continue  # "計劃由創新及科技基金撥款": funded by the ITF, no money set aside
            between = sorted((o for o in others if name.end <= o.start < cue.start),
                             key=lambda o: o.start)
            if between and _listed(text, [name, *between[:-1]], between[-1]):
                between = []  # "the X Centre and the Y Centre will be set up": both
            if (between
                    or _CLAUSE_BREAK.search(gap)
                    or _OWN_VERB.search(gap)
                    or (_RELATIVE.search(gap) and not _OWN_RELATIVE.fullmatch(gap))
                    or _takes_object(text, cue, others)):
                continue
        elif cue.end <= name.start:
            # any name between counts here, a place too: "was set up with funding from the
            # ITF's Support Programme" is the Laboratory's setting up, not the Programme's
            between = sorted((o for o in names if o is not name and o.key != name.key
                              and cue.end <= o.start and o.end <= name.start),
                             key=lambda o: o.start)
            if between and not _listed(text, between, name):
                continue
            if _OTHER_ACTION.search(text, cue.end, name.start):
                continue
            if cue.cue.isascii() and name.start - cue.end > _OBJECT_REACH and not between:
                # "has launched the four-in-one integrated services to provide ... funding
                # schemes (including TVP)": the verb's object is another noun, far before
                continue
        usable.append(cue)
    return nearest_cue(usable, name.start, name.end)
