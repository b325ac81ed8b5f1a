"""Changes in words for tables, logs, the feed and alerts: "amount HK$15 million -> HK$30
million", and a scheme's terms as what they are: "minimum project cost lowered from HK$200
million to HK$100 million", "cap per project raised from HK$15 million to HK$30 million",
"HK$3 billion to be added"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from watcher.models import TERM_FIELDS
from watcher.rules.render import format_hkd, term_phrases


def _value(field: str, value: Any) -> str:
    if value is None:
        return "none"
    if field.endswith("_hkd"):  # amount_hkd, cap_per_project_hkd, added_hkd...
        return format_hkd(int(value))
    return str(value).replace("_", " ")


def describe_change(change_type: str, name: str, before: dict[str, Any],
                    after: dict[str, Any], current: dict[str, Any],
                    amounts: Iterable[Mapping[str, Any]] = ()) -> str:
    if change_type in ("new", "seen"):
        details = [_value(f, current[f]) for f in ("amount_hkd", "status") if current.get(f)]
        label = "new" if change_type == "new" else "first seen"
        return f"{label}: {name}" + (f" ({', '.join(details)})" if details else "")
    if change_type == "removed":
        return f"removed: {name}"
    moves = [f"{field.replace('_hkd', '')} {_value(field, before.get(field))} -> "
             f"{_value(field, after[field])}" for field in after if field not in TERM_FIELDS]
    moves += term_phrases(before, after, amounts)
    return f"{name}: " + "; ".join(moves)


def amount_text(amount: Mapping[str, Any]) -> str:
    """One stored amount with its role: "cap per project: HK$30 million (up to; was HK$15
    million)"."""
    role = str(amount.get("role", "other")).replace("_", " ")
    notes = [str(amount["qualifier"]).replace("_", " ")] if amount.get("qualifier") else []
    if amount.get("previous_hkd") is not None:
        notes.append(f"was {format_hkd(int(amount['previous_hkd']))}")
    if amount.get("earlier"):
        notes.append("an earlier value")
    return f"{role}: {format_hkd(int(amount['hkd']))}" + (
        f" ({'; '.join(notes)})" if notes else "")
