"""Pure: the pages of a poll's chunk, in publication order, folded into one change per fact.

A chunk is diffed page by page, oldest first (``publication_order``), each page against
the state the pages before it left (``Folder.page``); what each fact went through is then
folded into its net change, from before the chunk to after it (``Folder.net``). So one
chunk yields at most one change, and one alert, per fact, and a fund that four releases
take from HK$5 billion to HK$100 million and back again yields nothing at all.

Pages are told apart by an opaque ``document`` number that the caller gives (the store's
id): a net change lists every document that moved its fact, and the last of them, the
newest, gives its evidence.

What holds across chunks (a poll is stored one chunk, one transaction, at a time, see
watcher.pipeline): a feed's items are fetched oldest first (watcher.fetch.poll), so each
chunk only moves facts forward in time, and a page older than a fact's newest evidence
never moves it back (watcher.diff.changes). A fact that changes in two chunks of one poll
gets a change, and an alert, in each: two steps forward, never a flip back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from watcher.diff.changes import (
    Claim,
    aware,
    compare,
    diff,
    fact_state,
    is_older,
    merge_amounts,
    tells_something,
    without_claims,
)
from watcher.models import Change, ChangeType, Fact, FactOrigin, KnownFact, Status

T = TypeVar("T")


def publication_order(items: Sequence[T], published: Sequence[datetime | None],
                      fetched_at: datetime) -> list[T]:
    """``items`` oldest first by their publication times (None: ``fetched_at``, since a
    page that gives no date is as new as the poll); equal times keep their order."""
    times = [aware(p if p is not None else fetched_at) for p in published]
    order = sorted(range(len(items)), key=lambda i: times[i])
    return [items[i] for i in order]


@dataclass(frozen=True, slots=True)
class NetChange:
    """One fact's change over a chunk."""

    change: Change
    fact: Fact  # what the newest page said of it
    document: int  # the newest page that moved it
    documents: tuple[int, ...]  # every page that moved it, oldest first
    state: KnownFact  # the fact's state afterwards, with its amounts and evidence time


@dataclass(frozen=True, slots=True)
class PageDiff:
    """What one page brought: its removals (kept per page) and the facts it repeated,
    which corroborate the change that set them."""

    removed: list[Change]
    repeats: list[Fact]


@dataclass
class _Track:
    start: KnownFact | None  # before the chunk
    steps: list[Change] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)


@dataclass
class Folder:
    """Diffs a chunk's pages one by one and folds each fact's changes (see the module
    docstring). ``dismissed`` maps keys to the claims people dismissed."""

    dismissed: Mapping[str, Collection[Claim]] = field(default_factory=dict)
    working: dict[str, KnownFact] = field(default_factory=dict)  # state as the chunk goes
    touched: dict[str, KnownFact] = field(default_factory=dict)  # newer evidence, no change
    tracks: dict[str, _Track] = field(default_factory=dict)

    def current(self, stored: Mapping[str, KnownFact]) -> dict[str, KnownFact]:
        """The state a page is diffed against: the store's, with this chunk's on top."""
        return {**stored, **self.working}

    def page(self, facts: Sequence[Fact], *, stored: Mapping[str, KnownFact],
             previous_on_page: Mapping[str, KnownFact] | None, published: datetime,
             document: int) -> PageDiff:
        """Diff one page (published at ``published``) against ``stored``, the store's
        state of its keys, and this chunk's pages so far."""
        current = self.current(stored)
        changes = diff(facts, current=current, previous_on_page=previous_on_page,
                       published=published, dismissed=self.dismissed)
        by_key = {f.key: f for f in facts}
        removed = []
        for change in changes:
            if change.type == ChangeType.REMOVED:
                removed.append(change)
                continue
            key = change.fact_key
            track = self.tracks.setdefault(key, _Track(current.get(key)))
            fact = without_claims(by_key[key], self.dismissed.get(key, ()))
            track.steps.append(change)
            track.facts.append(fact)
            track.documents.append(document)
            self.working[key] = _state_after(change, current.get(key), fact, published)
            self.touched.pop(key, None)
        changed = {c.fact_key for c in changes}
        repeats = []
        for fact in facts:
            known = current.get(fact.key)
            if fact.key in changed or known is None:
                continue
            fact = without_claims(fact, self.dismissed.get(fact.key, ()))
            if compare(fact, known)[1]:
                continue  # says otherwise, but is history or the page's old news
            repeats.append(fact)
            if tells_something(fact) and not is_older(published, known) and (
                    known.origin is FactOrigin.OBSERVED):
                newer = replace(known, amounts=merge_amounts(known.amounts, fact.amounts),
                                evidence_at=aware(published))
                self.working[fact.key] = newer
                if fact.key not in self.tracks:
                    self.touched[fact.key] = newer
        return PageDiff(removed, repeats)

    def net(self) -> list[NetChange]:
        """Each fact's net change over the chunk, in the order the facts first changed;
        a fact that ended where it started has none."""
        out = []
        for key, track in self.tracks.items():
            change = _fold(track, self.working[key])
            if change is not None:
                out.append(NetChange(change, track.facts[-1], track.documents[-1],
                                     tuple(dict.fromkeys(track.documents)), self.working[key]))
        return out

    def unchanged(self) -> list[KnownFact]:
        """Facts whose state no page changed but a newer page repeated: their evidence
        time (and amounts) move on."""
        return list(self.touched.values())


def _state_after(change: Change, known: KnownFact | None, fact: Fact,
                 published: datetime) -> KnownFact:
    state = change.current
    status = state.get("status")
    return KnownFact(
        key=change.fact_key, kind=change.kind, name=change.name, origin=FactOrigin.OBSERVED,
        amount_hkd=state.get("amount_hkd"), status=Status(status) if status else None,
        attributes=tuple(sorted((k, str(v)) for k, v in state.items()
                                if k not in ("amount_hkd", "status"))),
        amounts=merge_amounts(known.amounts if known else (), fact.amounts),
        evidence_at=aware(published))


def _fold(track: _Track, final: KnownFact) -> Change | None:
    """The net change of one fact: from its state before the chunk to its state after,
    in the fields its steps changed."""
    last = track.steps[-1]
    end = fact_state(final)
    start = fact_state(track.start) if track.start is not None else {}
    kinds = {step.type for step in track.steps}
    fields = list(dict.fromkeys(name for step in track.steps for name in step.after))
    if track.start is None and ChangeType.NEW in kinds:
        return replace(last, type=ChangeType.NEW, before={}, after=end, current=end, prior={})
    if track.start is None and ChangeType.CHANGED not in kinds:
        return replace(last, type=ChangeType.SEEN, before={}, after=end, current=end, prior={})
    moved = [name for name in fields if end.get(name) != start.get(name)]
    if track.start is None:  # a first sighting that announced something: only that
        moved = [name for name in dict.fromkeys(
            n for step in track.steps if step.type == ChangeType.CHANGED for n in step.after)
            if name in end]
    if not moved:
        return None
    before: dict[str, Any] = {}
    for name in moved:
        before[name] = start.get(name)
        if before[name] is None:  # the old value a page stated, if the store knew none
            before[name] = next((step.before[name] for step in track.steps
                                 if step.before.get(name) is not None), None)
    return replace(last, type=ChangeType.CHANGED, name=last.name, before=before,
                   after={name: end[name] for name in moved}, current=end, prior=start)
