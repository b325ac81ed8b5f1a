"""Pure: (what is known, what a document says now) -> the changes worth reporting.

Two comparisons, in this order:

1. Against the same page's previous version. A page re-read with the same facts is not
   news, even when another page has since moved the fact on (an old release re-edited
   for a typo must not "change" a fund back to its old amount).
2. Against the current state of each key (the latest change, else the baseline). A
   different amount, a forward status move or a changed term is ``changed``.

Time: a document counts from when it was published (``Document.published_or``). A page
older than the newest page that told something of a fact (``KnownFact.evidence_at``) is
history: it is stored, but it never moves the fact, so pages read out of order cannot flip
a fact back and forth (watcher.diff.fold orders a poll's pages and folds each fact's
changes into one).

Keys never seen, the choice made here:

- an **unknown** name (not in the baseline nor the gazetteer) is ``new`` when the page
  says something of it (an amount or an event; a bare mention of a body is not news);
- a **known** name (``Fact.known``: the gazetteer knows the thing, so it exists already)
  that the store has never seen is *not* news for existing. Its first observed state is
  recorded quietly as ``seen`` (kept in the log, no rule fires), unless the page
  announces something about it: a launch or a plan (status contemplated, planned,
  earmarked, launched), money to be added (``added_hkd``), or terms stated as changed
  ("the cap is raised from $15 million to $30 million"). Then it is ``changed``, from
  nothing, in those fields only, and alerts like any change of a known thing. The
  reason: the gazetteer names a hundred funds and places that have existed for years; the
  first release that mentions the ITF in passing would otherwise announce "the ITF:
  launched" as if it were news.

Dismissed claims (``watcher dismiss``) are taken out of what a page says before anything
is compared, so the same wrong value never alerts again, from any page.

Keys the previous version of a page stated and the new version no longer does are
``removed`` (a scheme page dropping a programme).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from watcher.models import (
    AmountRole,
    Change,
    ChangeType,
    Fact,
    FactOrigin,
    KnownFact,
    RoleAmount,
    Status,
)

# How far along a fund or facility is. A status only "changes" when it moves forward:
# an older page that still says "planned" about an opened centre is history, not news.
STATUS_RANK: dict[Status, int] = {
    Status.EXISTING: 0,  # a bare mention carries no event at all
    Status.CONTEMPLATED: 1,
    Status.PLANNED: 2,
    Status.EARMARKED: 3,
    Status.LAUNCHED: 4,
    Status.UNDER_CONSTRUCTION: 4,
    Status.ESTABLISHED: 5,
    Status.OPENED: 5,
    Status.CLOSED: 6,
}

# The statuses that announce a known thing the store meets for the first time (see the
# module docstring); an opened centre or an existing fund is only being mentioned.
ANNOUNCING = frozenset({Status.CONTEMPLATED, Status.PLANNED, Status.EARMARKED,
                        Status.LAUNCHED})

# The role whose "from A to B" gives an amount field its old value, as the page states it.
_FIELD_ROLES = {"amount_hkd": AmountRole.SIZE,
                "cap_per_project_hkd": AmountRole.CAP_PER_PROJECT,
                "threshold_hkd": AmountRole.THRESHOLD}

Claim = tuple[str, str]  # (field, value as text): what a dismissed change claimed


def claims(values: Mapping[str, Any]) -> set[Claim]:
    """The claims a change's ``after`` makes, in the form ``dismissed`` takes."""
    return {(name, str(value)) for name, value in values.items() if value is not None}


def fact_state(fact: Fact | KnownFact) -> dict[str, Any]:
    """The comparable, JSON-able state of a fact."""
    state: dict[str, Any] = {}
    if fact.amount_hkd is not None:
        state["amount_hkd"] = fact.amount_hkd
    if fact.status is not None:
        state["status"] = str(fact.status)
    for name, value in fact.attributes:
        state[name] = value
    return state


