"""Values that travel between the pipeline's stages.

Every stage takes and returns these frozen dataclasses; the database tables live in
``watcher.store.tables`` and never leave the store package. Keeping the boundary types
plain makes ``extract``, ``diff`` and ``rules`` pure functions that tests can call with
literals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FactKind(StrEnum):
    FUNDING = "funding"  # a fund, scheme or programme, usually with an amount
    FACILITY = "facility"  # a park, centre, institute, cluster, production line
    ORGANISATION = "organisation"  # an office or body set up to do something
    FIGURE = "figure"  # a survey figure or other statistic worth tracking


class Status(StrEnum):
    """Where a fund or facility stands, ordered roughly by how real it is."""

    CONTEMPLATED = "contemplated"  # "contemplating", "exploring", "研究"
    PLANNED = "planned"  # "will be set up", "plans to", "籌建", "將設立"
    EARMARKED = "earmarked"  # money set aside: "a fund of HK$10 billion has been earmarked"
    LAUNCHED = "launched"  # a scheme open for applications
    UNDER_CONSTRUCTION = "under_construction"  # "under construction", "興建中"
    ESTABLISHED = "established"  # an office or body "was established", "成立"
    OPENED = "opened"  # a facility "opened", "commenced operation", "啟用", "開幕"
    EXISTING = "existing"  # mentioned as already there, with no event
    CLOSED = "closed"  # a scheme closed or a facility shut


class ChangeType(StrEnum):
    NEW = "new"  # a fact the store has never seen (neither baseline nor observed)
    CHANGED = "changed"  # a known fact with a different amount, status or terms
    REMOVED = "removed"  # a fact gone from a page that used to state it
    # A thing the gazetteer knows, seen on a page for the first time with nothing it
    # announces: its state is recorded, and no rule fires (watcher.diff.changes says why).
    SEEN = "seen"


class AmountRole(StrEnum):
    """What an amount says about a fund. Only ``size`` is the fund's amount (``Fact.amount_hkd``);
    the rest travel beside it in ``Fact.amounts`` so that a cap, a grant or a project's cost
    never passes for the size of the fund."""

    SIZE = "size"  # the fund's or scheme's total: "a $10 billion fund", 預留100億元
    ADDED = "added"  # money put into an existing fund: "inject $3 billion", 注資
    CAP_PER_PROJECT = "cap_per_project"  # the most one project or company may get
    GRANT = "grant"  # what one approved project or company receives, or the sum approved
    PROJECT_COST = "project_cost"  # a project's whole cost or budget
    THRESHOLD = "threshold"  # an eligibility minimum: "minimum project cost of $100 million"
    PRIVATE_INVESTMENT = "private_investment"  # what companies put in
    OTHER = "other"  # any other amount said of the fund


# The roles that are a scheme's terms: a change of one is a "terms" change of the fund,
# kept as an attribute named ``<role>_hkd`` (``cap_per_project_hkd``, ``threshold_hkd``).
TERM_ROLES = (AmountRole.CAP_PER_PROJECT, AmountRole.THRESHOLD)
# The attributes a "terms" change is made of: the amounts above, how the cost is shared,
# and money to be added to the fund. A change of size or status is not one of them.
TERM_FIELDS = ("cap_per_project_hkd", "threshold_hkd", "matching_ratio", "government_share",
               "added_hkd")


class FactOrigin(StrEnum):
    BASELINE = "baseline"  # from db/baseline.yaml (the seed article)
    OBSERVED = "observed"  # read off a polled page


@dataclass(frozen=True, slots=True)
class Document:
    """One readable unit: a press release, a feed item, a table row, a scheme page."""

    url: str
    source: str  # the Source's name
    title: str
    text: str  # plain text, paragraphs separated by blank lines
    language: str = "en"  # "en" or "zh" (Traditional Chinese)
    published: datetime | None = None

    def published_or(self, fetched_at: datetime) -> datetime:
        """When the document was published (the page's date, else its feed item's), else
        when it was fetched: the time its facts count from (watcher.diff)."""
        return self.published if self.published is not None else fetched_at


@dataclass(frozen=True, slots=True)
class RoleAmount:
    """One amount a page ties to a fact, with the role it plays there."""

    role: AmountRole
    hkd: int
    text: str = ""  # as written: "around $200 million"
    qualifier: str = ""  # about | over | up_to | at_least | under; "" when exact
    previous_hkd: int | None = None  # the value a change replaced: "lowered from A to B" -> A
    cue: str = ""  # the words that decided the role, for `watcher extract --explain`
    # A past value with no present one beside it ("opened with an initial $200 million"):
    # said, but never the fund's size or terms now.
    earlier: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": str(self.role), "hkd": self.hkd, "text": self.text}
        if self.qualifier:
            out["qualifier"] = self.qualifier
        if self.previous_hkd is not None:
            out["previous_hkd"] = self.previous_hkd
        if self.earlier:
            out["earlier"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoleAmount:
        """The inverse of ``as_json`` (how the store keeps amounts); an unknown role, as
        a newer release might write, reads as ``other``."""
        try:
            role = AmountRole(data.get("role", "other"))
        except ValueError:
            role = AmountRole.OTHER
        previous = data.get("previous_hkd")
        return cls(role, int(data["hkd"]), str(data.get("text", "")),
                   str(data.get("qualifier", "")),
                   int(previous) if previous is not None else None,
                   earlier=bool(data.get("earlier", False)))


@dataclass(frozen=True, slots=True)
class Fact:
    """A claim read from a document, already resolved to a canonical key.

    ``key`` is a stable slug (``new-industrialisation-acceleration-scheme``) shared by the
    English and Chinese names of the same thing, so twins in two languages merge.
    """

    kind: FactKind
    key: str
    name: str  # canonical English name
    evidence: str  # the sentence the fact rests on, as written on the page
    amount_hkd: int | None = None  # the fund's size, and nothing else (see AmountRole)
    status: Status | None = None
    # A scheme's terms, compared between pages: (("matching_ratio", "1:2"),
    # ("cap_per_project_hkd", "15000000"), ("threshold_hkd", ...), ("government_share", ...))
    attributes: tuple[tuple[str, str], ...] = ()
    cue: str = ""  # why the extractor fired, for `watcher extract --explain`
    language: str = "en"
    # Every amount the page ties to the fact, the size included, each with its role.
    amounts: tuple[RoleAmount, ...] = ()
    # Named by a known name (the baseline or the gazetteer): the thing exists already, so
    # the first page that tells something of it changes it rather than announcing it.
    known: bool = False

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)


@dataclass(frozen=True, slots=True)
class KnownFact:
    """What the store currently believes about one key (the latest observation, or else
    the baseline)."""

    key: str
    kind: FactKind
    name: str
    origin: FactOrigin
    amount_hkd: int | None = None
    status: Status | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    # Every amount the latest pages tied to the fact, with its role (the size included).
    amounts: tuple[RoleAmount, ...] = ()
    # When the newest page that told something of the fact was published (for the current
    # state; None for the baseline and for pages read before this was kept). A page older
    # than this is history: it never moves the fact back.
    evidence_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """A difference worth telling someone about.

    ``before`` and ``after`` hold the compared fields (``amount_hkd``, ``status`` and
    attributes) as plain JSON-able values; ``before`` is empty for a new fact and ``after``
    empty for a removed one.
    """

    type: ChangeType
    fact_key: str
    kind: FactKind
    name: str
    evidence: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    # The fact's whole state after the change (amount_hkd, status, attributes), so an alert
    # about a status move can still say how much money is involved.
    current: dict[str, Any] = field(default_factory=dict)
    language: str = "en"
    # The amounts the page tied to the fact, each with its role, qualifier and old value.
    amounts: tuple[RoleAmount, ...] = ()
    # What the store believed before the change ({} when nothing): dismissing the change
    # puts it back.
    prior: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """Same change seen again (twin release, feed and page) -> same identity."""
        after = ",".join(f"{k}={self.after[k]}" for k in sorted(self.after))
        return f"{self.type}:{self.fact_key}:{after}"


@dataclass(frozen=True, slots=True)
class Alert:
    """A change that a rule decided someone should hear about."""

    rule_id: str
    change_identity: str
    subject: str
    body: str
    tags: tuple[str, ...]  # target tags the rule routes to; () means every target
    dedup_key: str
    severity: str = "info"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one HTTP request, success or not."""

    url: str
    status: int | None  # None when no response arrived
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None  # a one-line description when the fetch failed
    not_modified: bool = False  # 304, or an unchanged body the fetcher recognised
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed or one link of a list page, before its page is fetched."""

    url: str
    title: str = ""
    summary: str = ""  # plain text of the item's description
    published: datetime | None = None
    language: str | None = None
