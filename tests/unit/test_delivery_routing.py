"""delivery.routing: the routes file, release times (digests, quiet hours), destinations."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from watcher.config.targets import Target
from watcher.delivery.routing import (
    QuietHours,
    Route,
    Routes,
    check_route_tags,
    destinations,
    load_routes,
)
from watcher.errors import ConfigError

HK = timedelta(hours=8)
EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "delivery" / "routes.yaml"


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC) - HK


def test_example_file_loads() -> None:
    routes = load_routes(EXAMPLE)
    assert routes.default == "urgent"
    assert routes.storm_threshold == 20
    urgent, daily = routes.routes["urgent"], routes.routes["daily"]
    assert (urgent.name, urgent.mode, urgent.tags) == ("urgent", "immediate", ("slack", "email"))
    assert urgent.quiet_hours == QuietHours(start=time(23, 0), end=time(7, 0))
    assert (daily.mode, daily.schedule, daily.timezone) == ("digest", "0 9 * * *",
                                                           "Asia/Hong_Kong")


def test_no_file_means_everything_immediate_but_the_built_in_digest(tmp_path: Path) -> None:
    assert load_routes(tmp_path / "absent.yaml") == Routes()
    assert list(load_routes(None).routes) == ["digest"]
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    assert load_routes(tmp_path / "empty.yaml") == Routes()
    digest = Routes().routes["digest"]
    assert (digest.mode, digest.schedule, digest.tags) == ("digest", "0 9 * * *", ())
    assert digest.release_at(hk(15, 10)) == hk(16, 9)  # 09:00 Hong Kong time
    # A rule with an empty notify still goes out at once.
    assert Routes().default is None


def test_a_routes_file_may_redefine_the_digest(tmp_path: Path) -> None:
    (tmp_path / "routes.yaml").write_text(
        "timezone: UTC\nroutes:\n  digest:\n    tags: [email]\n    mode: digest\n"
        "    schedule: \"30 7 * * mon-fri\"\n")
    digest = load_routes(tmp_path / "routes.yaml").routes["digest"]
    assert (digest.tags, digest.schedule, digest.timezone) == (
        ("email",), "30 7 * * mon-fri", "UTC")
    # Without a digest of its own, a file's timezone is the built-in digest's too.
    (tmp_path / "routes.yaml").write_text("timezone: UTC\n")
    assert load_routes(tmp_path / "routes.yaml").routes["digest"].timezone == "UTC"


def test_digest_releases_at_the_next_schedule_time() -> None:
    daily = Route(name="daily", mode="digest", schedule="0 9 * * *")
    assert daily.release_at(hk(15, 10)) == hk(16, 9)
    assert daily.release_at(hk(15, 8, 59)) == hk(15, 9)
    utc_daily = Route(name="d", mode="digest", schedule="0 9 * * *", timezone="UTC")
    assert utc_daily.release_at(datetime(2025, 1, 15, 10, tzinfo=UTC)) == datetime(
        2025, 1, 16, 9, tzinfo=UTC)


def test_quiet_hours_span_midnight_and_defer() -> None:
    night = Route(name="n", quiet_hours=QuietHours(start="22:00", end="07:00"))  # type: ignore[arg-type]
    assert night.release_at(hk(15, 21, 59)) == hk(15, 21, 59)
    assert night.release_at(hk(15, 22, 0)) == hk(16, 7)
    assert night.release_at(hk(16, 3, 0)) == hk(16, 7)
    assert night.release_at(hk(16, 7, 0)) == hk(16, 7)
    lunch = Route(name="l", quiet_hours=QuietHours(start="12:00", end="13:00"))  # type: ignore[arg-type]
    assert lunch.release_at(hk(15, 12, 30)) == hk(15, 13)
    assert lunch.release_at(hk(15, 11, 0)) == hk(15, 11)


def test_a_digest_inside_quiet_hours_waits_for_their_end() -> None:
    early = Route(name="e", mode="digest", schedule="0 6 * * *",
                  quiet_hours=QuietHours(start="22:00", end="07:00"))  # type: ignore[arg-type]
    assert early.release_at(hk(15, 10)) == hk(16, 7)


EMAIL = Target("mailto://bot:****@smtp.example.org", "mailto://x", ("email",))
SLACK = Target("slack://T1/****", "slack://y", ("slack",))
HOOK = Target("json://hook.local", "json://hook.local", ())


def test_destinations_by_route_and_by_tag() -> None:
    routes = Routes.model_validate({"routes": {
        "daily": {"tags": ["email"], "mode": "digest", "schedule": "0 9 * * *"}}})
    targets = [EMAIL, SLACK, HOOK]

    def names(notify: tuple[str, ...]) -> list[tuple[str, str | None]]:
        return [(d.target.name, d.route.name if d.route else None)
                for d in destinations(notify, routes, targets)]

    assert names(()) == [(EMAIL.name, None), (SLACK.name, None), (HOOK.name, None)]
    assert names(("slack",)) == [(SLACK.name, None), (HOOK.name, None)]  # untagged: all
    assert names(("daily",)) == [(EMAIL.name, "daily"), (HOOK.name, "daily")]
    # A target reached twice gets the alert once, by the first entry naming it.
    assert names(("email", "daily")) == [(EMAIL.name, None), (HOOK.name, None)]
    assert names(("daily", "slack")) == [(EMAIL.name, "daily"), (SLACK.name, None),
                                         (HOOK.name, "daily")]


def test_default_route_and_console() -> None:
    routes = Routes.model_validate({"default": "night", "routes": {
        "night": {"quiet_hours": {"start": "22:00", "end": "07:00"}}}})
    [console] = destinations((), routes, [])
    assert console.target.name == "console" and console.route is not None
    assert console.route.name == "night"


@pytest.mark.parametrize(("text", "message"), [
    ("routes:\n  daily:\n    mode: digest\n    schedul: '0 9 * * *'\n",
     "routes.yaml:4:5: routes.daily: unknown key 'schedul' (allowed: name, tags, mode, "
     "schedule, quiet_hours, timezone)"),
    ("routes:\n  daily:\n    mode: digest\n",
     "routes.yaml:2:3: routes.daily: a digest route needs a schedule, e.g. \"0 9 * * *\" "
     "(daily 09:00)"),
    ("routes:\n  daily:\n    mode: digest\n    schedule: '0 25 * * *'\n",
     "routes.yaml:4:15: routes.daily.schedule: invalid cron '0 25 * * *': Error validating "
     "expression '25': the last value (25) is higher than the maximum value (23) (five "
     "fields: minute hour day month weekday)"),
    ("routes:\n  night:\n    quiet_hours: {start: '25:00', end: '07:00'}\n",
     "routes.yaml:3:26: routes.night.quiet_hours.start: invalid time '25:00': use HH:MM, "
     "e.g. \"22:00\""),
    ("timezone: Asia/Hongkong_\n",
     "routes.yaml:1:11: timezone: unknown timezone 'Asia/Hongkong_' (an IANA name such as "
     "Asia/Hong_Kong or UTC)"),
    ("default: nope\nroutes: {}\n",
     "routes.yaml:1:1: default: no route named 'nope' (routes: digest)"),
    ("routes:\n  Daily: {}\n",
     "routes.yaml:2:10: routes.Daily: route name 'Daily' must be a slug: lower-case letters, "
     "digits and '-'"),
    ("storm_threshold: 0\n",
     "routes.yaml:1:18: storm_threshold: must be greater than or equal to 1 (got 0)"),
])
def test_routes_errors_are_one_located_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("routes.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_routes(Path("routes.yaml"))
    assert str(info.value) == message


def test_unknown_route_tag_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("routes.yaml").write_text("routes:\n  a:\n    tags: [email, pager]\n  b:\n"
                                   "    tags: sms\n")
    routes = load_routes(Path("routes.yaml"))
    assert [str(e) for e in check_route_tags(routes, {"email"}, Path("routes.yaml"))] == [
        "routes.yaml:3:19: routes.a.tags: unknown target tag 'pager' (known: email)",
        "routes.yaml:5:11: routes.b.tags: unknown target tag 'sms' (known: email)",
    ]
