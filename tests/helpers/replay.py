"""The alert replay: real GIA releases served as a feed, and every alert judged against
the pages' labels (tests/e2e/test_replay.py runs it with the daemon).

    pages = replay_pages()                    # the `test` part's dated GIA releases
    serve(server, pages)                      # one RSS feed + pages in the GIA shape
    verdict = judge(pages, alerts, changes)   # precision, recall, kinds of mistake

How an alert is judged. The labels are read in publication order from the baseline
(db/baseline.yaml): the state of each fact as of a page is the latest size the labels gave
it up to that page and the furthest status. An alert is **right** when the page it cites
(the newest page of its change) lists its fact (same key, or the gazetteer's key for the
label's name), and each value it claims is that state as of the page: the size, the
status, a term's amount (a cap, a threshold, money to be added: an amount of that role in
the page's label) - and when the change is real against the baseline (a new fact the
baseline does not hold, a size other than the baseline's, a status further along).

An announced fund or facility (an amount or an event in a label) that the baseline does
not hold, or a status the labels move forward, is **expected** to alert in the replay;
unalerted, it is a miss. As the differ decides (watcher.diff.changes), a thing the
gazetteer already knows is news at its first sighting only when a page announces it (a
plan or a launch, money to be added).

Only figures and kinds of mistake are printed: the pages are the `test` part, which
extraction must not be tuned on (watcher.eval.labels.split_part).
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.helpers.http_server import LocalServer, Reply
from watcher.diff.changes import ANNOUNCING, STATUS_RANK
from watcher.eval.labels import Case, LabelFact, load_cases
from watcher.eval.run import with_known_keys
from watcher.extract import Gazetteer
from watcher.extract.baseline import load_baseline
from watcher.extract.spelling import slugify
from watcher.models import FactKind, Status

REPO = Path(__file__).resolve().parents[2]
HK = timedelta(hours=8)
NOON_HK = time(12, 0)
# One feed of both languages, so that the one poll reads every release in publication
# order (two feeds are two polls, and the second one's older pages would be history).
FEED = "/gia/rss/general.xml"
_WEEKDAYS_ZH = "一二三四五六日"
_TERM_ROLES = {"cap_per_project_hkd": "cap_per_project", "threshold_hkd": "threshold",
               "added_hkd": "added"}
_ANNOUNCED_KINDS = (FactKind.FUNDING, FactKind.FACILITY)


@dataclass(frozen=True)
class ReplayPage:
    case: Case
    path: str  # where the local server serves it
    published: datetime
    title: str
    body: str


def _is_gia(url: str) -> bool:
    return "info.gov.hk/gia/general/" in url


def gazetteer() -> Gazetteer:
    return Gazetteer.from_baseline(load_baseline(REPO / "db" / "baseline.yaml"))


def replay_pages(part: str = "test") -> list[ReplayPage]:
    """The part's GIA releases (English and Chinese) that have a publication date, in
    publication order, each with the gazetteer's keys for its labels' names."""
    known = gazetteer()
    cases = [_with_name_keys(with_known_keys(c, known))
             for c in load_cases(REPO / "tests" / "eval" / "real")
             if c.part == part and c.published is not None and _is_gia(c.url)]
    pages = []
    for case in sorted(cases, key=lambda c: (c.published, c.url)):
        assert case.published is not None
        title, _, body = case.page_path.read_text(encoding="utf-8").partition("\n")
        path = urlsplit(case.url).path
        path = path[path.index("/gia/general/"):]
        if any(p.path == path for p in pages):  # two copies of one address (a mirror)
            path = path.replace(".htm", f"-{len(pages)}.htm")
        published = datetime.combine(case.published, NOON_HK).replace(tzinfo=UTC) - HK
        pages.append(ReplayPage(case, path, published, title.strip(), body.strip()))
    return pages


def _with_name_keys(case: Case) -> Case:
    """Each label also answers to the slug of its own English name: the key watcher gives
    a name it does not know (a label's key may be spelt otherwise than its name)."""
    facts = []
    for fact in case.facts:
        slug = slugify(fact.name) if fact.name else ""
        if slug and not fact.names(slug):
            fact = fact.model_copy(update={"also": (*fact.also, slug)})
        facts.append(fact)
    return replace(case, facts=tuple(facts))


def _footer(page: ReplayPage) -> str:
    day: date = page.published.date()
    if page.case.language == "zh":
        return (f"完<br>{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS_ZH[day.weekday()]}）"
                "<br>香港時間12時00分")
    return f"Ends/{day:%A}, {day:%B} {day.day}, {day.year}<br>Issued at HKT 12:00"


def page_html(page: ReplayPage) -> bytes:
    """A release in the shape of an info.gov.hk press release page."""
    body = "<br>\n".join(html.escape(line.strip()) for line in page.body.splitlines())
    title = html.escape(page.title)
    return (f'<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; '
            f'charset=utf-8"><title>{title}</title></head><body><div id="contentBody" '
            f'class="row"><div class="rel"><div class="fontSize1" id="PRHeadline"><span '
            f'id="PRHeadlineSpan">{title}</span></div></div><span id="pressrelease" '
            f'class="fontSize1">{body}<div> </div><div class="mB15 f15">{_footer(page)}'
            '</div><div style="margin-top:10px;">NNNN</div></span></div></body></html>'
            ).encode()


def feed_xml(base: str, pages: list[ReplayPage]) -> bytes:
    """An RSS 2.0 feed of ``pages``, newest first, as GIA's feeds list them."""
    items = "".join(
        f"<item><title>{html.escape(p.title)}</title><link>{base}{p.path}</link>"
        f"<description>{html.escape(p.body[:200])}</description>"
        f"<pubDate>{format_datetime(p.published.astimezone(UTC))}</pubDate></item>"
        for p in sorted(pages, key=lambda p: p.published, reverse=True))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Press Releases</title><link>{base}/gia/general/today.htm</link>"
            f"<description>HKSAR Government Press Releases</description>{items}"
            "</channel></rss>").encode()


