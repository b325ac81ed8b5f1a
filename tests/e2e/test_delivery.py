"""Delivery end to end, with real parts: a real SMTP server (aiosmtpd), a real database
(SQLite file and PostgreSQL), the real pipeline detecting changes in pages, and Apprise
sending. Only Slack's servers are replaced, at the HTTP edge.

Time: dispatch cycles take ``now`` explicitly (a retry an hour later, tomorrow's digest),
so nothing sleeps; sends and marks still use the real clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.smtp_server import PASSWORD, SmtpServer
from watcher import store
from watcher.delivery.dispatch import DispatchReport, dispatch
from watcher.delivery.enqueue import enqueue_alerts
from watcher.delivery.pace import Pacer
from watcher.fetch.poll import Fetched, Page, PollReport
from watcher.models import Alert, Document, FetchResult
from watcher.pipeline import store_poll
from watcher.service.runtime import Runtime
from watcher.service.settings import Settings
from watcher.store import outbox
from watcher.store.timeutil import utcnow

REPO = Path(__file__).resolve().parents[2]
SOURCE = "gia-press-releases-en"
SLACK_URL = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
FUNDS = ["Green Transformation Fund", "Smart Logistics Fund", "Advanced Textiles Fund"]


def utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """``runtime(notify, routes=None, database_url=None)`` -> a Runtime on its own
    database, with the shipped rules; engines are disposed afterwards."""
    made: list[Runtime] = []

    def make(notify: str, routes: str | None = None, url: str | None = None) -> Runtime:
        sources = tmp_path / "sources"
        sources.mkdir(exist_ok=True)
        (sources / "gia.yaml").write_text(
            f"name: {SOURCE}\nkind: rss\nurl: https://www.info.gov.hk/gia/rss/general_en.xml\n"
            "tags: [gov, en]\n")
        routes_file = tmp_path / "routes.yaml"
        if routes is not None:
            routes_file.write_text(routes)
        settings = Settings(database_url=url or database_url, sources_dir=sources,
                            rules_dir=REPO / "rules", notify=notify, routes_file=routes_file,
                            retry_base_delay=timedelta(seconds=30))
        rt = Runtime.load(settings)
        made.append(rt)
        rt.init_database()
        return rt

    yield make
    for rt in made:
        rt.engine.dispose()


def announce(rt: Runtime, fund: str, now: datetime, amount: str = "HK$300 million") -> None:
    """The pipeline reads a press release announcing ``fund`` (a change: a new fund)."""
    slug = hashlib.sha1(fund.encode()).hexdigest()[:8]
    document = Document(
        url=f"https://www.info.gov.hk/gia/general/202501/15/P{slug}.htm", source=SOURCE,
        title=f"Government launches {fund}",
        text=(f"The Government today announced the launch of the {fund}, a {amount} fund "
              "that will subsidise manufacturers in Hong Kong."))
    content = f"{document.title}\n\n{document.text}".encode()
    digest = hashlib.sha256(content).hexdigest()
    fetched = Fetched(results=[(FetchResult(url=document.url, status=200), digest)],
                      pages=[Page(document, content, digest)])
    from watcher.extract import extract

    report = PollReport(source=SOURCE)
    store_poll(rt, rt.sources[SOURCE], fetched, [extract(document, rt.gazetteer)], report, now)
    assert report.changes == 1 and report.alerts >= 1, report


def cycle(rt: Runtime, now: datetime | None = None) -> DispatchReport:
    return asyncio.run(dispatch(rt, limit=1000, now=now))


def rows(rt: Runtime) -> list[outbox.Delivery]:
    with store.transaction(rt.engine) as session:
        return sorted(outbox.listing(session, limit=10_000), key=lambda d: d.id)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


# --- outages, retries, crashes --------------------------------------------------------------


def test_smtp_down_while_change_detected_then_exactly_one_email(
        runtime: Any, smtp: SmtpServer) -> None:
    rt = runtime(smtp.mailto_url())
    smtp.stop()
    now = utcnow()
    announce(rt, FUNDS[0], now)
    announce(rt, FUNDS[1], now)

    down = cycle(rt)
    assert (down.sent, down.failed, down.dead) == (0, 2, 0)
    assert [d.status for d in rows(rt)] == ["pending", "pending"]
    assert all(d.last_error and PASSWORD not in d.last_error for d in rows(rt))
    assert cycle(rt).sent == 0  # backing off: not due again yet

    smtp.start()
    later = utcnow() + timedelta(hours=1)
    up = cycle(rt, later)
    assert up.sent == 2
    assert sorted(smtp.subjects()) == sorted(
        f"New fund: {fund} (HK$300 million)" for fund in FUNDS[:2])
    assert cycle(rt, later + timedelta(hours=1)).sent == 0  # nothing is sent twice
    assert len(smtp.messages) == 2
    assert [d.status for d in rows(rt)] == ["sent", "sent"]


def test_two_targets_one_failing_is_retried_alone(runtime: Any, smtp: SmtpServer) -> None:
    broken = SmtpServer()  # not started: its port refuses connections
    rt = runtime(f"{smtp.mailto_url('a@example.org')} {broken.mailto_url('b@example.org')}")
    announce(rt, FUNDS[0], utcnow())

    first = cycle(rt)
    assert (first.sent, first.failed) == (1, 1)
    assert len(smtp.messages) == 1
    failing = [d for d in rows(rt) if d.status != "sent"]
    assert len(failing) == 1 and failing[0].attempts == 1

    second = cycle(rt, utcnow() + timedelta(hours=1))
    assert (second.sent, second.failed) == (0, 1)  # only the failing target was tried
    assert len(smtp.messages) == 1

    broken.start()
    try:
        third = cycle(rt, utcnow() + timedelta(hours=2))
        assert (third.sent, third.failed) == (1, 0)
        assert len(smtp.messages) == 1  # the healthy target still has exactly one
        assert [m["To"] for m in broken.messages] == ["b@example.org"]
    finally:
        broken.stop()


def test_dead_letter_after_max_age_is_visible_and_retryable(runtime: Any) -> None:
    rt = runtime(SmtpServer().mailto_url())  # never started
    announce(rt, FUNDS[0], utcnow() - timedelta(days=3))  # older than delivery_max_age
    report = cycle(rt)
    assert (report.failed, report.dead) == (1, 1)
    with store.transaction(rt.engine) as session:
        [dead] = outbox.listing(session, "dead")
        assert outbox.retry(session, dead.id, utcnow()) == 1
    assert [d.status for d in rows(rt)] == ["pending"]


def test_claimed_sent_but_never_marked_is_sent_again_after_the_lease(
        runtime: Any, smtp: SmtpServer) -> None:
    """A dispatcher that dies between send and mark: the lease runs out, the delivery is
    sent again (at least once; the crash window can mean twice, never zero)."""
    rt = runtime(smtp.mailto_url())
    announce(rt, FUNDS[0], utcnow())
    with store.transaction(rt.engine) as session:
        [claimed] = outbox.claim_due(session, "dying-replica", utcnow(), timedelta(minutes=2))
    assert rt.send(claimed.target, claimed.subject, claimed.body).ok  # ...and dies here
    assert cycle(rt).sent == 0  # the lease still holds
    after = cycle(rt, utcnow() + timedelta(minutes=3))
    assert after.sent == 1
    assert [d.status for d in rows(rt)] == ["sent"]
    assert len(smtp.messages) == 2


def test_sigkill_between_send_and_mark_does_not_lose_the_alert(
        runtime: Any, tmp_path: Path, database_url: str) -> None:
    # The first email is received, then its answer held: the dispatcher has handed it
    # over but cannot have marked it sent.
    smtp = SmtpServer(hold_after=0).start()
    try:
        rt = runtime(smtp.mailto_url())
        announce(rt, FUNDS[0], utcnow())
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")},
               "WATCHER_DATABASE_URL": database_url,
               "WATCHER_SOURCES_DIR": str(tmp_path / "sources"),
               "WATCHER_RULES_DIR": str(REPO / "rules"),
               "WATCHER_ROUTES_FILE": str(tmp_path / "routes.yaml"),
               "WATCHER_NOTIFY": smtp.mailto_url()}
        code = ("import asyncio\nfrom watcher.service.runtime import Runtime\n"
                "from watcher.pipeline import dispatch_outbox\n"
                "asyncio.run(dispatch_outbox(Runtime.load()))\n")
        child = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert smtp.held.wait(30), "the dispatcher never sent"
            child.send_signal(signal.SIGKILL)
            assert child.wait(10) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
        smtp.release()
        assert [d.status for d in rows(rt)] == ["sending"]  # sent, never marked

        assert cycle(rt).sent == 0  # the dead dispatcher's lease still holds
        after = cycle(rt, utcnow() + timedelta(minutes=3))
        assert after.sent == 1
        assert [d.status for d in rows(rt)] == ["sent"]
        subjects = smtp.subjects()
        assert subjects and set(subjects) == {f"New fund: {FUNDS[0]} (HK$300 million)"}
    finally:
        smtp.stop()


# --- digests, quiet hours, storms -----------------------------------------------------------

HK = timedelta(hours=8)


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    """A Hong Kong wall-clock time on 2025-01-<day>, as UTC."""
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC) - HK


def test_digest_collects_three_changes_into_one_email(runtime: Any, smtp: SmtpServer) -> None:
    rt = runtime(smtp.mailto_url(), routes=(
        "default: daily\nroutes:\n  daily:\n    mode: digest\n    schedule: '0 9 * * *'\n"))
    for hour, fund in zip((10, 11, 12), FUNDS, strict=True):
        announce(rt, fund, hk(15, hour))
    assert {utc(d.next_attempt_at) for d in rows(rt)} == {hk(16, 9)}

    assert cycle(rt, hk(15, 13)).sent == 0  # before the digest time: held
    report = cycle(rt, hk(16, 9, 1))
    assert (report.sent, report.messages) == (3, 1)
    [message] = smtp.messages
    assert message["Subject"] == "watcher digest: 3 alerts"
    text = message.get_payload(0).get_payload(decode=True).decode()
    for fund in FUNDS:
        assert f"New fund: {fund} (HK$300 million)" in text
    assert cycle(rt, hk(17, 9, 1)).sent == 0  # the next digest starts empty


def test_quiet_hours_defer_and_never_drop(runtime: Any, smtp: SmtpServer) -> None:
    rt = runtime(smtp.mailto_url(), routes=(
        "default: night\nroutes:\n  night:\n    quiet_hours: {start: '22:00', end: '07:00'}\n"))
    announce(rt, FUNDS[0], hk(15, 23, 30))
    [held] = rows(rt)
    assert utc(held.next_attempt_at) == hk(16, 7)
    assert cycle(rt, hk(16, 6, 59)).sent == 0
    assert smtp.messages == []
    assert cycle(rt, hk(16, 7, 1)).sent == 1
    assert smtp.subjects() == [f"New fund: {FUNDS[0]} (HK$300 million)"]


def test_retry_falling_into_quiet_hours_is_handed_back(runtime: Any, smtp: SmtpServer) -> None:
    rt = runtime(smtp.mailto_url(), routes=(
        "default: night\nroutes:\n  night:\n    quiet_hours: {start: '22:00', end: '07:00'}\n"))
    announce(rt, FUNDS[0], hk(15, 21, 0))
    report = cycle(rt, hk(15, 23, 0))  # due (queued at 21:00) but now quiet
    assert (report.sent, report.deferred) == (0, 1)
    [row] = rows(rt)
    assert row.status == "pending" and row.attempts == 0
    assert utc(row.next_attempt_at) == hk(16, 7)


def _alert(number: int) -> Alert:
    return Alert(rule_id="new-funding", change_identity=f"c{number}",
                 subject=f"New fund: Fund {number:02d}",
                 body=f"Fund {number:02d}\n\nhttps://www.info.gov.hk/gia/{number:02d}.htm",
                 tags=(), dedup_key=f"new-funding:fund-{number}")


def test_alert_storm_becomes_one_summary_per_target(runtime: Any, smtp: SmtpServer) -> None:
    rt = runtime(smtp.mailto_url(), routes="storm_threshold: 20\n")
    with store.transaction(rt.engine) as session:
        added = enqueue_alerts(session, [_alert(n) for n in range(25)], realert={},
                               routes=rt.routes, targets=rt.targets, change_id=None,
                               source_id=None, now=utcnow())
    assert added == 25
    report = cycle(rt)
    assert (report.sent, report.messages) == (25, 1)
    [message] = smtp.messages
    assert message["Subject"] == "watcher: 25 alerts at once"
    text = message.get_payload(0).get_payload(decode=True).decode()
    assert all(f"New fund: Fund {n:02d}" in text for n in range(25))
    assert "https://www.info.gov.hk/gia/24.htm" in text


# --- Slack, captured at the HTTP edge -------------------------------------------------------


@pytest.fixture
def slack_edge(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    from apprise.plugins.slack import NotifySlack

    payloads: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payloads.append({"path": self.path, **json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(NotifySlack, "webhook_url",
                        f"http://127.0.0.1:{server.server_address[1]}/services")
    try:
        yield payloads
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_slack_gets_compact_escaped_messages_one_per_second(
        runtime: Any, slack_edge: list[dict[str, Any]]) -> None:
    rt = runtime(SLACK_URL)
    clock = [1000.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:  # time passes only when the pacer waits
        waits.append(seconds)
        clock[0] += seconds

    rt.pacer = Pacer(clock=lambda: clock[0], sleep=fake_sleep)
    announce(rt, "Green <!channel> & Transformation Fund", utcnow())
    announce(rt, FUNDS[1], utcnow())
    announce(rt, FUNDS[2], utcnow())

    report = cycle(rt)
    assert report.sent == 3
    assert len(slack_edge) == 3
    assert waits == [1.0, 1.0]  # the 2nd and 3rd waited a second each; none dropped
    first = slack_edge[0]
    assert first["path"] == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    text = json.dumps(first)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "HK$300 million" in text
    assert "https://www.info.gov.hk/gia/general/202501/15/" in text
    assert all(PASSWORD not in json.dumps(p) for p in slack_edge)


def test_pacer_is_not_applied_to_email(runtime: Any, smtp: SmtpServer) -> None:
    rt = runtime(smtp.mailto_url())
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    rt.pacer = Pacer(clock=time.monotonic, sleep=fake_sleep)
    announce(rt, FUNDS[0], utcnow())
    announce(rt, FUNDS[1], utcnow())
    assert cycle(rt).sent == 2
    assert waits == []


# --- `watcher outbox retry` from the command line ------------------------------------------


def _cli_env(rt: Runtime, monkeypatch: pytest.MonkeyPatch, pid_file: Path) -> None:
    """The command line's settings: the same as the runtime's."""
    settings = rt.settings
    for name, value in (("DATABASE_URL", settings.database_url),
                        ("SOURCES_DIR", settings.sources_dir),
                        ("RULES_DIR", settings.rules_dir), ("NOTIFY", settings.notify),
                        ("ROUTES_FILE", settings.routes_file), ("PID_FILE", pid_file)):
        monkeypatch.setenv(f"WATCHER_{name}", str(value))


def _retry_all() -> Any:
    import logging

    from typer.testing import CliRunner

    from watcher.cli import app

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(app, ["outbox", "retry", "--all"])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_retry_all_sends_now_when_no_daemon_holds_the_outbox(
        runtime: Any, smtp: SmtpServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rt = runtime(smtp.mailto_url())
    smtp.stop()
    announce(rt, FUNDS[0], utcnow())
    assert cycle(rt).failed == 1  # backing off now: due again only in 30 s
    smtp.start()
    _cli_env(rt, monkeypatch, tmp_path / "watcher.pid")
    result = _retry_all()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "1 delivery queued again and sent now (no daemon running): 1 sent, 0 failed")
    assert smtp.subjects() == [f"New fund: {FUNDS[0]} (HK$300 million)"]
    assert [d.status for d in rows(rt)] == ["sent"]


def test_retry_all_leaves_the_sending_to_a_running_daemon(
        runtime: Any, smtp: SmtpServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rt = runtime(smtp.mailto_url())
    smtp.stop()
    announce(rt, FUNDS[0], utcnow())
    assert cycle(rt).failed == 1
    smtp.start()
    pid_file = tmp_path / "watcher.pid"
    _cli_env(rt, monkeypatch, pid_file)
    # A daemon's claim on the pid file, as `watcher run` holds it (another process).
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from watcher.service.pidfile import PidFile\n"
         f"PidFile.claim(Path({str(pid_file)!r}))\nprint('ready', flush=True)\n"
         "time.sleep(60)\n"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = _retry_all()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"1 delivery queued again; the daemon (pid {holder.pid}) sends them at its next "
        "dispatch (every 10s)")
    assert smtp.messages == []  # not sent twice over: the daemon's dispatch sends it
    assert [d.status for d in rows(rt)] == ["pending"]
