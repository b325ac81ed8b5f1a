"""`watcher run` starts itself again under -OO (watcher.service.relaunch): as a real process it
keeps its pid and arguments and does its work; an explicit PYTHONOPTIMIZE, an already
optimized interpreter or a host that merely imported the CLI are left as they are."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

import watcher
from tests.helpers.daemon import DaemonProcess, daemon_env, fund_page, html_source, wait_until
from tests.helpers.http_server import LocalServer
from tests.helpers.smtp_server import SmtpServer
from watcher.service import relaunch


def _as_watcher(monkeypatch: pytest.MonkeyPatch, orig_argv: list[str]) -> None:
    monkeypatch.setattr(sys, "argv", [str(Path(watcher.__file__).with_name("__main__.py")),
                                      "run"])
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    monkeypatch.delenv("PYTHONOPTIMIZE", raising=False)


def test_the_command_line_is_kept_behind_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    _as_watcher(monkeypatch, ["python3", "-X", "dev", "-m", "watcher", "run", "--http", ":9"])
    assert relaunch.relaunch_argv() == [sys.executable, "-OO", "-X", "dev", "-m", "watcher",
                                        "run", "--http", ":9"]
    monkeypatch.setattr(sys, "argv", ["/venv/bin/watcher", "run"])  # the console script
    monkeypatch.setattr(sys, "orig_argv", ["/venv/bin/python", "/venv/bin/watcher", "run"])
    assert relaunch.relaunch_argv() == [sys.executable, "-OO", "/venv/bin/watcher", "run"]


def test_left_alone_when_it_should_be(monkeypatch: pytest.MonkeyPatch) -> None:
    _as_watcher(monkeypatch, ["python3", "-m", "watcher", "run"])
    monkeypatch.setenv("PYTHONOPTIMIZE", "0")  # the operator chose
    assert relaunch.relaunch_argv() is None
    monkeypatch.delenv("PYTHONOPTIMIZE")
    monkeypatch.setattr(sys, "argv", ["/venv/bin/pytest", "tests"])  # imported, not run
    assert relaunch.relaunch_argv() is None
    assert relaunch.started_as_watcher() is False


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


@pytest.mark.slow
@pytest.mark.parametrize("optimize", [None, "0"])
def test_the_daemon_runs_under_OO_in_the_same_process(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer, optimize: str | None) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    env.pop("PYTHONOPTIMIZE", None)
    if optimize is not None:
        env["PYTHONOPTIMIZE"] = optimize
    site.routes["/alpha.htm"] = fund_page("Alpha", 500)
    (Path(env["WATCHER_SOURCES_DIR"]) / "alpha.yaml").write_text(
        html_source("alpha", site.url("/alpha.htm"), "1h"))

    daemon = DaemonProcess.start(env, tmp_path / "daemon.log")
    try:
        daemon.wait_for_log("polled alpha", timeout=60)  # a first -OO start compiles
        wait_until(lambda: len(smtp.messages) == 1, 10, "the new-fund email")
        command = _cmdline(daemon.pid)  # the pid the test started: exec kept it
        assert command[-3:] == ["-m", "watcher", "run"]
        assert ("-OO" in command) is (optimize is None), command
        daemon.send(signal.SIGTERM)
        assert daemon.wait_exit(10) == 0
    finally:
        daemon.stop()
