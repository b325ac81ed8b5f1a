"""Pure rule evaluation: (rules, event) -> alerts.

An ``Event`` is one thing that happened: a fact added, changed or removed on a page (it
carries the ``Change`` from ``diff``), or a source failing / recovering. ``evaluate``
checks every enabled rule's ``when`` and ``match`` and renders the subject, body and dedup
key of each rule that fires.

A template that fails at evaluation time (possible only on a path the load-time sample
did not take) never crashes the caller and never yields a blank alert: the rule still
fires, with a subject saying its template failed and a plain body listing the event's
facts, and the error is logged. A lost alert is worse than an ugly one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from jinja2 import Template

from watcher.models import Alert, Change, ChangeType, Document, Fact, FactKind
from watcher.rules.render import format_hkd, format_status

if TYPE_CHECKING:
    from watcher.rules.model import Match, Rule

# The name its log lines have always carried (the module was watcher/rules.py).
log = logging.getLogger("watcher.rules")

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


def _fact_context(event: Event) -> dict[str, Any]:
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
        },
        "evidence": change.evidence,
    }


def template_context(rule: Rule, event: Event) -> dict[str, Any]:
    """Every variable a subject, body or dedup_key template may use.

    Fact events: ``fact`` (name, kind, key, amount_hkd, amount, status, status_text,
    attributes), ``old``/``new`` (changed values), ``old_amount``/``new_amount`` (human
    forms), ``change`` (type, field, fields, identity), ``evidence``. Source events: the
    same names exist but ``fact`` is None and the rest are empty. Always: ``event``,
    ``page`` (title, url, published, language), ``source`` (name, tags,
    consecutive_failures, error), ``rule`` (id, description, severity, labels).
    """
    if event.change is not None:
        context = _fact_context(event)
    else:
        context = {
            "fact": None,
            "old": Values(),
            "new": Values(),
            "old_amount": "",
            "new_amount": "",
            "change": {"type": "", "field": "", "fields": [], "identity": ""},
            "evidence": "",
        }
    context.update(
        event=event.type,
        page={
            "title": event.title,
            "url": event.url,
            "published": event.published.isoformat() if event.published else "",
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


# --- matching ------------------------------------------------------------------------


def _names(change: Change) -> list[str]:
    """The canonical name plus any name-like values (``name_zh``, ``name_en``...), so a
    name regex can be written in English or Chinese."""
    names = [change.name]
    for values in (change.after, change.before):
        names += [str(v) for k, v in values.items() if k.startswith("name") and v]
    return names


def _search(pattern: re.Pattern[str], texts: Iterable[str]) -> bool:
    return any(pattern.search(text) for text in texts)


def matches(match: Match, event: Event) -> bool:
    """Every condition given in ``match`` holds (an empty match always holds). Fact
    conditions never hold for source events."""
    change = event.change
    fact_conditions = (
        match.kind or match.name or match.evidence or match.amount or match.status
        or match.old_status or match.new_status or match.changed_field
    )
    if fact_conditions and change is None:
        return False
    if change is not None:
        context = _fact_context(event)["fact"]
        if match.kind and FactKind(change.kind) not in match.kind:
            return False
        if match.name and not _search(match.name, _names(change)):
            return False
        if match.evidence and not match.evidence.search(change.evidence):
            return False
        if match.amount:
            amount = context["amount_hkd"]
            if amount is None:
                return False
            if match.amount.gte is not None and amount < match.amount.gte:
                return False
            if match.amount.lte is not None and amount > match.amount.lte:
                return False
        if match.status and context["status"] not in match.status:
            return False
        if match.old_status and change.before.get("status") not in match.old_status:
            return False
        if match.new_status and change.after.get("status") not in match.new_status:
            return False
        if match.changed_field and not set(match.changed_field) & set(changed_fields(change)):
            return False
    if match.source_tags and not set(match.source_tags) & set(event.source_tags):
        return False
    if match.language and event.language not in match.language:
        return False
    if match.any and not any(matches(m, event) for m in match.any):
        return False
    if match.all and not all(matches(m, event) for m in match.all):
        return False
    return not (match.not_ is not None and matches(match.not_, event))


def fires(rule: Rule, event: Event) -> bool:
    return rule.enabled and event.type in rule.when and matches(rule.match, event)


# --- rendering ------------------------------------------------------------------------


def _fallback_body(context: Mapping[str, Any], error: str) -> str:
    """A body that needs no template: enough to act on, plus what went wrong."""
    fact = context["fact"]
    lines = [f"The rule's template failed: {error}", "", f"Event: {context['event']}"]
    if fact is not None:
        lines += [f"Fact: {fact['name']} ({fact['kind']}, key {fact['key']})"]
        if context["old"] or context["new"]:
            lines += [f"Change: {context['old']} -> {context['new']}"]
        if context["evidence"]:
            lines += [f"Evidence: {context['evidence']}"]
    source = context["source"]
    lines += [f"Source: {source['name']}"]
    if source["error"]:
        lines += [f"Error: {source['error']}"]
    if context["page"]["url"]:
        lines += [f"Link: {context['page']['url']}"]
    return "\n".join(lines)


def _render(template: Template, context: Mapping[str, Any]) -> str:
    # One line for subjects and keys is enforced by the caller; here only render.
    return template.render(**context).strip()


def render_alert(rule: Rule, event: Event) -> Alert:
    """The alert ``rule`` raises for ``event`` (assumes it fires)."""
    context = template_context(rule, event)
    failures: list[str] = []
    subject = body = ""
    try:
        subject = " ".join(_render(rule.subject_template, context).split())
    except Exception as exc:  # whatever a template does, the alert is not lost
        failures.append(f"subject: {exc}")
    try:
        body = _render(rule.body_template, context)
    except Exception as exc:  # whatever a template does, the alert is not lost
        failures.append(f"body: {exc}")
    try:
        dedup_key = " ".join(_render(rule.dedup_template(event.type), context).split())
    except Exception as exc:  # whatever a template does, the alert is not lost
        failures.append(f"dedup_key: {exc}")
        dedup_key = ""
    if not dedup_key:
        # Never an empty key: it would merge unrelated alerts in the outbox.
        what = context["fact"]["key"] if context["fact"] else event.source
        dedup_key = f"{rule.id}:{what}:{context['new'] or event.type}"
    if failures or not subject:
        error = "; ".join(failures) or "subject rendered empty"
        log.error("rule %s (%s): template failed: %s", rule.id, rule.origin, error)
        what = context["fact"]["name"] if context["fact"] else event.source
        subject = f"[watcher] rule {rule.id} template failed ({event.type}: {what})"
        body = _fallback_body(context, error)
    identity = event.change.identity if event.change else f"{event.type}:{event.source}"
    return Alert(
        rule_id=rule.id,
        change_identity=identity,
        subject=subject,
        body=body,
        tags=tuple(rule.notify),
        dedup_key=dedup_key,
        severity=rule.severity,
    )


def evaluate(rules: Sequence[Rule], event: Event) -> list[Alert]:
    """The alerts ``event`` raises, one per firing rule, in rule order."""
    return [render_alert(rule, event) for rule in rules if fires(rule, event)]
