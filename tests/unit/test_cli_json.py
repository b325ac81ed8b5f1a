"""Every command with --json prints one JSON document on stdout and nothing else, on a
database that has rows (a fund page polled once, alerts to the console target).

Before: `watcher outbox list --json` crashed once the outbox had rows, and `watcher
check --json` printed the console target's alert panels before the JSON. Each command
runs as a real process, so stdout is exactly what a script piping it would read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.daemon import PAGE, daemon_env, fund_page, html_source, watcher
from tests.helpers.http_server import LocalServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("json")
    with LocalServer({"/alpha.htm": fund_page("Alpha", 500)}) as site:
        environment = daemon_env(tmp, f"sqlite:///{tmp / 'watcher.db'}", "")  # console
        (tmp / "sources" / "alpha.yaml").write_text(
            html_source("alpha", site.url("/alpha.htm"), "1h"))
        (tmp / "alpha.htm").write_text(PAGE.format(name="Alpha", amount=500))
        environment["PAGE_FILE"] = str(tmp / "alpha.htm")
        first = run_json(environment, "check")
        assert first["sources"][0]["changes"] == 1  # the rows the other commands list
        yield environment


def run_json(env: dict[str, str], *args: str) -> Any:
    result = watcher(env, *args, "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # the whole of stdout: one document


def test_check(env: dict[str, str]) -> None:
    again = run_json(env, "check")
    assert again["sources"][0]["source"] == "alpha" and again["sources"][0]["error"] is None


@pytest.mark.parametrize("args", [("outbox", "list"), ("outbox",)])
def test_outbox(env: dict[str, str], args: tuple[str, ...]) -> None:
    [delivery] = run_json(env, *args)
    assert delivery["target"] == "console" and delivery["status"] == "sent"
    assert delivery["subject"] == "New fund: Alpha Innovation Fund (HK$500 million)"


def test_log_and_show(env: dict[str, str]) -> None:
    [entry] = run_json(env, "log")
    assert entry["name"] == "Alpha Innovation Fund"
    shown = run_json(env, "show", str(entry["id"]))
    assert shown["name"] == "Alpha Innovation Fund"


def test_sources(env: dict[str, str]) -> None:
    [alpha] = run_json(env, "sources")
    assert alpha["name"] == "alpha" and alpha["last_success_at"]


def test_extract(env: dict[str, str]) -> None:
    extracted = run_json(env, "extract", env["PAGE_FILE"])
    assert "Alpha Innovation Fund" in json.dumps(extracted)


def test_eval(env: dict[str, str]) -> None:
    scored = run_json(env, "eval", str(REPO / "tests" / "eval"))
    assert scored


def test_dismiss(env: dict[str, str]) -> None:  # last: it changes what the others list
    [entry] = run_json(env, "log")
    done = run_json(env, "dismiss", str(entry["id"]), "--reason", "not a fund")
    assert done == {"id": entry["id"], "already": False, "restored": {}, "held_back": 0}
    assert run_json(env, "dismiss", str(entry["id"]))["already"] is True


COVERED = {"check", "outbox", "outbox list", "log", "show", "sources", "extract", "eval",
           "dismiss"}


def test_every_command_with_json_is_covered_here() -> None:
    """A new --json command fails this until a test above parses its output."""
    import typer

    from watcher.cli import app

    found = set()

    def walk(command: Any, path: str) -> None:  # a click command or group, as typer builds it
        if any("--json" in getattr(p, "opts", ()) for p in command.params):
            found.add(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    assert found == COVERED
