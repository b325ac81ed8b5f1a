"""Dismissals: `watcher dismiss`, its store function, and `watcher eval --export-dismissed`.

A dismissed change stays in the log, marked; the fact goes back to what it was; the same
claim never alerts again, from any page; another value is still news; deliveries still
waiting are not sent; the page becomes a draft eval case that the eval's own loader reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlmodel import col, select

from tests.helpers.cli import invoke
from tests.helpers.pages import Desk
from watcher import store
from watcher.eval.labels import load_case
from watcher.store import dismissals
from watcher.store import facts as fact_store
from watcher.store.tables import ChangeRow, OutboxRow
from watcher.store.timeutil import utcnow

KEY = "smart-factory-upgrading-scheme"
LAUNCH = ("The Government today launched the HK$5 billion Smart Factory Upgrading Scheme to "
          "subsidise manufacturers to set up smart production lines.")
WRONG = ("The Government today said the HK$100 million Smart Factory Upgrading Scheme will "
         "subsidise manufacturers to set up smart production lines.")
OTHER = ("The HK$8 billion Smart Factory Upgrading Scheme will subsidise manufacturers to set "
         "up smart production lines.")
URL = "https://www.info.gov.hk/gia/general/2025{:02d}/05/P20250{:02d}0500300.htm"


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    desk = Desk.open(database_url, tmp_path)
    yield desk
    desk.close()


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> Iterator[Desk]:
    """For the command line, which opens (and leaves to the process's end) its own engine:
    SQLite only, as the other command tests."""
    desk = Desk.open(f"sqlite:///{tmp_path / 'watcher.db'}", tmp_path)
    yield desk
    desk.close()


def changes(desk: Desk) -> list[ChangeRow]:
    with store.transaction(desk.rt.engine) as session:
        return list(session.exec(select(ChangeRow).where(ChangeRow.fact_key == KEY)
                                 .order_by(col(ChangeRow.id))).all())


def size(desk: Desk) -> int | None:
    with store.transaction(desk.rt.engine) as session:
        known = fact_store.current_facts(session, [KEY]).get(KEY)
    return known.amount_hkd if known else None


def dismiss(desk: Desk, change_id: int, reason: str = "") -> dismissals.Dismissal | None:
    with store.transaction(desk.rt.engine) as session:
        return dismissals.dismiss(session, change_id, reason, utcnow())


def test_a_dismissed_change_is_kept_marked_and_its_claim_never_returns(desk: Desk) -> None:
    desk.read(LAUNCH, url=URL.format(1, 1))
    desk.read(WRONG, url=URL.format(2, 2))
    new, wrong = changes(desk)
    assert (wrong.before, wrong.after) == ({"amount_hkd": 5_000_000_000},
                                           {"amount_hkd": 100_000_000})
    assert size(desk) == 100_000_000
    done = dismiss(desk, wrong.id, "  the $100 million is a minimum project cost  ")
    assert done is not None and not done.already
    assert done.restored == {"amount_hkd": 5_000_000_000, "status": "launched"}
    [_, marked] = changes(desk)
    assert marked.dismissed_at is not None
    assert marked.dismiss_reason == "the $100 million is a minimum project cost"
    assert size(desk) == 5_000_000_000
    with store.transaction(desk.rt.engine) as session:
        current = session.exec(select(fact_store.FactRow).where(
            fact_store.FactRow.key == KEY, fact_store.FactRow.scope == "current")).one()
    assert current.last_change_id == new.id
    assert [a["hkd"] for a in current.amounts] == [5_000_000_000]
    alerts = len(desk.subjects())
    # The same claim from another page: nothing. Another value: news.
    desk.read(WRONG, url=URL.format(3, 3), title="Another release")
    assert len(desk.subjects()) == alerts and size(desk) == 5_000_000_000
    desk.read(OTHER, url=URL.format(4, 4))
    assert desk.subjects()[-1] == ("Amount changed: Smart Factory Upgrading Scheme "
                                   "HK$5 billion -> HK$8 billion")
    # Twice is once.
    again = dismiss(desk, wrong.id)
    assert again is not None and again.already
    assert dismiss(desk, 10**9) is None


def test_dismissing_a_new_fact_forgets_it_and_holds_back_its_deliveries(desk: Desk) -> None:
    desk.read(LAUNCH, url=URL.format(1, 1))
    [new] = changes(desk)
    done = dismiss(desk, new.id, "no such scheme")
    assert done is not None and done.restored == {} and done.held_back == 1
    assert size(desk) is None
    with store.transaction(desk.rt.engine) as session:
        assert fact_store.current_facts(session, [KEY]) == {}
        statuses = session.exec(select(OutboxRow.status)).all()
    assert statuses == ["dismissed"]
    desk.read(LAUNCH, url=URL.format(2, 2))  # the same claim again, from another page
    assert len(changes(desk)) == 1 and size(desk) is None


def test_a_later_change_is_not_undone(desk: Desk) -> None:
    desk.read(LAUNCH, url=URL.format(1, 1))
    desk.read(WRONG, url=URL.format(2, 2))
    desk.read(OTHER, url=URL.format(3, 3))
    _, wrong, _later = changes(desk)
    dismiss(desk, wrong.id)
    assert size(desk) == 8_000_000_000  # the change after it stands


def test_export_writes_cases_the_eval_loader_reads(sqlite_desk: Desk, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from watcher.cli.dismissals import draft_label

    desk = sqlite_desk
    desk.read(LAUNCH, url=URL.format(1, 1))
    desk.read(WRONG, url=URL.format(2, 2), title="Smart Factory Upgrading Scheme update")
    _, wrong = changes(desk)
    dismiss(desk, wrong.id, "a threshold, not the size")
    with store.transaction(desk.rt.engine) as session:
        [page] = dismissals.dismissed_pages(session)
    assert page.url == URL.format(2, 2) and page.claimed == {"amount_hkd": 100_000_000}
    label = draft_label(page)
    [fact] = [f for f in label["facts"] if f["key"] == KEY]
    assert fact["amount_hkd"] is None and fact["status"] == "planned"  # minus the claim
    assert "a threshold, not the size" in label["note"]

    out = tmp_path / "cases"
    result = _cli(monkeypatch, desk, "eval", "--export-dismissed", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 1 dismissed page(s)" in result.stdout
    [text] = sorted(out.glob("*.txt"))
    assert text.read_text().splitlines()[0] == "Smart Factory Upgrading Scheme update"
    case = load_case(text.with_suffix(".yaml"))  # the eval's own loader, strict
    assert case.url == URL.format(2, 2) and case.language == "en"
    assert [f.key for f in case.facts] == [KEY]
    assert yaml.safe_load(text.with_suffix(".yaml").read_text())["facts"][0]["amount_hkd"] is None


def _cli(monkeypatch: pytest.MonkeyPatch, desk: Desk, *args: str):  # type: ignore[no-untyped-def]
    settings = desk.rt.settings
    monkeypatch.setenv("WATCHER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WATCHER_SOURCES_DIR", str(settings.sources_dir))
    monkeypatch.setenv("WATCHER_NOTIFY", "")
    return invoke(*args)


def test_dismiss_command(sqlite_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = sqlite_desk
    desk.read(LAUNCH, url=URL.format(1, 1))
    desk.read(WRONG, url=URL.format(2, 2))
    _, wrong = changes(desk)
    result = _cli(monkeypatch, desk, "dismiss", str(wrong.id), "--reason", "a threshold")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"dismissed change {wrong.id}; the fact is back to")
    shown = _cli(monkeypatch, desk, "show", str(wrong.id), "--json")
    data = json.loads(shown.stdout)
    assert data["dismiss_reason"] == "a threshold" and data["dismissed_at"]
    assert data["amounts"][0]["role"] == "size"
    log = json.loads(_cli(monkeypatch, desk, "log", "--json").stdout)
    assert [e["dismissed_at"] is not None for e in log] == [True, False]
    assert "(dismissed)" in _cli(monkeypatch, desk, "log").stdout.replace("\n", " ")
    missing = _cli(monkeypatch, desk, "dismiss", "999999")
    assert missing.exit_code == 2
    assert missing.stderr == "no change with id 999999\n"
