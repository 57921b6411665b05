"""The merge API: POST /records/{entity}/{id}/merge, GET /merges, POST /merges/{id}/undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.merge.merge_support import make, set_up
from tests.support import SYSTEM
from tests.web.conftest import AuthHeaders
from tests.web.web_support import error_codes, problem


@pytest.fixture
def book(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return set_up(engine, tmp_path)


def test_merge_list_and_undo(book: CrmEngine, client: FlaskClient) -> None:
    target = make(book, "account", name="Acme", phone="1")
    source = make(book, "account", name="Acme Ltd", phone="2", city="Xi'an")
    contact = make(book, "contact", name="c", account=source)
    response = client.post(f"/api/v1/records/account/{source}/merge", json={"into": target, "take": ["phone"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    merged = response.get_json()
    assert merged["record"]["phone"] == "2" and merged["record"]["city"] == "Xi'an"
    assert merged["repointed"] == [{"entity": "contact", "field": "account", "count": 1}]
    assert client.get(f"/api/v1/records/account/{source}").status_code == 404
    assert book.records.get("contact", contact, actor=SYSTEM)["account"] == target
    listed = client.get("/api/v1/merges?entity=account").get_json()["items"]
    assert [m["id"] for m in listed] == [merged["id"]]
    assert client.get(f"/api/v1/merges/{merged['id']}").get_json()["source_row"]["name"] == "Acme Ltd"
    undone = client.post(f"/api/v1/merges/{merged['id']}/undo")
    assert undone.status_code == 200 and undone.get_json()["undone_at"] is not None
    assert client.get(f"/api/v1/records/account/{source}").get_json()["name"] == "Acme Ltd"
    again = problem(client.post(f"/api/v1/merges/{merged['id']}/undo"), 409)
    assert error_codes(again) == ["already_undone"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "type"),
        ({"into": "x"}, 400, "type"),
        ({"into": 1, "take": "phone"}, 400, "type"),
        ({"into": 1, "extra": 1}, 400, "unknown_key"),
        ({"into": 1, "take": ["nope"]}, 422, "unknown_field"),
        ({"into": 999}, 404, None),
    ],
)
def test_merge_errors(book: CrmEngine, client: FlaskClient, body: dict[str, object], status: int, code: str) -> None:
    make(book, "account", name="A")
    source = make(book, "account", name="B")
    found = problem(client.post(f"/api/v1/records/account/{source}/merge", json=body), status)
    if code is not None:
        assert code in error_codes(found)


def test_undo_refused_names_the_change(book: CrmEngine, client: FlaskClient) -> None:
    target = make(book, "account", name="A")
    source = make(book, "account", name="B", city="Xi'an")
    merged = client.post(f"/api/v1/records/account/{source}/merge", json={"into": target}).get_json()
    client.patch(f"/api/v1/records/account/{target}", json={"city": "Beijing"})
    refused = problem(client.post(f"/api/v1/merges/{merged['id']}/undo"), 409)
    assert refused["errors"][0]["code"] == "changed_since_merge"
    assert refused["errors"][0]["field"] == "city"
    assert problem(client.post("/api/v1/merges/abc/undo"), 404)


def test_rep_needs_update_on_both(book: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders) -> None:
    theirs = make(book, "account", name="Theirs")
    mine = book.records.create("account", {"name": "Mine"}, actor=book.users.get("ann"))["id"]
    refused = client.post(f"/api/v1/records/account/{mine}/merge", json={"into": theirs}, headers=auth_headers("ann"))
    assert problem(refused, 403)
    assert client.get("/api/v1/merges", headers=auth_headers("ann")).get_json() == {"items": []}
