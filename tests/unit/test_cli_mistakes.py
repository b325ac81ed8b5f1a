"""Every mistake a user can make is one line naming the problem, with the right exit code,
never a traceback (issue 18). Each test runs the real command, through typer's runner or
as a process where the command would start a daemon."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from watcher.cli import app

REPO = Path(__file__).resolve().parents[2]
UNKNOWN_FILTER = REPO / "tests" / "fixtures" / "rules" / "unknown-filter"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no watcher.toml from the checkout
    for name in [k for k in os.environ if k.startswith("WATCHER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("WATCHER_SOURCES_DIR", str(tmp_path / "sources"))
    monkeypatch.setenv("WATCHER_PID_FILE", str(tmp_path / "watcher.pid"))
    (tmp_path / "sources").mkdir()
    return tmp_path


def invoke(*args: str) -> Result:
    # The CLI points the root logger at the runner's stderr, which closes afterwards;
    # put pytest's handlers back so later log records do not hit a closed stream.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def one_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    """The command's whole stderr, asserted to be a single line without a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def watcher_process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m watcher ARGS` in the environment the test set (the fixture's)."""
    return subprocess.run([sys.executable, "-m", "watcher", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


# --- a rule template with an unknown filter ---------------------------------------------

FILTER_LINE = (f"{UNKNOWN_FILTER / 'new-funding.yaml'}:7:7: body: no filter named 'hdk' "
               "(filters: hkd, status, abs, attr, ")


@pytest.mark.parametrize("command", [["rules", "check"], ["validate"], ["check"]])
def test_unknown_filter_is_one_located_line(command: list[str], env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_RULES_DIR", str(UNKNOWN_FILTER))
    result = invoke(*command)
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(FILTER_LINE), line
    assert line.endswith("xmlattr; template line 2)"), line


def test_unknown_filter_stops_the_daemon_with_one_line(env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_RULES_DIR", str(UNKNOWN_FILTER))
    result = watcher_process("run")
    assert result.returncode == 2
    assert one_line(result).startswith(FILTER_LINE)
