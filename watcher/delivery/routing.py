"""Routes: how and when alerts reach targets, from an optional ``routes.yaml``.

A rule's ``notify`` names route names or target tags. A route picks targets by tag and
says how they are reached::

    timezone: Asia/Hong_Kong      # for schedules and quiet hours (default Asia/Hong_Kong)
    storm_threshold: 20           # more alerts than this for one target in one dispatch
                                  # cycle become one summary message (default 20)
    default: urgent               # the route of rules whose notify is empty (optional)
    routes:
      urgent:
        tags: [slack, email]      # targets carrying any of these tags; [] = every target
        mode: immediate           # the default
        quiet_hours: {start: "23:00", end: "07:00"}   # held until 07:00, never dropped
      daily:
        tags: [email]
        mode: digest              # one message with everything since the last digest
        schedule: "0 9 * * *"     # cron (minute hour day month weekday): daily 09:00

A route named ``digest`` always exists: unless the file defines one, it is a daily digest
at 09:00 in the file's timezone (Hong Kong) to every target, ``BUILTIN_DIGEST``. The
shipped rule ``funding-terms-changed`` uses it, so a scheme's terms changing (a cap, a
threshold) waits for the morning digest instead of going out at once.

Rules: a ``notify`` entry that names a route uses it; any other entry is a target tag,
delivered immediately. A target reached twice by one alert gets it once, by the first
entry that reaches it. Unknown keys and bad values are errors with ``file:line:col``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator, Field, field_validator, model_validator

from watcher.config.common import Strict as _Strict
from watcher.config.common import check_slug
from watcher.config.targets import Target
from watcher.config.yamlload import load_documents
from watcher.errors import ConfigError

DEFAULT_TIMEZONE = "Asia/Hong_Kong"
DEFAULT_STORM_THRESHOLD = 20
CONSOLE = "console"  # the built-in target when none is configured (as in watcher.service.runtime)
DIGEST = "digest"  # the built-in digest route's name (see the module docstring)
DIGEST_SCHEDULE = "0 9 * * *"
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")




def _clock(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 22:00 as the sexagesimal integer 1320.
        value = f"{value // 60}:{value % 60:02d}"
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if not match:
            raise ValueError(f"invalid time {value!r}: use HH:MM, e.g. \"22:00\"")
        return time(int(match.group(1)), int(match.group(2)))
    return value


class QuietHours(_Strict):
    """A daily window (local time) in which nothing is sent; it may span midnight."""

    start: time
    end: time

    _times = field_validator("start", "end", mode="before")(_clock)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are equal: the window would be empty")
        return self

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, when: datetime, zone: ZoneInfo) -> datetime:
        """``when`` itself if outside the window, else the window's end (same tz as
        ``when``)."""
        local = when.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return when
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                            microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(when.tzinfo)


class Route(_Strict):
    name: str = ""  # filled from the mapping key
    tags: tuple[str, ...] = ()
    mode: Literal["immediate", "digest"] = "immediate"
    schedule: str | None = None  # digest only: a crontab line in the timezone
    quiet_hours: QuietHours | None = None
    timezone: str | None = None  # default: the file's timezone

    @field_validator("tags", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return value if value is None else check_zone(value)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"invalid cron {value!r}: {exc} (five fields: minute hour "
                                 "day month weekday)") from None
        return value

    @model_validator(mode="after")
    def _schedule_for_digest(self) -> Route:
        if self.mode == "digest" and self.schedule is None:
            raise ValueError("a digest route needs a schedule, e.g. \"0 9 * * *\" (daily 09:00)")
        if self.mode == "immediate" and self.schedule is not None:
            raise ValueError("schedule is for digest routes; add mode: digest")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or DEFAULT_TIMEZONE)

    def release_at(self, now: datetime) -> datetime:
        """When a delivery queued ``now`` may go: now (immediate), the next digest time
        (digest), moved to the end of quiet hours if it falls inside them."""
        when = now
        if self.mode == "digest" and self.schedule is not None:
            trigger = CronTrigger.from_crontab(self.schedule, timezone=self.zone)
            fire = trigger.get_next_fire_time(None, now)
            assert fire is not None  # a crontab line always fires again
            when = fire.astimezone(now.tzinfo)
        return self.hold_until(when)

    def hold_until(self, when: datetime) -> datetime:
        """``when``, or the end of the quiet hours it falls in."""
        return self.quiet_hours.release(when, self.zone) if self.quiet_hours else when


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (an IANA name such as "
                         "Asia/Hong_Kong or UTC)") from None
    return value


def _route_name(name: str) -> str:
    return check_slug(name, "route name")


RouteName = Annotated[str, AfterValidator(_route_name)]


class Routes(_Strict):
    """The whole routes file. ``Routes()`` (no file) sends everything immediately, except
    what rules send to the built-in ``digest`` route."""

    timezone: str = DEFAULT_TIMEZONE
    storm_threshold: int = Field(default=DEFAULT_STORM_THRESHOLD, ge=1)
    default: str | None = None
    routes: dict[RouteName, Route] = Field(default_factory=dict)

    _zone = field_validator("timezone")(lambda cls, value: check_zone(value))

    @model_validator(mode="after")
    def _fill(self) -> Routes:
        routes = {
            name: route.model_copy(update={"name": name,
                                           "timezone": route.timezone or self.timezone})
            for name, route in self.routes.items()
        }
        routes.setdefault(DIGEST, Route(name=DIGEST, mode="digest", schedule=DIGEST_SCHEDULE,
                                        timezone=self.timezone))
        object.__setattr__(self, "routes", routes)
        if self.default is not None and self.default not in routes:
            raise ValueError(f"default: no route named {self.default!r} "
                             f"(routes: {', '.join(routes) or 'none'})")
        return self

    def get(self, name: str | None) -> Route | None:
        return self.routes.get(name) if name else None


def load_routes(path: Path | None) -> Routes:
    """The routes in ``path``; no path or no such file means defaults. Raises ConfigError
    at ``file:line:col``."""
    if path is None or not path.is_file():
        return Routes()
    documents = load_documents(path)
    if not documents:
        return Routes()
    if len(documents) > 1:
        raise documents[1].error("a routes file holds one YAML document")
    doc = documents[0]
    if doc.data is None:
        return Routes()
    routes: Routes = doc.validate(Routes)
    return routes


def check_route_tags(routes: Routes, known_tags: set[str], path: Path | None) -> list[ConfigError]:
    """One error per route tag no target carries (for ``watcher rules check``)."""
    errors: list[ConfigError] = []
    if path is None or not path.is_file():
        return errors
    [doc] = load_documents(path)
    for name, route in routes.routes.items():
        for index, tag in enumerate(route.tags):
            if tag not in known_tags:
                loc: tuple[str | int, ...] = ("routes", name, "tags", index)
                if isinstance(doc.data["routes"][name].get("tags"), str):
                    loc = ("routes", name, "tags")
                errors.append(doc.error(
                    f"routes.{name}.tags: unknown target tag {tag!r} "
                    f"(known: {', '.join(sorted(known_tags)) or 'none'})", loc))
    return errors


@dataclass(frozen=True, slots=True)
class Destination:
    """One target an alert goes to, and by which route (None: immediately)."""

    target: Target
    route: Route | None


def _reaches(target: Target, tags: Iterable[str]) -> bool:
    # As watcher.service.runtime.Runtime.targets_for: no tags wanted, an untagged target, or a
    # shared tag.
    wanted = set(tags)
    return not wanted or not target.tags or bool(wanted & set(target.tags))


def destinations(notify: Sequence[str], routes: Routes,
                 targets: Sequence[Target]) -> list[Destination]:
    """Where an alert whose rule says ``notify`` goes. Pure."""
    pool = list(targets) or [Target(name=CONSOLE, url="", tags=())]
    entries = list(notify) or ([routes.default] if routes.default else [])
    if not entries:
        return [Destination(t, None) for t in pool]
    found: dict[str, Destination] = {}
    for entry in entries:
        route = routes.routes.get(entry)
        tags = route.tags if route is not None else (entry,)
        for target in pool:
            if target.name not in found and _reaches(target, tags):
                found[target.name] = Destination(target, route)
    # Keep the configured order of targets, not the order entries matched them.
    return [found[t.name] for t in pool if t.name in found]