def serve(server: LocalServer, pages: list[ReplayPage]) -> None:
    server.routes[FEED] = Reply(200, {"Content-Type": "application/rss+xml"},
                                feed_xml(server.base_url, pages))
    for page in pages:
        server.routes[page.path] = Reply(200, {"Content-Type": "text/html; charset=utf-8"},
                                         page_html(page))


# --- judging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One alert as the outbox holds it, with the change it is about."""

    rule: str
    subject: str
    change_type: str
    kind: str
    key: str
    claimed: dict[str, Any]  # the change's ``after``: what the alert says
    path: str  # the page the change cites (its newest)


@dataclass(frozen=True)
class SizeChange:
    """A stored change of a fact's size, with every page that moved it."""

    key: str
    paths: tuple[str, ...]


@dataclass
class Verdict:
    alerts: int = 0
    right: int = 0
    expected: int = 0
    alerted: int = 0
    mistakes: Counter[str] = field(default_factory=Counter)  # kind of wrong alert -> count
    misses: Counter[str] = field(default_factory=Counter)  # kind of missed news -> count
    sizes_unstated: int = 0  # size changes on pages that state no size

    @property
    def precision(self) -> float:
        return self.right / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float:
        return self.alerted / self.expected if self.expected else 1.0

    def report(self) -> str:
        lines = [f"alert precision {self.precision:.3f} ({self.right}/{self.alerts} right), "
                 f"recall {self.recall:.3f} ({self.alerted}/{self.expected} announced "
                 f"new funds, facilities and status moves alerted), size changes without "
                 f"a stated size: {self.sizes_unstated}"]
        lines += [f"  wrong alert: {kind}: {n}" for kind, n in sorted(self.mistakes.items())]
        lines += [f"  missed: {kind}: {n}" for kind, n in sorted(self.misses.items())]
        return "\n".join(lines)


@dataclass
class _State:
    amount: int | None = None
    status: Status | None = None


def _labels(fact_key: str, page: ReplayPage) -> LabelFact | None:
    return next((f for f in page.case.facts if f.names(fact_key)), None)


def _forward(old: Status | None, new: Status | None) -> bool:
    return new is not None and (old is None or STATUS_RANK[new] > STATUS_RANK[old])


