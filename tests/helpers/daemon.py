"""Real `python -m watcher run` processes for tests, with their log in a file.

    proc = DaemonProcess.start(env, tmp_path / "a.log")
    proc.wait_for_log("watcher running")       # bounded by a deadline, polled
    proc.send(signal.SIGTERM); assert proc.wait_exit(10) == 0

Every wait polls with a short interval and has a deadline; nothing sleeps a fixed time.
Pages are small press releases with one fund each, so a test changes a fund's amount and
counts the "Amount changed" emails.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.http_server import Reply, child_env

REPO = Path(__file__).resolve().parents[2]

PAGE = """<html><head><title>Government launches {name} Innovation Fund</title></head>
<body><p>The Government today (November 20) announced the launch of the {name} Innovation
Fund, a HK${amount} million fund that will subsidise manufacturers on a 1:1 matching basis
to set up smart production lines in Hong Kong.</p><p>Applications open next month.</p>
</body></html>"""


def fund_page(name: str, amount: int, **reply: Any) -> Reply:
    """A press release launching "<name> Innovation Fund" of HK$<amount> million."""
    body = PAGE.format(name=name, amount=amount).encode()
    return Reply(200, {"Content-Type": "text/html; charset=utf-8",
                       "ETag": f'"{name}-{amount}"'}, body, **reply)


def html_source(name: str, url: str, interval: str) -> str:
    return f"name: {name}\nkind: html\nurl: {url}\ninterval: {interval}\ntags: [gov]\n"


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def daemon_env(tmp_path: Path, database_url: str, notify: str, **extra: str) -> dict[str, str]:
    """Settings for a fast daemon: no start-up spread, a quick dispatcher, short leases."""
    sources = tmp_path / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    return {
        **child_env(),
        "WATCHER_DATABASE_URL": database_url,
        "WATCHER_SOURCES_DIR": str(sources),
        "WATCHER_RULES_DIR": str(REPO / "rules"),
        "WATCHER_NOTIFY": notify,
        "WATCHER_PER_HOST_DELAY_S": "0",
        "WATCHER_PER_HOST_CONCURRENCY": "8",  # all pages share 127.0.0.1: a slow one
        "WATCHER_OBEY_ROBOTS": "false",
        "WATCHER_FETCH_RETRIES": "0",
        "WATCHER_STARTUP_SPREAD_S": "0",
        "WATCHER_DISPATCH_EVERY_S": "0.5",
        "WATCHER_SHUTDOWN_GRACE_S": "1",
        "WATCHER_POLL_LEASE_S": "3",
        "WATCHER_PID_FILE": str(tmp_path / "watcher.pid"),
        **extra,
    }


def watcher(env: dict[str, str], *args: str,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "watcher", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def watcher_json(env: dict[str, str], *args: str) -> Any:
    result = watcher(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass
class DaemonProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path, *args: str,
              run_args: tuple[str, ...] = ()) -> DaemonProcess:
        """``python -m watcher ARGS run RUN_ARGS``."""
        with log_path.open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "watcher", *args, "run", *run_args],
                                    env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        return cls(proc, log_path)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_for_log(self, needle: str, timeout: float = 15, count: int = 1) -> None:
        def seen() -> bool:
            if not self.alive():
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{self.log()}")
            return self.log().count(needle) >= count
        wait_until(seen, timeout, f"{needle!r} x{count} in the daemon's log")

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Clean-up for fixtures: SIGKILL whatever still runs."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
