"""web api: /api/changes, /api/facts and /api/sources as JSON, and the OpenAPI schema
exercised by schemathesis (a bounded number of generated requests, none a server error)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from tests.helpers.web_data import STORIES, TARGET, populate
from watcher import store
from watcher.web import create_app


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, int]]]:
    engine = store.make_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'w.db'}")
    store.migrate(engine)
    ids = populate(engine, hostile=True)
    yield engine, ids
    engine.dispose()


@pytest.fixture(scope="module")
def client(setup: tuple[Engine, dict[str, int]]) -> Iterator[TestClient]:
    with TestClient(create_app(setup[0])) as client:
        yield client


def test_changes_json_with_filters_and_paging(client: TestClient,
                                              setup: tuple[Engine, dict[str, int]]) -> None:
    ids = setup[1]
    body = client.get("/api/changes").json()
    assert body["total"] == len(STORIES) + 1 and body["offset"] == 0
    assert body["items"][0]["id"] == ids["hostile"]
    page = client.get("/api/changes", params={"kind": "funding", "limit": 2, "offset": 2})
    assert page.status_code == 200
    data = page.json()
    assert (data["total"], data["limit"], len(data["items"])) == (5, 2, 2)
    assert all(item["kind"] == "funding" for item in data["items"])
    dated = client.get("/api/changes", params={"from": "2025-08-01", "to": "2025-08-31"})
    assert [i["id"] for i in dated.json()["items"]] == [ids["nifs-raised"]]
    searched = client.get("/api/changes", params={"q": "InnoPark", "type": "changed"})
    assert {i["key"] for i in searched.json()["items"]} == {
        "second-advanced-manufacturing-centre", "microelectronics-centre"}
    assert client.get("/api/changes", params={"kind": "money"}).status_code == 422
    assert client.get("/api/changes", params={"limit": 0}).status_code == 422
    backwards = client.get("/api/changes", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert (backwards.status_code, backwards.json()["total"]) == (200, 0)


def test_one_change_json_has_sources_and_deliveries(client: TestClient,
                                                    setup: tuple[Engine, dict[str, int]]
                                                    ) -> None:
    change = client.get(f"/api/changes/{setup[1]['nias-launched']}").json()
    assert change["before"] == {"status": "earmarked"}
    assert change["after"] == {"status": "launched"}
    assert change["current"]["amount_hkd"] == 10_000_000_000
    assert {s["language"] for s in change["sources"]} == {"en", "zh"}
    assert change["deliveries"] == [{"id": 1, "rule": "funding-changed", "target": TARGET,
                                     "status": "sent", "attempts": 1, "last_error": None}]
    assert client.get("/api/changes/424242").status_code == 404


def test_facts_and_sources_json(client: TestClient) -> None:
    facts = {f["key"]: f for f in client.get("/api/facts").json()}
    scheme = facts["new-industrialisation-funding-scheme"]
    assert scheme["baseline"]["amount_hkd"] == 15_000_000
    assert scheme["current"]["amount_hkd"] == 30_000_000
    assert facts["advanced-manufacturing-centre"]["current"] is None
    only = client.get("/api/facts", params={"kind": "organisation"}).json()
    assert [f["key"] for f in only] == ["new-industrialisation-development-office"]
    timeline = client.get("/api/facts/microelectronics-centre").json()
    assert [c["after"] for c in timeline["timeline"]] == [{"status": "opened"}]
    assert client.get("/api/facts/nope").status_code == 404
    sources = {s["name"]: s for s in client.get("/api/sources").json()}
    assert sources["itf"]["consecutive_failures"] == 3
    assert sources["gia-en"]["last_error"] is None


def test_openapi_describes_the_read_only_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/api/changes", "/api/changes/{change_id}", "/api/facts",
                                  "/api/facts/{key}", "/api/sources"}
    assert all(set(methods) == {"get"} for methods in spec["paths"].values())


OPERATIONS = ["/api/changes", "/api/changes/{change_id}", "/api/facts", "/api/facts/{key}",
              "/api/sources"]


# schemathesis' pytest plugin (from_fixture) reads a private pytest attribute that pytest 9
# removed, so each operation's Hypothesis strategy is driven directly here.
@pytest.mark.parametrize("path", OPERATIONS)
def test_api_never_fails_on_generated_requests(setup: tuple[Engine, dict[str, int]],
                                               path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(setup[0]))
    operation = schema[path]["GET"]
    calls: list[int] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def exercise(case: schemathesis.Case) -> None:
        response = case.call_and_validate()  # no 5xx, responses match the schema
        calls.append(response.status_code)

    exercise()
    assert calls and all(code < 500 for code in calls)