class Labels:
    """The labels read in publication order, over the baseline."""

    def __init__(self, pages: list[ReplayPage], known: Gazetteer) -> None:
        self.pages = pages
        self.known = known
        baseline = load_baseline(REPO / "db" / "baseline.yaml")
        self.baseline = {e.key: _State(e.amount_hkd, e.status) for e in baseline.entries}
        self.after: dict[str, dict[str, _State]] = {}  # page path -> key -> state after it
        state = {k: _State(s.amount, s.status) for k, s in self.baseline.items()}
        for page in pages:
            for fact in page.case.facts:
                now = state.setdefault(self.key(fact), _State())
                if fact.amount_hkd is not None:
                    now.amount = fact.amount_hkd
                if _forward(now.status, fact.status):
                    now.status = fact.status
            self.after[page.path] = {k: _State(s.amount, s.status) for k, s in state.items()}
        self.final = state

    def key(self, fact: LabelFact) -> str:
        """One key per thing, whichever page labels it: the baseline's or the gazetteer's
        key among its names, else its own."""
        return next((k for k in (fact.key, *fact.also)
                     if k in self.baseline or self.known.get(k) is not None), fact.key)

    def state_as_of(self, path: str, fact: LabelFact) -> _State:
        return self.after[path].get(self.key(fact)) or _State()

    def base(self, fact: LabelFact) -> _State | None:
        return self.baseline.get(self.key(fact))

    def is_known(self, fact: LabelFact) -> bool:
        return self.known.get(self.key(fact)) is not None


def _judge_alert(alert: Alert, page: ReplayPage, labels: Labels) -> str | None:
    """None when the alert is right, else the kind of mistake."""
    fact = _labels(alert.key, page)
    if fact is None:
        return "a fact the page does not state"
    if str(fact.kind) != alert.kind:
        return "the wrong kind of thing"
    state, base = labels.state_as_of(page.path, fact), labels.base(fact)
    if alert.change_type == "new" and base is not None:
        return "'new' for a thing the baseline holds"
    claims = dict(alert.claimed)
    if "amount_hkd" in claims:
        if claims.pop("amount_hkd") != state.amount:
            return "the wrong size"
        if base is not None and base.amount == state.amount:
            return "no real change of size"
    if "status" in claims:
        if claims.pop("status") != (str(state.status) if state.status else None):
            return "the wrong status"
        if base is not None and not _forward(base.status, state.status):
            return "no real status move"
    for name, value in claims.items():
        role = _TERM_ROLES.get(name)
        if role is None:
            continue  # a ratio or a share: the labels do not record them
        if not any(a.role == role and str(a.hkd) == str(value) for a in fact.amounts):
            return f"the wrong {role.replace('_', ' ')}"
    return None


def _expected(labels: Labels) -> dict[str, str]:
    """Key -> the kind of news the replay must alert, walking the labels in publication
    order as the differ walks the pages: a thing the baseline does not hold is news when a
    page first gives it an amount or an event (a thing the gazetteer knows: only when that
    is a plan or a launch, or money to be added); after that, and for the baseline's
    things, a status moving forward is news."""
    expected: dict[str, str] = {}
    state: dict[str, Status | None] = {k: s.status for k, s in labels.baseline.items()}
    for page in labels.pages:
        for fact in page.case.facts:
            key = labels.key(fact)
            if fact.kind not in _ANNOUNCED_KINDS:
                continue
            if key not in state:
                substance = fact.amount_hkd is not None or (
                    fact.status is not None and fact.status is not Status.EXISTING)
                if labels.is_known(fact):
                    news = fact.status in ANNOUNCING or any(a.role == "added"
                                                            for a in fact.amounts)
                else:
                    news = substance
                if news:
                    expected.setdefault(key, f"a new {fact.kind}")
                if substance or news:
                    state[key] = fact.status
            elif _forward(state[key], fact.status):
                state[key] = fact.status
                expected.setdefault(key, f"a status move of a {fact.kind}")
    return expected


def judge(pages: list[ReplayPage], alerts: list[Alert],
          size_changes: list[SizeChange]) -> Verdict:
    labels = Labels(pages, gazetteer())
    by_path = {p.path: p for p in pages}
    verdict = Verdict(alerts=len(alerts))
    alerted: set[str] = set()
    for alert in alerts:
        page = by_path.get(alert.path)
        mistake = "a page not in the replay" if page is None else _judge_alert(
            alert, page, labels)
        if mistake is None:
            verdict.right += 1
        else:
            verdict.mistakes[mistake] += 1
        if page is not None and (fact := _labels(alert.key, page)) is not None:
            alerted.add(labels.key(fact))
    expected = _expected(labels)
    verdict.expected = len(expected)
    for key, kind in expected.items():
        if key in alerted:
            verdict.alerted += 1
        else:
            verdict.misses[kind] += 1
    for change in size_changes:
        stated = [f for p in change.paths if p in by_path
                  if (f := _labels(change.key, by_path[p])) is not None
                  and f.amount_hkd is not None]
        if not stated:
            verdict.sizes_unstated += 1
    return verdict
