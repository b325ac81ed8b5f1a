"""Pure: (what is known, what a document says now) -> the changes worth reporting.

Two comparisons, in this order:

1. Against the same page's previous version. A page re-read with the same facts is not
   news, even when another page has since moved the fact on (an old release re-edited
   for a typo must not "change" a fund back to its old amount).
2. Against the current state of each key (the latest change, else the baseline). A key
   never seen is ``new`` when the page says something about it (an amount or a status;
   a bare mention of a body is not news); a different amount, a forward status move or a
   changed term is ``changed``.

Keys the previous version of a page stated and the new version no longer does are
``removed`` (a scheme page dropping a programme).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from watcher.models import Change, ChangeType, Fact, FactOrigin, KnownFact, Status

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


def compare(fact: Fact, known: KnownFact) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields where ``fact`` tells something new about ``known``: (before, after)."""
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
    return before, after


def merged_state(fact: Fact, known: KnownFact | None) -> dict[str, Any]:
    """The key's whole state once ``fact`` is taken into account."""
    state = fact_state(known) if known else {}
    state.update(fact_state(fact))
    if known and known.status and not _status_moves_forward(known.status, fact.status):
        state["status"] = str(known.status)  # keep the further-along status already known
    return state


def diff(
    observed: Iterable[Fact],
    *,
    current: Mapping[str, KnownFact],
    previous_on_page: Mapping[str, KnownFact] | None = None,
) -> list[Change]:
    """Changes that ``observed`` (one document's facts) brings.

    ``current`` maps keys to the store's present belief; ``previous_on_page`` holds the
    facts of this page's previous version, or ``None`` when the page is new.
    """
    changes: list[Change] = []
    seen: set[str] = set()
    for fact in observed:
        seen.add(fact.key)
        if previous_on_page is not None and fact.key in previous_on_page:
            _, after_here = compare(fact, previous_on_page[fact.key])
            if not after_here:
                continue  # the page says what it said before
        known = current.get(fact.key)
        if known is None and fact.known:
            # a fund the gazetteer knows, never seen on a page before: what the page tells
            # of it changes it from knowing nothing ("will inject $3 billion into the ITF")
            known = KnownFact(fact.key, fact.kind, fact.name, FactOrigin.OBSERVED)
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
