"""Faults injected into real processes: what watcher promises under them (README,
"Running in production": nothing lost, duplicates only where the outbox says so).

- SIGKILL at several points of a 30-item feed poll and of its sends (a real `watcher run`
  process, a real SMTP server): after a restart all 30 alerts arrive; an alert arrives
  twice only if its delivery was claimed ("sending") when the process died.
- The SQLite file made read-only under the running daemon (chattr +i, as an operator or a
  failing disk would), then writable again: /healthz says 503 meanwhile, the poll is
  retried after a backoff (not an hour later, at its interval) and every alert arrives
  once.
- A full disk under `watcher check` (a file size limit on the process): exit 1 and one
  line, no summary claiming changes that were never stored; the next run stores and
  sends them once.

Every wait polls with a deadline (tests/helpers/daemon.py); nothing sleeps a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.helpers.daemon import (
    PAGE,
    REPO,
    DaemonProcess,
    daemon_env,
    fund_page,
    wait_until,
    watcher,
)
from tests.helpers.http_server import LocalServer, Reply
from tests.helpers.smtp_server import SmtpServer
from watcher import store
from watcher.store import outbox

NAMES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India",
         "Juliet", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo",
         "Sierra", "Tango", "Uniform", "Victor", "Whiskey", "Xray", "Yankee", "Zulu", "Amber",
         "Beryl", "Coral", "Dune"]
ITEMS = len(NAMES)  # 30: a first chunk of 25 pages and a second of 5


def publish(site: LocalServer, gates: dict[int, threading.Event] | None = None,
            padding: int = 0) -> set[str]:
    """A feed of 30 press releases, each launching its own fund; the pages numbered in
    ``gates`` are held until their gate opens. ``padding`` words of varied text make each
    page larger. Returns the 30 alert subjects the shipped rules give."""
    items = "".join(f"<item><title>Release {i}</title><link>{site.url(f'/p/{i}.htm')}</link>"
                    f"<guid>{site.url(f'/p/{i}.htm')}</guid></item>" for i in range(ITEMS))
    site.routes["/feed.xml"] = Reply(200, {"Content-Type": "application/rss+xml",
                                           "ETag": '"feed-1"'},
                                     (f'<?xml version="1.0"?><rss version="2.0"><channel>'
                                      f"<title>news</title><link>{site.base_url}/</link>"
                                      f"<description>d</description>{items}</channel></rss>"
                                      ).encode())
    subjects = set()
    for i, name in enumerate(NAMES):
        reply = fund_page(name, 100 + i, gate=(gates or {}).get(i))
        if padding:
            words = " ".join(f"word{(i * 7919 + k * 104729) % 1_000_003}"
                             for k in range(padding))
            reply.body = PAGE.format(name=name, amount=100 + i).replace(
                "</body>", f"<p>{words}</p></body>").encode()
        site.routes[f"/p/{i}.htm"] = reply
        subjects.add(f"New fund: {name} Innovation Fund (HK${100 + i} million)")
    return subjects


def feed_source(env: dict[str, str], site: LocalServer, interval: str) -> dict[str, str]:
    """The feed as the source ``news``; alerts one email each (no storm summary), so the
    test can tell which arrived."""
    sources = Path(env["WATCHER_SOURCES_DIR"])
    (sources / "news.yaml").write_text(
        f"name: news\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: {interval}\n"
        "tags: [gov]\nfollow: {}\n")
    routes = sources.parent / "routes.yaml"
    routes.write_text("storm_threshold: 1000\n")
    env["WATCHER_ROUTES_FILE"] = str(routes)
    return env


def read_db(database_url: str, read: object) -> object:
    engine = store.make_engine(database_url)
    try:
        with store.transaction(engine) as session:
            return read(session)  # type: ignore[operator]
    finally:
        engine.dispose()


def documents(database_url: str) -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from watcher.store.tables import DocumentRow

    return int(read_db(database_url, lambda s: s.exec(  # type: ignore[arg-type]
        select(func.count()).select_from(DocumentRow)).one()))


def claimed(database_url: str) -> set[str]:
    """The subjects of deliveries claimed and not marked: those a dispatcher may have
    handed over before it died, and that the outbox will send again."""
    rows = read_db(database_url, lambda s: outbox.listing(s, "sending", limit=1000))
    return {row.subject for row in rows}  # type: ignore[attr-defined]


# --- SIGKILL mid-poll and mid-send -------------------------------------------------------

KILL_POINTS = {
    # The first chunk is still being fetched: nothing of the poll is stored.
    "first-chunk": 3,
    # The first chunk (25 pages, their changes and alerts) is stored, the second is not.
    # Before: the feed's 304 on restart left the last 5 alerts lost for good.
    "between-chunks": 27,
    # Every page is stored; the dispatcher has handed the 11th email over, unanswered.
    "mid-send": None,
}


@pytest.mark.slow
@pytest.mark.parametrize(("point", "database"), [
    ("first-chunk", "sqlite"), ("between-chunks", "sqlite"), ("mid-send", "sqlite"),
    pytest.param("between-chunks", "postgres", marks=pytest.mark.postgres),
])
def test_sigkill_during_a_30_item_poll_loses_no_alert(
        point: str, database: str, tmp_path: Path, site: LocalServer,
        daemons: list[DaemonProcess], request: pytest.FixtureRequest) -> None:
    database_url = (f"sqlite:///{tmp_path / 'watcher.db'}" if database == "sqlite"
                    else str(request.getfixturevalue("postgres_url")))
    held_page = KILL_POINTS[point]
    gate = threading.Event()
    expected = publish(site, {held_page: gate} if held_page is not None else None)
    smtp = SmtpServer(hold_after=10 if held_page is None else None).start()
    try:
        env = daemon_env(tmp_path, database_url, smtp.mailto_url(),
                         WATCHER_DELIVERY_LEASE_S="2")
        feed_source(env, site, "2s")

        first = DaemonProcess.start(env, tmp_path / "first.log")
        daemons.append(first)
        first.wait_for_log("watcher running", timeout=30)  # the schema is there
        if point == "first-chunk":
            wait_until(lambda: site.hits[f"/p/{held_page}.htm"] == 1, 30, "the held page")
            assert documents(database_url) == 0
        elif point == "between-chunks":
            wait_until(lambda: documents(database_url) == 25, 30, "the first chunk stored")
        else:
            wait_until(smtp.held.is_set, 30, "the 11th email handed over")
        first.send(signal.SIGKILL)
        first.wait_exit(10)
        resendable = claimed(database_url)
        smtp.release()
        gate.set()

        second = DaemonProcess.start(env, tmp_path / "second.log")
        daemons.append(second)
        wait_until(lambda: set(smtp.subjects()) >= expected, 60, "all 30 alerts")
        second.wait_for_log("polled news: 1 request, 1 not modified", timeout=20)
        second.send(signal.SIGTERM)
        assert second.wait_exit(10) == 0
    finally:
        smtp.stop()

    received = Counter(smtp.subjects())
    assert set(received) == expected, "an alert was lost or an unexpected one sent"
    twice = {subject for subject, count in received.items() if count > 1}
    # A duplicate only where the outbox held the delivery as claimed when the process
    # died (the README's "a crash between sending and marking sends again"), and once.
    assert twice <= resendable, (twice, resendable)
    assert max(received.values()) <= 2
    if point == "mid-send":
        assert len(twice) == 1  # the email held unanswered went out again
    rows = read_db(database_url, lambda s: outbox.listing(s, limit=1000))
    assert len(rows) == ITEMS and {r.status for r in rows} == {"sent"}  # type: ignore[attr-defined]
    assert documents(database_url) == ITEMS


# --- a read-only database under the daemon ------------------------------------------------


def _chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Files made immutable (chattr +i: not even root may write them) until the test says
    otherwise or ends. Needs root and a filesystem with the flag."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    try:
        _chattr("+i", probe)
        _chattr("-i", probe)
    except (OSError, subprocess.CalledProcessError) as exc:
        reason = f"chattr +i is not available here ({exc.__class__.__name__}): needs root"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    made: list[Path] = []
    yield made
    if made:
        _chattr("-i", *made)


@pytest.mark.slow
def test_read_only_database_fails_the_poll_then_the_retry_delivers_once(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer, immutable: list[Path],
        daemons: list[DaemonProcess]) -> None:
    database = tmp_path / "watcher.db"
    gate = threading.Event()
    expected = publish(site, {0: gate})
    env = daemon_env(tmp_path, f"sqlite:///{database}", smtp.mailto_url(),
                     WATCHER_POLL_RETRY_S="1")
    feed_source(env, site, "1h")  # an hour: only a retry can poll it again in this test
    daemon = DaemonProcess.start(env, tmp_path / "daemon.log",
                                 run_args=("--http", "127.0.0.1:0"))
    daemons.append(daemon)
    daemon.wait_for_log("health http://")
    address = re.search(r"http://(127\.0\.0\.1:\d+)/", daemon.log())
    assert address, daemon.log()
    base = f"http://{address.group(1)}"
    assert httpx2.get(f"{base}/healthz", timeout=10).status_code == 200

    wait_until(lambda: site.hits["/p/0.htm"] == 1, 30, "the poll to fetch its pages")
    files = [p for p in (database, Path(f"{database}-wal")) if p.exists()]
    _chattr("+i", *files)
    immutable.extend(files)
    gate.set()

    daemon.wait_for_log("database error")
    health = httpx2.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 503, health.text
    assert health.json()["database"] != "ok"
    assert health.json()["unstored_polls"] == ["news"]
    daemon.wait_for_log("trying the poll again", count=2)  # retried, and failed again
    metrics = httpx2.get(f"{base}/metrics", timeout=10).text
    assert re.search(r'watcher_polls_unstored_total\{source="news"\} [2-9]', metrics), metrics
    assert smtp.messages == []

    _chattr("-i", *files)
    immutable.clear()
    wait_until(lambda: set(smtp.subjects()) >= expected, 60, "the 30 alerts after recovery")
    wait_until(lambda: httpx2.get(f"{base}/healthz", timeout=10).status_code == 200, 20,
               "/healthz to say ok again")
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(10) == 0

    assert sorted(smtp.subjects()) == sorted(expected)  # each once
    [news] = json.loads(watcher(env, "sources", "--json").stdout)
    assert news["last_error"].startswith("database error:")  # recorded once allowed
    assert news["consecutive_failures"] == 0 and news["last_success_at"]
    assert daemon.log().count("polled news:") >= 3


# --- a full disk under `watcher check` ----------------------------------------------------


def _check_with_file_limit(env: dict[str, str], limit: int) -> subprocess.CompletedProcess[str]:
    """`watcher check --json` in a process that may not grow a file past ``limit`` bytes:
    SQLite's writes beyond it fail as they do on a full disk (Python ignores SIGXFSZ)."""
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "watcher", "check", "--json"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          preexec_fn=limited)


