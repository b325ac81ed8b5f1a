"""Pure rule evaluation: (rules, event) -> alerts.

``evaluate`` checks every enabled rule's ``when`` and ``match`` against an ``Event``
(watcher.rules.events) and renders the subject, body and dedup key of each rule that
fires.

A template that fails at evaluation time (possible only on a path the load-time sample
did not take) never crashes the caller and never yields a blank alert: the rule still
fires, with a subject saying its template failed and a plain body listing the event's
facts, and the error is logged. A lost alert is worse than an ugly one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jinja2 import Template

from watcher.models import Alert, Change, FactKind
from watcher.rules.events import Event, changed_fields, fact_context, template_context
from watcher.rules.model import Match, Rule
from watcher.rules.regex import Pattern
from watcher.rules.sandbox import render

# The name its log lines have always carried (the module was watcher/rules.py).
log = logging.getLogger("watcher.rules")


# --- matching ------------------------------------------------------------------------


def _names(change: Change) -> list[str]:
    """The canonical name plus any name-like values (``name_zh``, ``name_en``...), so a
    name regex can be written in English or Chinese."""
    names = [change.name]
    for values in (change.after, change.before):
        names += [str(v) for k, v in values.items() if k.startswith("name") and v]
    return names


def _search(pattern: Pattern, texts: Iterable[str]) -> bool:
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
        context = fact_context(event)["fact"]
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
    # One line for subjects and keys is enforced by the caller; here only render, within
    # the sandbox's bound on the text a template builds.
    return render(template, context).strip()


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
