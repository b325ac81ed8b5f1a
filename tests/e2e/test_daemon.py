"""The daemon as a real process: `python -m watcher run` against a local page server, a
real SMTP server and a real database, driven with signals.

- /healthz and /metrics answer; JSON logs are one object per line and hold no secret.
- A restart resumes from the database: a source polled a moment ago is not polled again.
- SIGTERM/SIGINT with a slow page in flight: exit 0 within a few seconds, lease released.
- SIGKILL mid-poll: nothing of that poll is stored; after a restart the poll completes and
  every change is alerted once.
- SIGHUP / `watcher reload`: a valid edit schedules new sources; an invalid one is logged
  with file:line and the old configuration keeps running.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from pathlib import Path

import httpx2
import pytest

from tests.helpers.daemon import (
    DaemonProcess,
    daemon_env,
    fund_page,
    html_source,
    wait_until,
    watcher,
    watcher_json,
)
from tests.helpers.http_server import LocalServer
from tests.helpers.smtp_server import PASSWORD, SmtpServer
from watcher import store
from watcher.store import queries
from watcher.store import sources as source_store

pytestmark = pytest.mark.slow


def add_source(env: dict[str, str], name: str, url: str, interval: str) -> Path:
    path = Path(env["WATCHER_SOURCES_DIR"]) / f"{name}.yaml"
    path.write_text(html_source(name, url, interval))
    return path


def sqlite_rows(env: dict[str, str], query: str) -> list[tuple[object, ...]]:
    path = env["WATCHER_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def stored(database_url: str) -> tuple[list[str], list[str]]:
    """(sources with a recorded poll, names in the change log), read from the database."""
    engine = store.make_engine(database_url)
    try:
        with store.transaction(engine) as session:
            polled = [h.name for h in source_store.health(session) if h.last_polled_at]
            changes = [e.name for e in queries.change_log(session)]
    finally:
        engine.dispose()
    return polled, changes


def test_http_health_metrics_and_json_logs_without_secrets(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer,
        daemons: list[DaemonProcess]) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    site.routes["/alpha.htm"] = fund_page("Alpha", 500)
    add_source(env, "alpha", site.url("/alpha.htm"), "1h")

    daemon = DaemonProcess.start(env, tmp_path / "daemon.log",
                                 run_args=("--http", "127.0.0.1:0", "--log-format", "json"))
    daemons.append(daemon)
    daemon.wait_for_log("polled alpha")
    wait_until(lambda: len(smtp.messages) == 1, 10, "the new-fund email")
    daemon.wait_for_log("health http://")
    address = re.search(r"http://(127\.0\.0\.1:\d+)/", daemon.log())
    assert address, daemon.log()
    base = f"http://{address.group(1)}"

    health = httpx2.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["database"] == "ok"
    wait_until(lambda: 'watcher_deliveries_total{status="sent"} 1.0'
               in httpx2.get(f"{base}/metrics", timeout=5).text, 10, "the sent delivery metric")
    metrics = httpx2.get(f"{base}/metrics", timeout=5).text
    assert 'watcher_polls_total{result="ok",source="alpha"} 1.0' in metrics
    assert 'watcher_changes_total{source="alpha"} 1.0' in metrics
    assert 'watcher_fetch_seconds_count{source="alpha"} 1.0' in metrics
    assert 'watcher_outbox_depth{status="sent"} 1.0' in metrics
    assert re.search(r'watcher_last_success_timestamp_seconds\{source="alpha"\} 1\.\d+e\+09',
                     metrics)
    assert httpx2.get(f"{base}/", timeout=5).status_code == 200  # the web pages, mounted

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(10) == 0
    output = daemon.log()
    assert PASSWORD not in output, "a secret reached the log"
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["message"].startswith("polled alpha") for r in records)
    assert not (tmp_path / "watcher.pid").exists()  # removed on a clean exit


def test_restart_resumes_from_the_database(tmp_path: Path, site: LocalServer,
                                           smtp: SmtpServer,
                                           daemons: list[DaemonProcess]) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    site.routes["/alpha.htm"] = fund_page("Alpha", 500)
    site.routes["/bravo.htm"] = fund_page("Bravo", 300)
    add_source(env, "alpha", site.url("/alpha.htm"), "1h")

    first = DaemonProcess.start(env, tmp_path / "first.log")
    daemons.append(first)
    first.wait_for_log("polled alpha")
    first.send(signal.SIGTERM)
    assert first.wait_exit(10) == 0
    assert site.hits["/alpha.htm"] == 1

    # A new source joins; it has never been polled, so it is due at once. Its poll proves
    # the restarted scheduler had its chance to poll alpha too, and did not.
    add_source(env, "bravo", site.url("/bravo.htm"), "1h")
    second = DaemonProcess.start(env, tmp_path / "second.log")
    daemons.append(second)
    second.wait_for_log("polled bravo")
    assert site.hits["/bravo.htm"] == 1
    assert site.hits["/alpha.htm"] == 1, "the restart polled a source polled a moment ago"

    listed = {s["name"]: s for s in watcher_json(env, "sources")}
    assert listed["alpha"]["next_due_at"] is not None
    assert listed["alpha"]["last_success_at"] is not None
    second.send(signal.SIGTERM)
    assert second.wait_exit(10) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_with_a_slow_page_in_flight_exits_zero_promptly(
        signum: int, tmp_path: Path, site: LocalServer, smtp: SmtpServer,
        daemons: list[DaemonProcess]) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    site.routes["/slow.htm"] = fund_page("Slow", 100, delay_s=60)
    add_source(env, "slow", site.url("/slow.htm"), "1h")
    daemon = DaemonProcess.start(env, tmp_path / "daemon.log")
    daemons.append(daemon)
    wait_until(lambda: site.in_flight == 1, 15, "the slow request to arrive")

    sent = time.monotonic()
    daemon.send(signum)
    assert daemon.wait_exit(10) == 0
    elapsed = time.monotonic() - sent
    print(f"{signal.Signals(signum).name} with a poll in flight: exited in {elapsed:.2f}s")
    assert "abandoned 1 polls in flight" in daemon.log()
    # Nothing of the abandoned poll is stored, and its lease is free for the next start.
    assert sqlite_rows(env, "SELECT lease_owner, last_polled_at FROM source "
                            "WHERE name = 'slow'") == [(None, None)]
    assert sqlite_rows(env, "SELECT count(*) FROM document") == [(0,)]


def test_sigkill_mid_poll_loses_nothing_and_the_restart_completes_the_poll_once(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer, database_url: str,
        daemons: list[DaemonProcess]) -> None:
    env = daemon_env(tmp_path, database_url, smtp.mailto_url())
    site.routes["/alpha.htm"] = fund_page("Alpha", 500)
    # The first request hangs (the process is killed meanwhile); later ones answer.
    site.routes["/bravo.htm"] = [fund_page("Bravo", 300, delay_s=60), fund_page("Bravo", 300)]
    add_source(env, "alpha", site.url("/alpha.htm"), "1h")
    add_source(env, "bravo", site.url("/bravo.htm"), "2s")

    first = DaemonProcess.start(env, tmp_path / "first.log")
    daemons.append(first)
    first.wait_for_log("polled alpha")
    wait_until(lambda: len(smtp.messages) == 1, 10, "alpha's email")
    wait_until(lambda: site.in_flight == 1 and site.hits["/bravo.htm"] == 1, 10,
               "bravo's slow request")
    first.send(signal.SIGKILL)
    first.wait_exit(5)

    # Read in-process (the CLI is exercised elsewhere): quicker than two more processes.
    polled, changes = stored(database_url)
    assert "bravo" not in polled  # the killed poll stored nothing
    assert changes == ["Alpha Innovation Fund"]

    # The restart waits out the dead replica's lease (3 s), then polls bravo to the end.
    second = DaemonProcess.start(env, tmp_path / "second.log")
    daemons.append(second)
    second.wait_for_log("polled bravo", timeout=20)
    wait_until(lambda: len(smtp.messages) == 2, 10, "bravo's email")
    second.wait_for_log("polled bravo", timeout=10, count=2)  # polled again: 304, no change
    second.send(signal.SIGTERM)
    assert second.wait_exit(10) == 0

    subjects = sorted(smtp.subjects())
    assert len(subjects) == 2 and "Alpha" in subjects[0] and "Bravo" in subjects[1], subjects
    polled, changes = stored(database_url)
    assert sorted(changes) == ["Alpha Innovation Fund", "Bravo Innovation Fund"]
    assert set(polled) == {"alpha", "bravo"}
    assert site.hits["/alpha.htm"] == 1


def test_reload_schedules_new_sources_and_refuses_an_invalid_edit(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer,
        daemons: list[DaemonProcess]) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    site.routes["/alpha.htm"] = fund_page("Alpha", 500)
    site.routes["/bravo.htm"] = fund_page("Bravo", 300)
    add_source(env, "alpha", site.url("/alpha.htm"), "2s")
    daemon = DaemonProcess.start(env, tmp_path / "daemon.log")
    daemons.append(daemon)
    daemon.wait_for_log("polled alpha")
    wait_until(lambda: (tmp_path / "watcher.pid").exists(), 5, "the pid file")

    # A valid edit, announced with `watcher reload`: the new source is polled.
    add_source(env, "bravo", site.url("/bravo.htm"), "1h")
    reload = watcher(env, "reload")
    assert reload.returncode == 0, reload.stderr
    assert f"pid {daemon.pid}" in reload.stdout
    daemon.wait_for_log("configuration reloaded")
    wait_until(lambda: site.hits["/bravo.htm"] == 1, 10, "the new source's first poll")

    # An invalid edit: `watcher reload` reports it and sends nothing; a SIGHUP sent anyway
    # is refused by the daemon with the file and line, and the old sources keep polling.
    bad = add_source(env, "charlie", site.url("/charlie.htm"), "1h")
    bad.write_text(bad.read_text() + "selectr: p\n")
    refused = watcher(env, "reload")
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"{bad}:6:1:") and "selectr" in refused.stderr
    daemon.send(signal.SIGHUP)
    daemon.wait_for_log("reload refused")
    assert f"{bad}:6:1:" in daemon.log()
    polls = daemon.log().count("polled alpha")
    daemon.wait_for_log("polled alpha", timeout=10, count=polls + 1)
    assert daemon.alive() and site.hits["/charlie.htm"] == 0

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(10) == 0
    assert PASSWORD not in daemon.log()


def test_reload_without_a_daemon_is_one_clear_line(tmp_path: Path, smtp: SmtpServer) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    result = watcher(env, "reload")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"no running daemon: {tmp_path / 'watcher.pid'} does not exist (is `watcher run` "
        "running with the same settings? WATCHER_PID_FILE names the file)")


def test_a_second_daemon_refuses_unless_it_replaces_the_first(
        tmp_path: Path, smtp: SmtpServer, daemons: list[DaemonProcess]) -> None:
    env = daemon_env(tmp_path, f"sqlite:///{tmp_path / 'watcher.db'}", smtp.mailto_url())
    first = DaemonProcess.start(env, tmp_path / "first.log")
    daemons.append(first)
    first.wait_for_log("watcher running")
    # It says what it runs on: the database, what it loaded, where health would be.
    assert re.search(r"watcher running as \S+: 0 sources, \d+ rules; alerts to 1 target; "
                     rf"database sqlite:///{re.escape(str(tmp_path))}/watcher.db",
                     first.log()), first.log()
    assert "no health or metrics endpoint (`watcher run --http" in first.log()

    second = watcher(env, "run")
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"watcher is already running as pid {first.pid} ({tmp_path / 'watcher.pid'}); stop "
        "it first, or start with `watcher run --replace` to stop it and take over")
    assert first.alive()

    third = DaemonProcess.start(env, tmp_path / "third.log", run_args=("--replace",))
    daemons.append(third)
    third.wait_for_log("watcher running")
    assert first.wait_exit(15) == 0  # asked to stop, and stopped cleanly
    reload = watcher(env, "reload")  # the replaced one's exit left the new one's file
    assert reload.returncode == 0, reload.stderr
    assert f"pid {third.pid}" in reload.stdout
    third.wait_for_log("configuration reloaded")
    third.send(signal.SIGTERM)
    assert third.wait_exit(10) == 0
    assert not (tmp_path / "watcher.pid").exists()
