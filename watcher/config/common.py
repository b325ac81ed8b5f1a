"""Building blocks every YAML-backed model shares: strict models, slugs and durations.

Kept in one place so a source name, a rule id, a route name and a baseline key are
checked by the same pattern with the same wording.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Strict(BaseModel):
    """Unknown keys are errors (a typo never silently disables a field); values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_slug(value: str, what: str) -> str:
    """``value`` if it is a slug, else ValueError naming ``what`` it is (id, key, name)."""
    if not SLUG.match(value):
        raise ValueError(f"{what} {value!r} must be a slug: lower-case letters, digits and '-'")
    return value


def parse_duration(text: str | int) -> timedelta:
    """``"15m"`` -> 15 minutes. Plain integers are seconds."""
    if isinstance(text, int):
        seconds = text
    else:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(
                f"invalid duration {text!r}: use a number and a unit s, m, h, d or w, e.g. 15m"
            )
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("the interval must be positive")
    return timedelta(seconds=seconds)


def duration_field(value: object) -> object:
    """A ``mode="before"`` validator body: ``"15m"`` or seconds become a timedelta; any
    other value is left for pydantic to judge."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return parse_duration(value)
    return value
