"""web feed: /feed.atom parses as valid Atom (feedparser, no bozo), has one entry per
change with ids that do not change between requests, and honours the filters."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.helpers.web_data import HOSTILE, STORIES, populate
from watcher import store
from watcher.models import Change, ChangeType, Document, FactKind
from watcher.store import facts as fact_store
from watcher.store import sources as source_store
from watcher.web import create_app
from watcher.web.feed import entry_id


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, int]]]:
    engine = store.make_engine(f"sqlite:///{tmp_path_factory.mktemp('feed') / 'w.db'}")
    store.migrate(engine)
    ids = populate(engine, hostile=True)
    yield engine, ids
    engine.dispose()


@pytest.fixture(scope="module")
def client(setup: tuple[Engine, dict[str, int]]) -> Iterator[TestClient]:
    with TestClient(create_app(setup[0])) as client:
        yield client


def parse(client: TestClient, query: str = "") -> feedparser.FeedParserDict:
    response = client.get(f"/feed.atom{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_feed_is_valid_atom_with_one_entry_per_change(client: TestClient,
                                                      setup: tuple[Engine, dict[str, int]]
                                                      ) -> None:
    ids = setup[1]
    parsed = parse(client)
    assert len(parsed.entries) == len(STORIES) + 1
    newest = parsed.entries[0]
    assert newest.id == f"tag:watcher,2026:change/{ids['hostile']}"
    raised = next(e for e in parsed.entries if e.id == entry_id(ids["nifs-raised"]))
    assert raised.title == ("New Industrialisation Funding Scheme: amount HK$15 million -> "
                            "HK$30 million")
    assert raised.link == f"http://testserver/changes/{ids['nifs-raised']}"
    assert "raised from HK$15 million to HK$30 million" in raised.summary
    assert raised.updated.startswith("2025-08-27T09:30:00")
    assert {t.term for t in raised.tags} == {"funding", "changed"}
    assert parsed.feed.id == "tag:watcher,2026:feed"


def test_entry_ids_are_stable_across_requests_and_new_changes(
        client: TestClient, setup: tuple[Engine, dict[str, int]]) -> None:
    first = {e.id: e.title for e in parse(client).entries}
    second = {e.id: e.title for e in parse(client).entries}
    assert first == second
    engine = setup[0]
    with store.transaction(engine) as session:  # a new change arrives between two polls
        source = source_store.source_id(session, "gia-en")
        assert source is not None
        url = "https://www.info.gov.hk/gia/general/202603/05/P1.htm"
        document = fact_store.save_document(
            session, source, Document(url=url, source="gia-en", title="t", text="x"), None,
            STORIES[-1].when.replace(month=3, day=5))
        fact_store.save_changes(session, [Change(ChangeType.NEW, "late-fund", FactKind.FUNDING,
                                                 "Late Fund", "A late fund.")],
                                document_id=document, document_url=url, source_id=source,
                                now=STORIES[-1].when.replace(month=3, day=5))
    third = {e.id: e.title for e in parse(client).entries}
    assert len(third) == len(first) + 1
    assert {k: third[k] for k in first} == first  # old entries keep id and title


def test_filtered_feeds(client: TestClient) -> None:
    funding = parse(client, "?kind=funding")
    assert funding.entries and all(
        "funding" in {t.term for t in e.tags} for e in funding.entries)
    assert funding.feed.id == "tag:watcher,2026:feed?kind=funding"
    assert funding.feed.title == "watcher: changes (funding)"
    facilities_new = parse(client, "?kind=facility&type=new")
    assert facilities_new.entries == []
    itf = parse(client, "?source=itf")
    assert {e.title for e in itf.entries} == {
        "Second Advanced Manufacturing Centre: status planned -> under construction",
        "Microelectronics Centre: status planned -> opened"}
    assert client.get("/feed.atom?kind=nonsense").status_code == 400


def test_markup_and_control_characters_stay_text(client: TestClient,
                                                 setup: tuple[Engine, dict[str, int]]) -> None:
    engine, ids = setup
    hostile = next(e for e in parse(client).entries if e.id == entry_id(ids["hostile"]))
    assert HOSTILE in hostile.title  # text, and feedparser read it as text
    raw = client.get("/feed.atom").text
    assert "<script>" not in raw
    with store.transaction(engine) as session:
        source = source_store.source_id(session, "gia-en")
        assert source is not None
        url = "https://www.info.gov.hk/gia/general/202603/06/P2.htm"
        document = fact_store.save_document(
            session, source, Document(url=url, source="gia-en", title="bell\x07 title",
                                      text="x"), None, STORIES[-1].when.replace(day=6))
        fact_store.save_changes(
            session, [Change(ChangeType.NEW, "bell-fund", FactKind.FUNDING, "Bell\x07\x0b Fund",
                             "Odd \x1b bytes.")],
            document_id=document, document_url=url, source_id=source,
            now=STORIES[-1].when.replace(day=6))
    assert any(e.title == "new: Bell Fund" for e in parse(client).entries)


def test_token_does_not_leak_into_feed_links(setup: tuple[Engine, dict[str, int]]) -> None:
    with TestClient(create_app(setup[0], token="zq9-secret")) as client:
        response = client.get("/feed.atom?token=zq9-secret&kind=funding")
        assert response.status_code == 200
        assert "zq9-secret" not in response.text
