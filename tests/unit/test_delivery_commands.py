"""The delivery commands through the real CLI: rules check, rules test, notify-test,
outbox --pending. Problems are one line each with file:line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.smtp_server import PASSWORD, SmtpServer
from watcher.config.rules import load_rules

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no watcher.toml from the checkout
    for name in ("NOTIFY", "ROUTES_FILE", "RULES_DIR", "DATABASE_URL"):
        monkeypatch.delenv(f"WATCHER_{name}", raising=False)
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("WATCHER_RULES_DIR", str(REPO / "rules"))
    monkeypatch.setenv("WATCHER_ROUTES_FILE", str(tmp_path / "routes.yaml"))
    return tmp_path


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def test_rules_check_passes_on_shipped_rules(env: Path) -> None:
    result = invoke("rules", "check")
    assert result.exit_code == 0, result.output
    count = len(load_rules(REPO / "rules"))
    assert result.stdout.strip() == f"ok: {count} rules, 0 targets, 1 route"


def test_rules_check_one_line_per_problem(env: Path, monkeypatch: pytest.MonkeyPatch,
                                          smtp: SmtpServer) -> None:
    rules = env / "rules"
    rules.mkdir()
    (rules / "a-template.yaml").write_text(
        "id: broken\nwhen: fact_added\nsubject: 'New {{ fact.name }'\n")
    (rules / "b-key.yaml").write_text(
        "id: typo\nwhen: fact_added\nsubject: s\nmatch:\n  kindd: funding\n")
    (rules / "c-tag.yaml").write_text(
        "id: paged\nwhen: fact_added\nsubject: s\nnotify: [email, pager]\n")
    (env / "targets.yaml").write_text(
        f"version: 1\nurls:\n  - {smtp.mailto_url()}:\n      tag: email\n")
    (env / "routes.yaml").write_text("routes:\n  daily:\n    tags: [sms]\n")
    monkeypatch.setenv("WATCHER_RULES_DIR", str(rules))
    monkeypatch.setenv("WATCHER_NOTIFY", str(env / "targets.yaml"))

    result = invoke("rules", "check")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "rules/a-template.yaml:3:10: subject: template syntax error: unexpected '}' "
        "(template line 1)",
        "rules/b-key.yaml:5:3: match: unknown key 'kindd' (allowed: kind, name, evidence, "
        "amount, status, old_status, new_status, changed_field, source_tags, language, any, "
        "all, not)",
        "routes.yaml:3:12: routes.daily.tags: unknown target tag 'sms' (known: email)",
    ]
    # The tag is checked once the rules load: fix the two broken files and it shows.
    (rules / "a-template.yaml").unlink()
    (rules / "b-key.yaml").unlink()
    result = invoke("rules", "check")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "rules/c-tag.yaml:4:9: notify: unknown target tag 'pager' (known: daily, digest, email)")
    assert PASSWORD not in result.output


def test_rules_test_runs_shipped_tests(env: Path) -> None:
    result = invoke("rules", "test")
    assert result.exit_code == 0, result.output
    files = len(list((REPO / "rules" / "tests").glob("*.yaml")))
    last = result.stdout.splitlines()[-1]
    assert last.startswith("all ") and last.endswith(f" rule tests passed in {files} files")


def test_rules_test_failure_exit_1_with_located_line(env: Path) -> None:
    path = env / "t.yaml"
    path.write_text(f"rules: {REPO / 'rules'}\ntests:\n  - name: quiet\n    steps:\n"
                    "      - fail: HTTP 503\n        expect: [{rule: source-failing}]\n")
    result = invoke("rules", "test", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "t.yaml:6:17: test 'quiet' step 1: expected alert source-failing was not raised "
        "(raised: nothing)"]
    missing = invoke("rules", "test", str(env / "nope.yaml"))
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"{env / 'nope.yaml'}: no such file"


def test_notify_test_sends_and_shows_privacy_names(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                   smtp: SmtpServer) -> None:
    dead = SmtpServer()  # never started
    (env / "targets.yaml").write_text(
        f"version: 1\nurls:\n  - {smtp.mailto_url()}:\n      tag: email\n"
        f"  - {dead.mailto_url('b@example.org')}:\n      tag: backup\n")
    monkeypatch.setenv("WATCHER_NOTIFY", str(env / "targets.yaml"))

    only = invoke("notify-test", "--tag", "email")
    assert only.exit_code == 0, only.output
    assert smtp.subjects() == ["watcher test message"]
    assert "mailto://watcher:****@127.0.0.1" in only.stdout and ": ok" in only.stdout

    both = invoke("notify-test")
    assert both.exit_code == 1
    lines = both.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].endswith(": ok") and "FAILED" in lines[1]
    assert PASSWORD not in both.output
    assert len(smtp.messages) == 2

    none = invoke("notify-test", "--tag", "slack")
    assert none.exit_code == 2
    assert none.stderr.strip() == "no targets to test: set WATCHER_NOTIFY (none tagged 'slack')"


def test_outbox_without_subcommand_lists(env: Path) -> None:
    assert invoke("init").exit_code == 0  # reading never creates the database
    result = invoke("outbox", "--pending", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "[]"
