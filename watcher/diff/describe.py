"""One-line descriptions of changes for tables and logs: "amount HK$15 million -> HK$30 million"."""

from __future__ import annotations

from typing import Any

from watcher.rules.render import format_hkd


def _value(field: str, value: Any) -> str:
    if value is None:
        return "none"
    if field.endswith("_hkd"):  # amount_hkd, cap_per_project_hkd, added_hkd...
        return format_hkd(int(value))
    return str(value).replace("_", " ")


def describe_change(change_type: str, name: str, before: dict[str, Any],
                    after: dict[str, Any], current: dict[str, Any]) -> str:
    if change_type == "new":
        details = [_value(f, current[f]) for f in ("amount_hkd", "status") if current.get(f)]
        return f"new: {name}" + (f" ({', '.join(details)})" if details else "")
    if change_type == "removed":
        return f"removed: {name}"
    moves = [f"{field.replace('_hkd', '')} {_value(field, before.get(field))} -> "
             f"{_value(field, after[field])}" for field in after]
    return f"{name}: " + "; ".join(moves)
