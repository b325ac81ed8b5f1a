"""One announcement, three documents, one change, one alert.

The Microelectronics Centre opening arrives as the English GIA release, the Chinese GIA
release and a news.gov.hk story. One `watcher check` (a subprocess, as in
test_poll_to_email.py) polls the three shipped sources, whose YAML is used as shipped with
only the hosts moved to a local server; the change (planned -> opened, a status the
baseline knows) must be stored once with all three documents linked, and mailed once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_poll_to_email import watcher
from tests.helpers.catalogue import FIXTURES, Site
from tests.helpers.http_server import LocalServer, child_env
from tests.helpers.smtp_server import SmtpServer

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["gia-press-releases-en", "gia-press-releases-zh", "news-gov-hk-top-stories-en"]
KEY = "microelectronics-centre"


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        Site.load(FIXTURES / "twins").serve(server)
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, site: LocalServer, smtp: SmtpServer, database_url: str
        ) -> dict[str, str]:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("gia.yaml", "news-gov-hk.yaml"):
        text = (REPO / "sources" / name).read_text(encoding="utf-8")
        for host in ("https://www.info.gov.hk", "https://www.news.gov.hk"):
            text = text.replace(host, site.base_url)
        (sources / name).write_text(text, encoding="utf-8")
    return {
        **child_env(),
        "WATCHER_DATABASE_URL": database_url,
        "WATCHER_SOURCES_DIR": str(sources),
        "WATCHER_RULES_DIR": str(REPO / "rules"),
        "WATCHER_NOTIFY": smtp.mailto_url(),
        "WATCHER_PER_HOST_DELAY_S": "0",
    }


def test_one_announcement_in_three_sources_is_one_change_and_one_alert(
        env: dict[str, str], site: LocalServer, smtp: SmtpServer) -> None:
    args = [arg for name in SOURCES for arg in ("--source", name)]
    checked = watcher(env, "check", "--json", *args)
    assert checked.returncode == 0, checked.stderr
    summary = json.loads(checked.stdout)
    assert sorted(s["source"] for s in summary["sources"]) == sorted(SOURCES)
    assert all(s["documents"] == 1 and not s["error"] for s in summary["sources"]), summary

    log = json.loads(watcher(env, "log", "--json").stdout)
    changes = [e for e in log if e["key"] == KEY]
    assert len(changes) == 1, changes
    assert changes[0]["type"] == "changed"

    shown = watcher(env, "show", str(changes[0]["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    linked = json.loads(shown.stdout)["sources"]
    assert len(linked) == 3, linked
    assert {d["language"] for d in linked} == {"en", "zh"}
    assert {d["url"] for d in linked} == {
        site.url("/gia/general/202409/06/P2024090600412.htm"),
        site.url("/gia/general/202409/06/P2024090600413.htm"),
        site.url("/eng/2024/09/20240906/20240906_123000_512.html"),
    }

    mails = [m for m in smtp.messages if "Microelectronics Centre" in str(m["Subject"])]
    assert len(mails) == 1, smtp.subjects()
    assert len(smtp.messages) == 1, smtp.subjects()
    # The one email names every page that reported the change.
    parts = [p for p in mails[0].walk() if p.get_content_maintype() == "text"]
    text = " ".join(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
                    for p in parts)
    assert "Reported by 3 pages" in text
    for document in linked:
        assert document["url"] in text
