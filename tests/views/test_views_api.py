"""Saved views over the REST API (SQLite and PostgreSQL): CRUD with permissions, problem+json
with pointers for bad input, and ``?view=`` on record lists (ANDed with ``where``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.clock import frozen
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.support import SYSTEM
from tests.views import bundle

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(bundle.write(tmp_path)))
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"]), ("ravi", ["rep"])):
        engine.users.create(name, roles=roles)
    yield engine
    engine.close()


def api(crm: CrmEngine, user: str) -> FlaskClient:
    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {crm.tokens.create(user, name='tests')}"
    return client


def errors(response: Any) -> list[tuple[str, str | None]]:
    assert response.mimetype == PROBLEM, response.get_data(as_text=True)
    return [(e["code"], e.get("pointer") or e.get("field")) for e in response.get_json()["errors"]]


def test_crud_of_a_personal_view(crm: CrmEngine) -> None:
    rita = api(crm, "rita")
    made = rita.post(f"{API}/views", json={"entity": "deal", "name": "Big", "where": {"amount": {"gte": 500}}})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert made.headers["Location"].endswith(f"/views/{body['id']}")
    assert (body["owner"], body["shared"], body["source"], body["may_change"]) == ("rita", False, "stored", True)
    assert body["label"] == {"en": "Big", "zh": "Big"}
    listed = rita.get(f"{API}/views?entity=deal").get_json()["items"]
    assert [v["id"] for v in listed] == ["my_deals_this_month", "quiet_deals", body["id"]]
    assert listed[0]["may_change"] is False
    changed = rita.patch(f"{API}/views/{body['id']}", json={"sort": ["-amount"], "label": {"en": "Big", "zh": "大单"}})
    assert changed.status_code == 200
    assert (changed.get_json()["sort"], changed.get_json()["label"]["zh"]) == (["-amount"], "大单")
    assert rita.delete(f"{API}/views/{body['id']}").status_code == 204
    assert rita.get(f"{API}/views/{body['id']}").status_code == 404


def test_a_rep_cannot_see_a_colleagues_view_or_change_a_shared_one(crm: CrmEngine) -> None:
    rita, ravi, ada = api(crm, "rita"), api(crm, "ravi"), api(crm, "ada")
    mine = rita.post(f"{API}/views", json={"entity": "deal", "name": "Mine"}).get_json()["id"]
    shared = ada.post(f"{API}/views", json={"entity": "deal", "name": "Team", "shared": True}).get_json()["id"]
    assert ravi.get(f"{API}/views/{mine}").status_code == 404
    assert ravi.patch(f"{API}/views/{mine}", json={"name": "x"}).status_code == 404
    assert ravi.delete(f"{API}/views/{mine}").status_code == 404
    assert mine not in [v["id"] for v in ravi.get(f"{API}/views").get_json()["items"]]
    refused = ravi.patch(f"{API}/views/{shared}", json={"name": "Ravi's now"})
    assert (refused.status_code, refused.mimetype) == (403, PROBLEM)
    assert ravi.delete(f"{API}/views/{shared}").status_code == 403
    assert ravi.post(f"{API}/views", json={"entity": "deal", "name": "x", "shared": True}).status_code == 403
    document = ada.patch(f"{API}/views/quiet_deals", json={"name": "x"})
    assert (document.status_code, document.get_json()["code"]) == (409, "read_only_view")


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"entity": "dael", "name": "x"}, 422, ("unknown_entity", "/entity")),
        ({"entity": "deal", "name": "x", "where": {"amout": 1}}, 422, ("unknown_field", "/where/amout")),
        (
            {"entity": "deal", "name": "x", "where": {"amount": {"gte": "lots"}}},
            422,
            ("invalid_value", "/where/amount/gte"),
        ),
        (
            {"entity": "deal", "name": "x", "where": {"close_on": "@someday"}},
            422,
            ("invalid_relative", "/where/close_on"),
        ),
        ({"entity": "deal", "name": "x", "sort": ["-clos_on"]}, 422, ("unknown_field", "/sort/0")),
        ({"entity": "deal", "name": "x", "columns": ["titel"]}, 422, ("unknown_field", "/columns/0")),
        ({"entity": "deal", "name": "x", "where": [1]}, 422, ("type", "/where")),
        ({"entity": "deal"}, 422, ("required", "/name")),
        ({"entity": "deal", "name": "x", "colour": "red"}, 400, ("unknown_key", "/colour")),
    ],
)
def test_bad_views_are_4xx_problems_with_pointers(
    crm: CrmEngine, body: dict[str, Any], status: int, expected: tuple[str, str]
) -> None:
    response = api(crm, "rita").post(f"{API}/views", json=body)
    assert response.status_code == status
    assert expected in errors(response)


def test_a_view_filters_a_record_list_and_ands_with_where(crm: CrmEngine) -> None:
    for title, owner, close_on, amount in (
        ("Feb big", "rita", "2026-02-20", "900"),
        ("Feb small", "rita", "2026-02-03", "100"),
        ("Mar", "rita", "2026-03-03", "100"),
        ("Ravi Feb", "ravi", "2026-02-20", "900"),
    ):
        crm.records.create(
            "deal", {"title": title, "owner": owner, "close_on": close_on, "amount": amount}, actor=SYSTEM
        )
    rita, ada = api(crm, "rita"), api(crm, "ada")
    with frozen(datetime(2026, 2, 14, 9, 0, tzinfo=UTC)):
        page = rita.get(f"{API}/records/deal?view=my_deals_this_month").get_json()
        assert [r["title"] for r in page["items"]] == ["Feb small", "Feb big"]
        both = rita.get(f'{API}/records/deal?view=my_deals_this_month&where={{"amount": {{"gte": 500}}}}')
        assert [r["title"] for r in both.get_json()["items"]] == ["Feb big"]
        resorted = rita.get(f"{API}/records/deal?view=my_deals_this_month&sort=-amount").get_json()
        assert [r["title"] for r in resorted["items"]] == ["Feb big", "Feb small"]
        # the admin applying a shared "everything" view still only sees... everything they may read
        shared = ada.post(f"{API}/views", json={"entity": "deal", "name": "All", "shared": True}).get_json()["id"]
        assert len(rita.get(f"{API}/records/deal?view={shared}").get_json()["items"]) == 3
        assert len(ada.get(f"{API}/records/deal?view={shared}").get_json()["items"]) == 4
    elsewhere = rita.get(f"{API}/records/account?view=quiet_deals")
    assert (elsewhere.status_code, errors(elsewhere)) == (400, [("view_entity", "view")])
    assert rita.get(f"{API}/records/deal?view=nothing_like_it").status_code == 404


def test_the_openapi_document_describes_views(crm: CrmEngine) -> None:
    spec = api(crm, "rita").get(f"{API}/openapi.json").get_json()
    assert set(spec["paths"]["/views"]) == {"get", "post"}
    assert set(spec["paths"]["/views/{view_id}"]) == {"get", "patch", "delete"}
    names = [
        p.get("name") or p.get("$ref", "").rsplit("/", 1)[-1]
        for p in spec["paths"]["/records/deal"]["get"]["parameters"]
    ]
    assert "view" in names
