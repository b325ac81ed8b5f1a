"""What rules fire on: an ``Event``, and what a rule's templates see of one.

An ``Event`` is one thing that happened: a fact added, changed or removed on a page (it
carries the ``Change`` from ``diff``), or a source failing / recovering.
``template_context`` is every variable a subject, body or dedup key may use; the rule
model (watcher.rules.model) checks templates against it when a file loads, and
watcher.rules.evaluate renders alerts with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from watcher.display import hk_time
from watcher.models import Change, ChangeType, Document, Fact
from watcher.rules.render import format_hkd, format_status, term_phrases

EventType = Literal[
    "fact_added", "fact_changed", "fact_removed", "source_failing", "source_recovered"
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
FACT_EVENTS = frozenset({"fact_added", "fact_changed", "fact_removed"})
SOURCE_EVENTS = frozenset({"source_failing", "source_recovered"})
EVENT_OF_CHANGE: dict[ChangeType, EventType] = {
    ChangeType.NEW: "fact_added",
    ChangeType.CHANGED: "fact_changed",
    ChangeType.REMOVED: "fact_removed",
}
# The defaults when a rule has no dedup_key: one alert per fact and new value, or per
# source and event (so a failing source alerts once per episode, realert permitting).
DEFAULT_FACT_DEDUP = "{{ rule.id }}:{{ fact.key }}:{{ new }}"
DEFAULT_SOURCE_DEDUP = "{{ rule.id }}:{{ source.name }}:{{ event }}"
_CORE_FIELDS = ("amount_hkd", "status")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing rules can fire on. Build with ``for_change`` or ``for_source``."""

    type: EventType
    source: str  # the source's name
    source_tags: tuple[str, ...] = ()
    change: Change | None = None  # set for fact events only
    fact: Fact | None = None  # the observed fact, when known: fuller than the Change
    title: str = ""  # the document the change was read from
    url: str = ""
    published: datetime | None = None
    language: str | None = None
    consecutive_failures: int = 0  # source events
    error: str | None = None  # source_failing: the last fetch error

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r} (allowed: {EVENT_TYPES})")
        if self.type in FACT_EVENTS:
            if self.change is None:
                raise ValueError(f"a {self.type} event needs the Change")
            if EVENT_OF_CHANGE[self.change.type] != self.type:
                raise ValueError(
                    f"a {self.change.type} change cannot be a {self.type} event"
                )
        elif self.change is not None:
            raise ValueError(f"a {self.type} event carries no Change")

    @classmethod
    def for_change(
        cls,
        change: Change,
        *,
        source_name: str,
        source_tags: Iterable[str] = (),
        document: Document | None = None,
        fact: Fact | None = None,
    ) -> Event:
        return cls(
            type=EVENT_OF_CHANGE[change.type],
            source=source_name,
            source_tags=tuple(source_tags),
            change=change,
            fact=fact,
            title=document.title if document else "",
            url=document.url if document else "",
            published=document.published if document else None,
            language=document.language if document else (fact.language if fact else None),
        )

    @classmethod
    def for_source(
        cls,
        type: EventType,
        *,
        source: str,
        source_tags: Iterable[str] = (),
        consecutive_failures: int = 0,
        error: str | None = None,
    ) -> Event:
        return cls(
            type=type,
            source=source,
            source_tags=tuple(source_tags),
            consecutive_failures=consecutive_failures,
            error=error,
        )

    @classmethod
    def source_failing(
        cls, name: str, tags: Iterable[str], consecutive_failures: int, error: str | None
    ) -> Event:
        return cls.for_source(
            "source_failing", source=name, source_tags=tags,
            consecutive_failures=consecutive_failures, error=error,
        )

    @classmethod
    def source_recovered(cls, name: str, tags: Iterable[str], consecutive_failures: int) -> Event:
        """``consecutive_failures``: how many polls had failed before this success."""
        return cls.for_source(
            "source_recovered", source=name, source_tags=tags,
            consecutive_failures=consecutive_failures,
        )


class Values(dict[str, Any]):
    """A values dict (``old``/``new``) whose text form is stable: ``amount_hkd=30000000,
    status=launched``, so the default dedup key does not depend on dict order."""

    def __str__(self) -> str:
        return ",".join(f"{k}={self[k]}" for k in sorted(self))


def changed_fields(change: Change) -> list[str]:
    """Fields whose value differs, core fields first (amount before status)."""
    keys = set(change.before) | set(change.after)
    differing = {k for k in keys if change.before.get(k) != change.after.get(k)}
    core = [k for k in _CORE_FIELDS if k in differing]
    return core + sorted(differing - set(core))


