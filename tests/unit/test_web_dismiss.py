"""The change page's "This is wrong" button: a POST with a token only watcher's own page
holds (CSRF), refused from another site's page or with a stale form, behind the web token
when one is set; the change is then shown dismissed, with every amount and its role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.helpers.pages import Desk
from watcher import store
from watcher.store.tables import ChangeRow
from watcher.web import create_app

KEY = "smart-factory-upgrading-scheme"
LAUNCH = ("The Government today launched the HK$5 billion Smart Factory Upgrading Scheme to "
          "subsidise manufacturers to set up smart production lines, with funding of up to "
          "HK$15 million per project.")
WRONG = ("The Government today said the HK$100 million Smart Factory Upgrading Scheme will "
         "subsidise manufacturers to set up smart production lines.")


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk.open(f"sqlite:///{tmp_path / 'watcher.db'}", tmp_path)
    desk.read(LAUNCH, url="https://www.info.gov.hk/gia/general/202501/05/P1.htm")
    desk.read(WRONG, url="https://www.info.gov.hk/gia/general/202502/05/P2.htm")
    yield desk
    desk.close()


def change_id(desk: Desk, index: int) -> int:
    with store.transaction(desk.rt.engine) as session:
        ids = session.exec(select(ChangeRow.id).where(ChangeRow.fact_key == KEY)
                           .order_by(col(ChangeRow.id))).all()
    found = ids[index]
    assert found is not None
    return found


def form(client: TestClient, change: int) -> tuple[str, str]:
    page = BeautifulSoup(client.get(f"/changes/{change}").text, "lxml")
    node = page.select_one("form.dismiss")
    assert node is not None
    token = node.select_one("input[name=csrf]")
    assert token is not None
    return str(node["action"]), str(token["value"])


def test_the_button_dismisses_the_change(desk: Desk) -> None:
    wrong = change_id(desk, 1)
    with TestClient(create_app(desk.rt.engine)) as client:
        page = client.get(f"/changes/{wrong}").text
        # Every amount with its role: the size, its old value.
        soup = BeautifulSoup(page, "lxml")
        rows = [" ".join(tr.get_text(" ").split()) for tr in soup.select("table.amounts tbody tr")]
        assert rows == ["size (the fund's size) HK$100 million – – HK$100 million"]
        action, token = form(client, wrong)
        # As a browser posts it under the pages' Referrer-Policy: no-referrer.
        response = client.post(action, data={"csrf": token, "reason": "a threshold"},
                               headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
                               follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/changes/{wrong}#dismissed"
        shown = BeautifulSoup(client.get(f"/changes/{wrong}").text, "lxml")
        banner = shown.select_one("#dismissed")
        assert banner is not None and "a threshold" in banner.get_text()
        assert shown.select_one("form.dismiss") is None
        fact = client.get(f"/facts/{KEY}").text
        assert "HK$5 billion" in fact and "cap per project" in fact
        api = client.get(f"/api/changes/{wrong}").json()
        assert api["dismiss_reason"] == "a threshold"
        assert api["amounts"] == [{"role": "size", "hkd": 100_000_000,
                                   "text": "HK$100 million", "qualifier": "",
                                   "previous_hkd": None, "earlier": False}]
        facts = client.get(f"/api/facts/{KEY}").json()
        assert facts["current"]["amount_hkd"] == 5_000_000_000
        assert {a["role"] for a in facts["current"]["amounts"]} == {"size", "cap_per_project"}


def test_forged_or_stale_posts_are_refused(desk: Desk) -> None:
    wrong = change_id(desk, 1)
    with TestClient(create_app(desk.rt.engine)) as client:
        action, token = form(client, wrong)
        assert client.post(action, data={"reason": "x"}).status_code == 403
        assert client.post(action, data={"csrf": "0" * 64}).status_code == 403
        # The token of one change's form does not dismiss another change.
        other = f"/changes/{change_id(desk, 0)}/dismiss"
        assert client.post(other, data={"csrf": token}).status_code == 403
        # Another site's page posting with a stolen token: refused by its Origin.
        evil = client.post(action, data={"csrf": token},
                           headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403
        cross = client.post(action, data={"csrf": token},
                            headers={"Sec-Fetch-Site": "cross-site", "Origin": "null"})
        assert cross.status_code == 403
    # A restarted app (a new key) does not take the old page's form.
    with TestClient(create_app(desk.rt.engine)) as client:
        assert client.post(action, data={"csrf": token}).status_code == 403
        assert "Dismissed" not in client.get(f"/changes/{wrong}").text
        assert client.post("/changes/999999/dismiss",
                           data={"csrf": form(client, wrong)[1]}).status_code == 403


def test_beyond_loopback_the_post_needs_the_web_token_too(desk: Desk) -> None:
    wrong = change_id(desk, 1)
    with TestClient(create_app(desk.rt.engine, token="s3cret")) as client:
        page = client.get(f"/changes/{wrong}", headers={"Authorization": "Bearer s3cret"})
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert token is not None
        action = f"/changes/{wrong}/dismiss"
        assert client.post(action, data={"csrf": token.group(1)}).status_code == 401
        done = client.post(action, data={"csrf": token.group(1)}, follow_redirects=False,
                           headers={"Authorization": "Bearer s3cret"})
        assert done.status_code == 303
