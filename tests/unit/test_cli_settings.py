"""A bad setting stops any command with one line naming it, never a traceback or a
secret from another setting."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from watcher.cli import app


@pytest.mark.parametrize("command", [["validate"], ["run"], ["--log-format", "json", "log"]])
def test_a_bad_setting_is_one_line_per_setting(command: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_RETRY_BASE_DELAY", "2s")
    monkeypatch.setenv("WATCHER_PAGES_IN_MEMORY", "0")
    monkeypatch.setenv("WATCHER_DATABASE_URL", "postgresql://bot:TopS3cret@db.example/w")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert sorted(line.split(" ", 1)[0] for line in lines) == [
        "WATCHER_PAGES_IN_MEMORY", "WATCHER_RETRY_BASE_DELAY"], lines
    assert "greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "TopS3cret" not in result.output + result.stderr