def fact_context(event: Event) -> dict[str, Any]:
    """The fact variables of a fact event's template context (``fact``, ``old``, ``new``,
    ``change``, ``evidence`` ...); ``match`` conditions test the same values."""
    change = event.change
    assert change is not None  # guaranteed by Event.__post_init__
    # The current state: what the page says now; for a removed fact, what it used to say.
    state: dict[str, Any] = {**change.before, **change.after}
    if change.type == ChangeType.REMOVED:
        state = dict(change.before)
    amount = state.get("amount_hkd")
    status = state.get("status")
    attributes = {k: v for k, v in state.items() if k not in _CORE_FIELDS}
    if event.fact is not None and change.type != ChangeType.REMOVED:
        amount = event.fact.amount_hkd if event.fact.amount_hkd is not None else amount
        status = str(event.fact.status) if event.fact.status is not None else status
        attributes = {**attributes, **dict(event.fact.attributes)}
    fields = changed_fields(change) if change.type == ChangeType.CHANGED else []
    amounts = [a.as_json() | {"cue": a.cue} for a in (
        event.fact.amounts if event.fact is not None else change.amounts)]
    return {
        "fact": {
            "name": change.name,
            "kind": str(change.kind),
            "key": change.fact_key,
            "amount_hkd": amount,
            "amount": format_hkd(amount),
            "status": status or "",
            "status_text": format_status(status),
            "attributes": attributes,
            "amounts": [amount_context(a) for a in amounts],
        },
        "old": Values(change.before),
        "new": Values(change.after),
        "old_amount": format_hkd(change.before.get("amount_hkd")),
        "new_amount": format_hkd(change.after.get("amount_hkd")),
        "change": {
            "type": str(change.type),
            "field": fields[0] if fields else "",
            "fields": fields,
            "identity": change.identity,
            "terms": term_phrases(change.before, change.after, amounts) if fields else [],
        },
        "evidence": change.evidence,
    }


def amount_context(amount: Mapping[str, Any]) -> dict[str, Any]:
    """One of ``fact.amounts`` in a template: role ("cap_per_project"), role_text ("cap
    per project"), amount ("HK$30 million"), hkd, qualifier ("up_to", or ""), previous
    (the value the page says it replaced, "HK$15 million", or "")."""
    role = str(amount.get("role", "other"))
    return {"role": role, "role_text": role.replace("_", " "),
            "amount": format_hkd(amount.get("hkd")), "hkd": amount.get("hkd"),
            "qualifier": str(amount.get("qualifier", "")),
            "previous": format_hkd(amount.get("previous_hkd"))}


class RuleInfo(Protocol):
    """What a template sees of the rule itself: a Rule (watcher.rules.model), or a
    stand-in while one is being validated. A protocol, not the model, because the model
    imports this module to try its templates."""

    @property
    def id(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


def template_context(rule: RuleInfo, event: Event) -> dict[str, Any]:
    """Every variable a subject, body or dedup_key template may use.

    Fact events: ``fact`` (name, kind, key, amount_hkd, amount, status, status_text,
    attributes, amounts: each with role, role_text, amount, hkd, qualifier, previous),
    ``old``/``new`` (changed values), ``old_amount``/``new_amount`` (human forms),
    ``change`` (type, field, fields, identity, terms: the terms moved, in words),
    ``evidence``. Source events: the
    same names exist but ``fact`` is None and the rest are empty. Always: ``event``,
    ``page`` (title, url, published, language), ``source`` (name, tags,
    consecutive_failures, error), ``rule`` (id, description, severity, labels).
    """
    if event.change is not None:
        context = fact_context(event)
    else:
        context = {
            "fact": None,
            "old": Values(),
            "new": Values(),
            "old_amount": "",
            "new_amount": "",
            "change": {"type": "", "field": "", "fields": [], "identity": "", "terms": []},
            "evidence": "",
        }
    context.update(
        event=event.type,
        page={
            "title": event.title,
            "url": event.url,
            # For people: alerts show Hong Kong time, as every page watcher reads does.
            "published": hk_time(event.published) if event.published else "",
            "language": event.language or "",
        },
        source={
            "name": event.source,
            "tags": list(event.source_tags),
            "consecutive_failures": event.consecutive_failures,
            "error": event.error or "",
        },
        rule={
            "id": rule.id,
            "description": rule.description,
            "severity": rule.severity,
            "labels": dict(rule.labels),
        },
    )
    return context
