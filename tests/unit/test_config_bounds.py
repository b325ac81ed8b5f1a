"""Configuration has bounds, each refused with file:line: the size of a source, rule,
route or baseline file (a 45 MB YAML list took 85 s and 1.9 GB before a misleading
error), and what a rule's template can build (``{{ 'a' * 3000000000 }}`` ended in a
MemoryError traceback)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.daemon import daemon_env, watcher
from watcher.config.loader import load_sources
from watcher.config.rules import load_rule_file, load_rules
from watcher.config.yamlload import MAX_FILE_BYTES
from watcher.delivery.routing import load_routes
from watcher.errors import ConfigError
from watcher.extract.baseline import load_baseline
from watcher.models import Change, ChangeType, FactKind
from watcher.rules.evaluate import evaluate
from watcher.rules.events import Event


def _huge_list(path: Path, megabytes: int = 45) -> int:
    """A YAML file of ``megabytes`` MB: a key, then a list; the line that passes the cap."""
    with path.open("w") as file:
        file.write("name: big\nitems:\n")
        while file.tell() < megabytes * 1024 * 1024:
            file.write("- abcdefghij\n" * 10_000)
    lines_before = 2
    return lines_before + (MAX_FILE_BYTES - len("name: big\nitems:\n")) // 13 + 1


LOADERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "source": ("sources/big.yaml", lambda p: load_sources(p.parent)),
    "rule": ("rules/big.yaml", lambda p: load_rules(p.parent)),
    "route": ("routes.yaml", load_routes),
    "baseline": ("baseline.yaml", load_baseline),
}


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_file_past_the_size_cap_is_one_line_at_once(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative, load = LOADERS[kind]
    path = Path(relative)
    path.parent.mkdir(exist_ok=True)
    line = _huge_list(path)
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load(path)
    assert time.monotonic() - started < 2  # read up to the cap, never the 45 MB
    shown = str(path) if kind == "baseline" else relative
    assert str(info.value) == (f"{shown}:{line}: file too large: configuration files may be "
                               f"at most 256 KiB, and this line passes that")


def test_a_file_at_the_cap_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("storm_threshold: 5\n" + "#" * (MAX_FILE_BYTES - 40) + "\n")
    assert path.stat().st_size <= MAX_FILE_BYTES
    assert load_routes(path).storm_threshold == 5


# --- what a template can build -------------------------------------------------------------

REFUSED = [
    ("{{ 'a' * 3000000000 }}", "the template builds a text of 3,000,000,000 characters "
                               "(the most is 100,000)"),
    ("{{ [0] * 10 ** 9 }}", "the template builds a list of 1,000,000,000 items"),
    ("{{ 2 ** 100000000 }}", "the template builds an integer of about 200,000,000 bits"),
    ("{{ 'a' | center(3000000000) }}", "the template builds a text of 3,000,000,000"),
    ("{{ 'a'.ljust(3000000000) }}", "the template builds a text of 3,000,000,001"),
    ("{{ '%3000000000s' % 'a' }}", "a format width of 3000000000 is more than 100,000"),
    ("{{ '%3000000000s' | format('a') }}", "a format width of 3000000000"),
    ("{{ '{:>3000000000}'.format('a') }}", "a format width of 3000000000"),
    ("{{ ('a' * 1000) | replace('a', 'b' * 1000) }}", "builds a text of 1,000,000"),
    ("{{ 'x' | indent(3000000000, true) }}", "builds a text of 3,000,000,001"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
     "the template builds an alert of 100,001 characters"),
]


@pytest.mark.parametrize(("template", "reason"), REFUSED)
def test_a_template_that_builds_too_much_is_refused_at_load(
        template: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("rule.yaml").write_text(f'id: big\nwhen: fact_added\nsubject: "{template}"\n')
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_rule_file(Path("rule.yaml"))
    assert time.monotonic() - started < 2
    assert str(info.value).startswith("rule.yaml:3:10: subject: template fails for a sample "
                                      "fact_added event: ")
    assert reason in str(info.value)


def test_ordinary_templates_still_work(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text("id: fine\nwhen: fact_added\n"
                    "subject: \"{{ '-' * 3 }} {{ 2 ** 10 }} {{ '%5s' | format('a') }} "
                    "{{ fact.name | center(30) }} {{ [1] + [2] }}\"\n")
    [rule] = load_rule_file(path)
    [alert] = evaluate([rule], _event("Smart Fund", 10**9))
    assert alert.subject == "--- 1024 a Smart Fund [1, 2]"


def _event(name: str, amount: int) -> Event:
    change = Change(ChangeType.NEW, "smart-fund", FactKind.FUNDING, name, "e",
                    after={"amount_hkd": amount})
    return Event.for_change(change, source_name="s", source_tags=(), document=None)


def test_a_bound_met_only_at_alert_time_gives_the_fallback_alert(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text("id: late\nwhen: fact_added\nsubject: \"{% if fact.amount_hkd == 7 %}"
                    "{{ 'a' * 3000000000 }}{% else %}ok{% endif %}\"\n")
    [rule] = load_rule_file(path)  # the sample event takes the other branch
    [alert] = evaluate([rule], _event("Smart Fund", 7))
    assert alert.subject == "[watcher] rule late template failed (fact_added: Smart Fund)"
    assert "3,000,000,000 characters" in alert.body


def test_rules_check_says_it_in_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "big.yaml").write_text("id: big\nwhen: fact_added\nsubject: \"{{ 'a' * "
                                    "3000000000 }}\"\n")
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'w.db'}", "",
                     WATCHER_RULES_DIR=str(rules))
    result = watcher(env, "rules", "check")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{rules / 'big.yaml'}:3:10: subject: template fails for a sample fact_added event: "
        "the template builds a text of 3,000,000,000 characters (the most is 100,000)")
