"""End to end, with real parts only: a local page server in the shape of the government's
press-release feed, the real `watcher` command in a subprocess, a real database (SQLite
file and PostgreSQL), and a real SMTP server receiving Apprise's email.

1. First poll: a new fund and a new facility -> one email per matching rule.
2. Nothing changed: no new change, no email (and every request is conditional).
3. The fund's amount changes on its page -> exactly one "changed" alert.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from string import Template

import pytest

from tests.helpers.http_server import LocalServer, Reply, child_env
from tests.helpers.smtp_server import PASSWORD, SmtpServer

REPO = Path(__file__).resolve().parents[2]
SITE = Path(__file__).parent / "site"
FUND_PATH = "/gia/general/202411/20/P2024112000321.htm"
FACILITY_PATH = "/gia/general/202411/20/P2024112000456.htm"
FEED_PATH = "/gia/rss/general_en.xml"

FUND_TEXT = """\
     The Government today (November 20) announced the launch of the Industry Upgrading
Matching Fund, a $amount fund that will subsidise manufacturers on a 1:1 matching basis
to set up smart production lines in Hong Kong.<br><br>
     Applications will open next month."""
FACILITY_TEXT = """\
     The Hong Kong Science and Technology Parks Corporation announced today that the
Advanced Materials Research Centre will be set up to support the development of new
materials for industry.<br><br>
     Details will be announced in due course."""


def release(title: str, body: str) -> bytes:
    template = Template((SITE / "release.html.tmpl").read_text())
    return template.substitute(title=title, body=body).encode()


def page(body: bytes, etag: str) -> Reply:
    return Reply(200, {"Content-Type": "text/html; charset=utf-8", "ETag": etag}, body)


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        feed = Template((SITE / "feed.xml.tmpl").read_text()).substitute(base=server.base_url)
        server.routes[FEED_PATH] = Reply(
            200, {"Content-Type": "application/rss+xml", "ETag": '"feed-1"'}, feed.encode())
        server.routes[FUND_PATH] = page(release(
            "Government launches Industry Upgrading Matching Fund",
            Template(FUND_TEXT).substitute(amount="HK$500 million")), '"fund-1"')
        server.routes[FACILITY_PATH] = page(release(
            "HKSTP to set up Advanced Materials Research Centre", FACILITY_TEXT), '"fac-1"')
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def watcher(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", *args], env=env, cwd=REPO, capture_output=True,
        text=True, timeout=120,
    )
    assert PASSWORD not in result.stdout + result.stderr, "a secret reached the output"
    return result


@pytest.fixture
def env(tmp_path: Path, site: LocalServer, smtp: SmtpServer, database_url: str) -> dict[str, str]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "gia.yaml").write_text(f"""\
name: gia-press-releases-en
kind: rss
url: {site.url(FEED_PATH)}
interval: 15m
tags: [gov, en]
follow:
  title: "span#PRHeadlineSpan"
  body: "span#pressrelease"
  drop: ["div.mB15.f15"]
""")
    return {
        **child_env(),
        "WATCHER_DATABASE_URL": database_url,
        "WATCHER_SOURCES_DIR": str(sources),
        "WATCHER_RULES_DIR": str(REPO / "rules"),
        "WATCHER_NOTIFY": smtp.mailto_url(),
        "WATCHER_PER_HOST_DELAY_S": "0",
    }


def test_poll_extract_diff_store_and_email(env: dict[str, str], site: LocalServer,
                                           smtp: SmtpServer) -> None:
    first = watcher(env, "check")
    assert first.returncode == 0, first.stderr

    subjects = smtp.subjects()
    fund_mails = [s for s in subjects if "Industry Upgrading Matching Fund" in s]
    facility_mails = [s for s in subjects if "Advanced Materials Research Centre" in s]
    assert len(fund_mails) == 1 and "HK$500 million" in fund_mails[0], subjects
    assert len(facility_mails) == 1, subjects
    assert len(subjects) == 2, subjects
    body = next(m for m in smtp.messages if "Matching Fund" in str(m["Subject"]))
    assert "HK$500 million" in body.as_string()

    log = json.loads(watcher(env, "log", "--json").stdout)
    assert {e["key"] for e in log} >= {"industry-upgrading-matching-fund"}
    fund = next(e for e in log if e["key"] == "industry-upgrading-matching-fund")
    assert fund["type"] == "new" and fund["current"]["amount_hkd"] == 500_000_000
    assert fund["sources"][0]["url"] == site.url(FUND_PATH)

    # Second run, nothing changed: conditional requests answered 304, no change, no mail.
    hits_before = dict(site.hits)
    second = watcher(env, "check", "--json")
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["sources"][0]["not_modified"] == 1  # the feed itself: 304
    assert summary["sources"][0]["changes"] == 0
    assert site.hits[FEED_PATH] == hits_before[FEED_PATH] + 1
    assert len(smtp.messages) == 2
    assert len(json.loads(watcher(env, "log", "--json").stdout)) == len(log)

    # The release is re-issued with a higher amount; the feed lists it again (a feed whose
    # bytes did not change is not read again, so its items are not revisited): one
    # "changed" alert.
    feed = site.routes[FEED_PATH]
    assert isinstance(feed, Reply)
    revised = feed.body.replace(b"Matching Fund</title>", b"Matching Fund (revised)</title>")
    site.routes[FEED_PATH] = Reply(200, {**feed.headers, "ETag": '"feed-2"'}, revised)
    site.routes[FUND_PATH] = page(release(
        "Government launches Industry Upgrading Matching Fund",
        Template(FUND_TEXT).substitute(amount="HK$800 million")), '"fund-2"')
    third = watcher(env, "check", "--json")
    assert third.returncode == 0, third.stderr
    new_subjects = smtp.subjects()[2:]
    assert len(new_subjects) == 1, (new_subjects, third.stdout, third.stderr)
    assert "HK$500 million" in new_subjects[0] and "HK$800 million" in new_subjects[0]

    changed = json.loads(watcher(env, "log", "--json", "--type", "changed").stdout)
    assert [(c["before"], c["after"]) for c in changed] == [
        ({"amount_hkd": 500_000_000}, {"amount_hkd": 800_000_000})]
    shown = watcher(env, "show", str(changed[0]["id"]))
    assert "HK$800 million" in shown.stdout and "sent" in shown.stdout


def test_bad_source_file_is_one_line_with_file_and_line(env: dict[str, str]) -> None:
    bad = Path(env["WATCHER_SOURCES_DIR"]) / "broken.yaml"
    bad.write_text("name: broken\nkind: rss\nurl: http://127.0.0.1:9/\nselectr: x\n")
    result = watcher(env, "check")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{bad}:4:1:") and "selectr" in line
