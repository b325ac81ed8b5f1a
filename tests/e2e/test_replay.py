"""The alert replay: real GIA press releases, polled once by the daemon, every alert judged.

The `test` part of the real-page set (tests/eval/real: pages nobody tuned extraction on)
holds 24 dated GIA releases, English and Chinese, from 2001 to 2025. They are served from
127.0.0.1 as one feed (newest first, as GIA lists them) and pages in the GIA page shape;
the shipped GIA source's reader (sources/gia.yaml, on the local server, reading both
languages) and the shipped rules read them in one poll of a real `watcher run`, which
mails its alerts to a real SMTP server. tests/helpers/replay.py says how each alert is judged
against the labels. Printed: alert precision and recall, and the kinds of mistake (never
which page: the lead must not tune extraction on test pages).

The issue's floors: at least 95% of alerts right, at least 90% of the announced new funds,
facilities and status moves alerted, and no fact's size changed by a page that states no
size. The last holds; the first two are not reached yet, and the test holds the replay to
what it measured (below).
"""

from __future__ import annotations

import signal
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlmodel import col, select

from tests.helpers.daemon import REPO, DaemonProcess, daemon_env, wait_until
from tests.helpers.http_server import LocalServer
from tests.helpers.replay import FEED, Alert, SizeChange, judge, replay_pages, serve
from tests.helpers.smtp_server import SmtpServer
from watcher import store
from watcher.store.tables import ChangeDocumentRow, ChangeRow, DocumentRow, OutboxRow

pytestmark = pytest.mark.slow

# Issue 14 asks for at least 0.95 and 0.90. The replay stands at 0.857 (12 of 14 alerts
# right) and 0.464 (13 of 28 announced things alerted) on 2026-12-08 (README, "Alerts,
# replayed"): those figures are the floors, so no change lowers them unnoticed, until
# extraction reaches the issue's.
ISSUE_PRECISION, ISSUE_RECALL = 0.95, 0.90
PRECISION_FLOOR = 0.85
RECALL_FLOOR = 0.46
SOURCE = "gia-press-releases"


def shipped_feed(base_url: str) -> str:
    """The shipped English GIA feed source, reading the replay's feed of both languages
    (its language left to be read off each page)."""
    text = (REPO / "sources" / "gia.yaml").read_text(encoding="utf-8")
    [block] = [b for b in text.split("\n---\n") if "name: gia-press-releases-en\n" in b]
    lines = [line for line in block.splitlines() if not line.startswith("language:")]
    block = "\n".join(lines).replace("name: gia-press-releases-en", f"name: {SOURCE}")
    shipped = "https://www.info.gov.hk/gia/rss/general_en.xml"
    assert shipped in block, "the shipped feed moved"
    return block.replace(shipped, base_url + FEED) + "\n"


def read_store(database_url: str) -> tuple[list[Alert], list[SizeChange], list[str]]:
    """(every alert queued, with its change; every size change; the status of each
    delivery that is not held for a digest)."""
    engine = store.make_engine(database_url)
    try:
        with store.transaction(engine) as session:
            rows = session.exec(
                select(OutboxRow, ChangeRow, DocumentRow)
                .join(ChangeRow, col(ChangeRow.id) == col(OutboxRow.change_id))
                .join(DocumentRow, col(DocumentRow.id) == col(ChangeRow.document_id))
                .order_by(col(OutboxRow.id))).all()
            alerts = [Alert(o.rule_id, o.subject, c.type, c.kind, c.fact_key, dict(c.after),
                            _path(d.url)) for o, c, d in rows]
            immediate = [o.status for o, _, _ in rows if o.route is None]
            sized = session.exec(select(ChangeRow).where(ChangeRow.type == "changed")).all()
            sizes = []
            for change in sized:
                if "amount_hkd" not in change.after:
                    continue
                urls = session.exec(
                    select(DocumentRow.url)
                    .join(ChangeDocumentRow,
                          col(ChangeDocumentRow.document_id) == col(DocumentRow.id))
                    .where(ChangeDocumentRow.change_id == change.id)).all()
                sizes.append(SizeChange(change.fact_key, tuple(_path(u) for u in urls)))
    finally:
        engine.dispose()
    return alerts, sizes, immediate


def mail_text(smtp: SmtpServer) -> str:
    """Every received email's subject and text, decoded."""
    texts = []
    for message in smtp.messages:
        texts.append(str(make_header(decode_header(str(message["Subject"])))))
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_replay_of_real_releases_alerts_right(tmp_path: Path, smtp: SmtpServer,
                                             daemons: list[DaemonProcess]) -> None:
    pages = replay_pages()
    assert len(pages) >= 20 and {p.case.language for p in pages} == {"en", "zh"}
    database_url = f"sqlite:///{tmp_path / 'watcher.db'}"
    with LocalServer() as site:
        serve(site, pages)
        env = daemon_env(tmp_path, database_url, smtp.mailto_url())
        (Path(env["WATCHER_SOURCES_DIR"]) / "gia.yaml").write_text(
            shipped_feed(site.base_url), encoding="utf-8")
        process = DaemonProcess.start(env, tmp_path / "daemon.log")
        daemons.append(process)
        process.wait_for_log(f"polled {SOURCE}", timeout=60)
        assert all(site.hits[p.path] == 1 for p in pages), "a page was not read once"
        wait_until(lambda: all(s == "sent" for s in read_store(database_url)[2]), 60,
                   "every immediate alert to be sent")
        process.send(signal.SIGTERM)
        assert process.wait_exit(15) == 0
    assert "Traceback" not in process.log()
    alerts, sizes, immediate = read_store(database_url)
    held = len(alerts) - len(immediate)
    # Every alert not held for the morning digest reached the inbox (alone, or listed in
    # one message when a storm of them came at once).
    received = mail_text(smtp)
    assert smtp.messages if immediate else not smtp.messages
    assert all(a.subject in received for a in alerts if a.rule != "funding-terms-changed")

    verdict = judge(pages, alerts, sizes)
    met = verdict.precision >= ISSUE_PRECISION and verdict.recall >= ISSUE_RECALL
    print(f"\nalert replay: {len(pages)} real GIA releases (the test part), "
          f"{len(alerts)} alerts ({held} held for the digest)\n{verdict.report()}\n"
          f"issue 14's floors ({ISSUE_PRECISION}, {ISSUE_RECALL}): "
          f"{'met' if met else 'not met'}")
    assert verdict.sizes_unstated == 0, verdict.report()
    assert verdict.precision >= PRECISION_FLOOR, verdict.report()
    assert verdict.recall >= RECALL_FLOOR, verdict.report()