def aware(moment: datetime) -> datetime:
    """A time in UTC; a naive one is taken as UTC (SQLite hands them back so). UTC, not
    the page's own zone: SQLite keeps a time's wall clock and drops its zone."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_older(published: datetime | None, known: KnownFact | None) -> bool:
    """Whether a page published at ``published`` is older than what ``known`` rests on."""
    if published is None or known is None or known.evidence_at is None:
        return False
    return aware(published) < aware(known.evidence_at)


def without_claims(fact: Fact, dismissed: Collection[Claim]) -> Fact:
    """``fact`` without the values a person dismissed as wrong for its key."""
    if not dismissed:
        return fact
    amount = fact.amount_hkd
    if amount is not None and ("amount_hkd", str(amount)) in dismissed:
        amount = None
    status = fact.status
    if status is not None and ("status", str(status)) in dismissed:
        status = None
    attributes = tuple((n, v) for n, v in fact.attributes if (n, str(v)) not in dismissed)
    amounts = tuple(a for a in fact.amounts if not (
        a.role is AmountRole.SIZE and amount is None and fact.amount_hkd == a.hkd))
    return replace(fact, amount_hkd=amount, status=status, attributes=attributes,
                   amounts=amounts)


def merge_amounts(old: Iterable[RoleAmount], new: Iterable[RoleAmount]
                  ) -> tuple[RoleAmount, ...]:
    """A fact's amounts once a newer page is taken in: the roles the page states are its
    values now; the roles it does not state keep their older values."""
    new = tuple(new)
    stated = {a.role for a in new}
    return tuple(a for a in old if a.role not in stated) + new


def _status_moves_forward(old: Status | None, new: Status | None) -> bool:
    if new is None or new == old:
        return False
    if old is None:
        return new != Status.EXISTING
    return STATUS_RANK[new] > STATUS_RANK[old]


def _has_substance(fact: Fact) -> bool:
    """A fact worth announcing as new: it carries an amount or an event (a status other
    than a bare mention)."""
    return fact.amount_hkd is not None or (
        fact.status is not None and fact.status != Status.EXISTING
    )


def tells_something(fact: Fact) -> bool:
    """A fact that says something of its thing: an amount, an event or a term. Only such
    a page is evidence of the fact's state (``KnownFact.evidence_at``)."""
    return _has_substance(fact) or bool(fact.attributes)


def _stated_previous(fact: Fact, name: str) -> int | None:
    """The old value the page itself gives for an amount field ("raised from A to B")."""
    role = _FIELD_ROLES.get(name)
    return next((a.previous_hkd for a in fact.amounts
                 if a.role is role and a.previous_hkd is not None and not a.earlier), None)


def compare(fact: Fact, known: KnownFact) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields where ``fact`` tells something new about ``known``: (before, after).
    Where the store knows no value, ``before`` holds the old value the page states, if
    it states one."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if fact.amount_hkd is not None and fact.amount_hkd != known.amount_hkd:
        before["amount_hkd"] = known.amount_hkd
        after["amount_hkd"] = fact.amount_hkd
    if _status_moves_forward(known.status, fact.status):
        before["status"] = str(known.status) if known.status else None
        after["status"] = str(fact.status)
    old_attributes = dict(known.attributes)
    for name, value in fact.attributes:
        if old_attributes.get(name) != value:
            before[name] = old_attributes.get(name)
            after[name] = value
    for name in after:
        if before[name] is None and name in _FIELD_ROLES:
            stated = _stated_previous(fact, name)
            if stated is not None:
                before[name] = str(stated) if name != "amount_hkd" else stated
    return before, after


def merged_state(fact: Fact, known: KnownFact | None) -> dict[str, Any]:
    """The key's whole state once ``fact`` is taken into account."""
    state = fact_state(known) if known else {}
    state.update(fact_state(fact))
    if known and known.status and not _status_moves_forward(known.status, fact.status):
        state["status"] = str(known.status)  # keep the further-along status already known
    return state


