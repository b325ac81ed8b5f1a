"""What templates may call: value formatting and a ``render`` helper for the routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from watcher.diff.describe import describe_change
from watcher.display import hk_time
from watcher.models import TERM_FIELDS
from watcher.rules.render import format_hkd, format_status, term_name
from watcher.web.links import evidence_url, safe_url

LANGUAGES = {"en": "English", "zh": "中文"}


def when(value: datetime | None, with_time: bool = True) -> str:
    """Hong Kong time, marked HKT (a date alone is the Hong Kong date)."""
    return hk_time(value, with_time, empty="–")


def value_text(field: str, value: Any) -> str:
    """A before/after value as people read it."""
    if value is None or value == "":
        return "–"
    if field.endswith("_hkd") and str(value).isdigit():  # the size, a cap, a threshold...
        return format_hkd(int(value))
    if field == "status":
        return format_status(str(value))
    return str(value)


def field_label(field: str) -> str:
    if field in TERM_FIELDS:
        return term_name(field)
    return {"amount_hkd": "amount"}.get(field, field.replace("_", " "))


def state_text(amount_hkd: int | None, status: str | None,
               attributes: dict[str, Any] | None = None) -> str:
    """"HK$10 billion, earmarked"; a figure reads "27 percent"."""
    figure = ""
    if attributes and attributes.get("value") not in (None, ""):
        unit = str(attributes.get("unit") or "")
        figure = f"{attributes['value']}%" if unit == "percent" else \
            f"{attributes['value']} {unit}".strip()
    parts = [p for p in (format_hkd(amount_hkd), figure, format_status(status)) if p]
    return ", ".join(parts) or "–"


def describe(entry: Any) -> str:
    """The change in one line, as the CLI and the feed say it."""
    return describe_change(entry.type, entry.name, entry.before, entry.after, entry.current,
                           getattr(entry, "amounts", ()))


def headline(entry: Any) -> str:
    """``describe`` without the "new: " prefix, for pages that show the type as a badge."""
    text = describe(entry)
    prefix = f"{entry.type}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def changed_fields(entry: Any) -> list[str]:
    fields = list(dict.fromkeys([*entry.before, *entry.after]))
    return fields or [f for f in entry.current if entry.current[f] not in (None, "", {})]


def role_text(role: str) -> str:
    return {"cap_per_project": "cap per project", "threshold": "minimum (threshold)"}.get(
        role, role.replace("_", " "))


TEMPLATE_GLOBALS: dict[str, Any] = {
    "role_text": role_text,
    "describe": describe, "headline": headline, "when": when, "value_text": value_text,
    "field_label": field_label,
    "state_text": state_text, "safe_url": safe_url, "evidence_url": evidence_url,
    "format_hkd": format_hkd, "format_status": format_status, "languages": LANGUAGES,
    "changed_fields": changed_fields,
}
TEMPLATE_FILTERS: dict[str, Any] = {"when": when, "hkd": format_hkd, "status": format_status}


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    page = request.app.state.templates.get_template(template)
    html = page.render(request=request, **context)
    return HTMLResponse(html, status_code=status_code)
