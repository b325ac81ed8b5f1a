"""A scheme's terms changing goes to the built-in daily digest (09:00 Hong Kong time) when
no routes.yaml says otherwise; a size or status change still goes out at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from tests.helpers.pages import Desk
from watcher import store
from watcher.store.tables import OutboxRow
from watcher.store.timeutil import as_utc

LAUNCH = ("The Government today launched the HK$5 billion Smart Factory Upgrading Scheme to "
          "subsidise manufacturers to set up smart production lines.")
LOWERED = ("The minimum project cost under the HK$5 billion Smart Factory Upgrading Scheme is "
           "lowered from HK$200 million to HK$100 million.")


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk.open(f"sqlite:///{tmp_path / 'watcher.db'}", tmp_path)
    yield desk
    desk.close()


def test_terms_wait_for_the_morning_digest(desk: Desk) -> None:
    desk.read(LAUNCH, url="https://www.info.gov.hk/gia/general/202503/05/P1.htm")
    desk.read(LOWERED, url="https://www.info.gov.hk/gia/general/202507/02/P2.htm")
    with store.transaction(desk.rt.engine) as session:
        rows = session.exec(select(OutboxRow).order_by(col(OutboxRow.id))).all()
    assert [(r.rule_id, r.route) for r in rows] == [("new-funding", None),
                                                     ("funding-terms-changed", "digest")]
    at_once, digest = rows
    assert as_utc(at_once.next_attempt_at) == as_utc(at_once.created_at)
    due = as_utc(digest.next_attempt_at)
    assert due is not None and due > as_utc(digest.created_at)  # type: ignore[operator]
    local = due.astimezone(ZoneInfo("Asia/Hong_Kong"))
    assert (local.hour, local.minute) == (9, 0)