def test_a_full_disk_makes_check_fail_without_a_false_summary(
        tmp_path: Path, site: LocalServer, smtp: SmtpServer) -> None:
    database = tmp_path / "watcher.db"
    expected = publish(site, padding=3000)  # ~30 KB a page: the first chunk will not fit
    env = daemon_env(tmp_path, f"sqlite:///{database}", smtp.mailto_url())
    feed_source(env, site, "1h")
    assert watcher(env, "init").returncode == 0
    assert not Path(f"{database}-wal").exists()  # checkpointed: writes start a new WAL

    full = _check_with_file_limit(env, database.stat().st_size + 64 * 1024)
    assert full.returncode == 1, full.stderr
    # The log says what happened as it happened; the verdict is the last line, alone.
    line = full.stderr.strip().splitlines()[-1]
    assert line.startswith("news: the poll could not be stored: database error: "
                           "OperationalError: "), full.stderr
    assert "Traceback" not in full.stderr
    summary = json.loads(full.stdout)
    [news] = summary["sources"]
    assert news["incomplete"] and (news["documents"], news["changes"], news["alerts"]) == (
        0, 0, 0)
    assert summary["sent"] == 0 and smtp.messages == []

    recovered = watcher(env, "check", "--json", timeout=120)
    assert recovered.returncode == 0, recovered.stderr
    [news] = json.loads(recovered.stdout)["sources"]
    assert (news["documents"], news["changes"]) == (ITEMS, ITEMS)
    assert sorted(smtp.subjects()) == sorted(expected)  # each once