def _announced(fact: Fact) -> set[str]:
    """The fields in which a page announces something about a known thing it is the
    first to mention (see the module docstring)."""
    fields = set()
    if fact.status in ANNOUNCING:
        fields.add("status")
    for name, _ in fact.attributes:
        if name == "added_hkd" or (name in _FIELD_ROLES
                                   and _stated_previous(fact, name) is not None):
            fields.add(name)
    return fields


def _first_sighting(fact: Fact) -> Change | None:
    """A known thing the store has never seen: ``seen``, or ``changed`` from nothing in
    what the page announces; None when the page tells nothing of it."""
    if not tells_something(fact):
        return None
    state = fact_state(fact)
    announced = _announced(fact)
    if not announced:
        return Change(type=ChangeType.SEEN, fact_key=fact.key, kind=fact.kind, name=fact.name,
                      evidence=fact.evidence, after=state, current=state,
                      language=fact.language, amounts=fact.amounts)
    nothing = KnownFact(fact.key, fact.kind, fact.name, FactOrigin.OBSERVED)
    before, after = compare(fact, nothing)
    keep = [name for name in after if name in announced]
    return Change(type=ChangeType.CHANGED, fact_key=fact.key, kind=fact.kind, name=fact.name,
                  evidence=fact.evidence, before={k: before[k] for k in keep},
                  after={k: after[k] for k in keep}, current=state, language=fact.language,
                  amounts=fact.amounts)


def diff(
    observed: Iterable[Fact],
    *,
    current: Mapping[str, KnownFact],
    previous_on_page: Mapping[str, KnownFact] | None = None,
    published: datetime | None = None,
    dismissed: Mapping[str, Collection[Claim]] | None = None,
) -> list[Change]:
    """Changes that ``observed`` (one document's facts) brings.

    ``current`` maps keys to the store's present belief; ``previous_on_page`` holds the
    facts of this page's previous version, or ``None`` when the page is new;
    ``published`` is when the document was published (None: it counts as newest);
    ``dismissed`` maps keys to the claims people dismissed.
    """
    changes: list[Change] = []
    seen: set[str] = set()
    for fact in observed:
        seen.add(fact.key)
        fact = without_claims(fact, (dismissed or {}).get(fact.key, ()))
        if previous_on_page is not None and fact.key in previous_on_page:
            _, after_here = compare(fact, previous_on_page[fact.key])
            if not after_here:
                continue  # the page says what it said before
        known = current.get(fact.key)
        if is_older(published, known):
            continue  # history: a newer page has told of this fact since
        if known is None and fact.known:
            first = _first_sighting(fact)
            if first is not None:
                changes.append(first)
            continue
        if known is None:
            if not _has_substance(fact):
                continue  # "HKSTP said..." names a body; it announces nothing about it
            changes.append(
                Change(
                    type=ChangeType.NEW,
                    fact_key=fact.key,
                    kind=fact.kind,
                    name=fact.name,
                    evidence=fact.evidence,
                    after=fact_state(fact),
                    current=fact_state(fact),
                    language=fact.language,
                    amounts=fact.amounts,
                )
            )
            continue
        before, after = compare(fact, known)
        if after:
            changes.append(
                Change(
                    type=ChangeType.CHANGED,
                    fact_key=fact.key,
                    kind=fact.kind,
                    name=known.name,
                    evidence=fact.evidence,
                    before=before,
                    after=after,
                    current=merged_state(fact, known),
                    language=fact.language,
                    amounts=fact.amounts,
                    prior=fact_state(known),
                )
            )
    for key, gone in (previous_on_page or {}).items():
        if key not in seen:
            changes.append(
                Change(
                    type=ChangeType.REMOVED,
                    fact_key=key,
                    kind=gone.kind,
                    name=gone.name,
                    evidence="",
                    before=fact_state(gone),
                    current=fact_state(current[key]) if key in current else {},
                )
            )
    return changes
