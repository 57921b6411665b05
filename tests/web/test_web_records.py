"""Records over HTTP: create, read, update, delete with versions; lists with filters, sort, pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.web.conftest import AuthHeaders
from tests.web.web_support import ADMIN, API, error_codes, problem

ACCOUNTS = [
    {"name": "Acme", "industry": "retail", "city": "Paris", "employees": 120, "annual_revenue": "5000000"},
    {"name": "Bolt", "industry": "banking", "city": "上海", "employees": 3400, "annual_revenue": "18000000000.50"},
    {"name": "Cobalt", "industry": "telecom", "city": "Paris", "employees": 12000},
    {"name": "Delta", "industry": "retail", "city": "Lyon", "employees": 45, "annual_revenue": "120000"},
    {"name": "Echo", "city": "深圳"},
]


def create(client: FlaskClient, entity: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response = client.post(f"{API}/records/{entity}", json=data, **kwargs)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_crud_with_versions(sales: CrmEngine, client: FlaskClient) -> None:
    response = client.post(f"{API}/records/account", json={"name": "Acme", "annual_revenue": 12.5})
    assert response.status_code == 201
    created = response.get_json()
    assert created["version"] == 1 and created["annual_revenue"] == "12.50" and created["owner"] == ADMIN
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"].endswith(f"/api/v1/records/account/{created['id']}")
    url = f"{API}/records/account/{created['id']}"

    read = client.get(url)
    assert read.status_code == 200 and read.get_json() == created and read.headers["ETag"] == 'W/"1"'

    changed = client.patch(url, json={"city": "Paris"}, headers={"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.get_json()["city"] == "Paris" and changed.headers["ETag"] == 'W/"2"'

    stale = problem(client.patch(url, json={"city": "Lyon"}, headers={"If-Match": 'W/"1"'}), 412)
    assert stale["code"] == "precondition_failed" and error_codes(stale) == ["stale_version"]
    stale_body = problem(client.patch(url, json={"city": "Lyon", "version": 1}), 409)
    assert error_codes(stale_body) == ["stale_version"]

    by_body = client.patch(url, json={"city": "Lyon", "version": 2})
    assert by_body.status_code == 200 and by_body.get_json()["version"] == 3

    assert problem(client.delete(url, headers={"If-Match": 'W/"2"'}), 412)["code"] == "precondition_failed"
    deleted = client.delete(url, json={"version": 3})
    assert deleted.status_code == 204 and deleted.data == b""
    assert problem(client.get(url), 404)["code"] == "not_found"


def test_update_without_a_version_applies_to_the_current_one(sales: CrmEngine, client: FlaskClient) -> None:
    created = create(client, "account", {"name": "Acme"})
    response = client.patch(f"{API}/records/account/{created['id']}", json={"employees": 7})
    assert response.status_code == 200 and response.get_json()["version"] == 2


def test_invalid_record_names_every_field(sales: CrmEngine, client: FlaskClient) -> None:
    body = problem(
        client.post(
            f"{API}/records/account", json={"employees": -1, "industry": "mining", "website": "ftp://x", "nope": 1}
        ),
        422,
    )
    assert body["code"] == "invalid_record"
    found = {(e.get("field"), e["code"]) for e in body["errors"]}
    assert {("name", "required"), ("employees", "minimum"), ("industry", "choice"), ("website", "format")} <= found
    assert "nope" in {e.get("field") for e in body["errors"]}


@pytest.mark.parametrize(
    ("setup", "request_", "status", "code"),
    [
        ([{"name": "A", "code": "C-1"}], ("post", "account", {"name": "B", "code": "C-1"}), 409, "conflict"),
        ([], ("post", "opportunity", {"title": "T", "account": 999}), 422, "invalid_record"),
        ([{"name": "A"}], ("post", "opportunity", {"title": "T", "account": 1, "stage": "won"}), 422, "invalid_record"),
        ([{"name": "A"}], ("post", "account", {"name": "B", "id": 5}), 422, "invalid_record"),
    ],
    ids=["unique-taken", "unknown-reference", "workflow-field", "system-field"],
)
def test_refused_writes(
    sales: CrmEngine,
    client: FlaskClient,
    setup: list[dict[str, Any]],
    request_: tuple[str, str, dict[str, Any]],
    status: int,
    code: str,
) -> None:
    for data in setup:
        create(client, "account", data)
    method, entity, data = request_
    assert problem(getattr(client, method)(f"{API}/records/{entity}", json=data), status)["code"] == code


def test_delete_restricted_by_a_reference(sales: CrmEngine, client: FlaskClient) -> None:
    account = create(client, "account", {"name": "Acme"})
    create(client, "opportunity", {"title": "Deal", "account": account["id"]})
    body = problem(client.delete(f"{API}/records/account/{account['id']}"), 409)
    assert body["code"] == "reference" and error_codes(body) == ["restricted"]


@pytest.fixture
def accounts(sales: CrmEngine, client: FlaskClient) -> list[dict[str, Any]]:
    return [create(client, "account", a) for a in ACCOUNTS]


@pytest.mark.parametrize(
    ("params", "names", "total"),
    [
        ({}, ["Acme", "Bolt", "Cobalt", "Delta", "Echo"], 5),
        ({"where": {"city": "Paris"}}, ["Acme", "Cobalt"], 2),
        ({"where": {"employees": {"gte": 100, "lt": 5000}}, "sort": "-employees"}, ["Bolt", "Acme"], 2),
        ({"where": {"annual_revenue": {"gt": "1000000"}}, "sort": "name"}, ["Acme", "Bolt"], 2),
        ({"where": {"or": [{"industry": "telecom"}, {"city": {"startswith": "ly"}}]}}, ["Cobalt", "Delta"], 2),
        ({"where": {"industry": None}}, ["Echo"], 1),
        ({"where": {"city": {"in": ["上海", "深圳"]}}, "sort": "-name"}, ["Echo", "Bolt"], 2),
        ({"sort": "-employees", "limit": 2}, ["Cobalt", "Bolt"], 5),
        ({"sort": "-employees", "limit": 2, "offset": 2}, ["Acme", "Delta"], 5),
        ({"sort": "-employees", "offset": 4}, ["Echo"], 5),
        ({"sort": "industry,-name"}, ["Bolt", "Delta", "Acme", "Cobalt", "Echo"], 5),
        ({"limit": 0}, [], 5),
    ],
    ids=[
        "all",
        "equal",
        "range-sorted",
        "decimal",
        "or",
        "null",
        "in-cjk",
        "page-1",
        "page-2",
        "last",
        "two-keys",
        "count-only",
    ],
)
def test_list_filters_sorts_and_pages(
    accounts: list[dict[str, Any]], client: FlaskClient, params: dict[str, Any], names: list[str], total: int
) -> None:
    query = {k: json.dumps(v) if k == "where" else v for k, v in params.items()}
    response = client.get(f"{API}/records/account", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_json()
    assert [r["name"] for r in page["items"]] == names
    assert page["total"] == total
    assert page["limit"] == params.get("limit", 50) and page["offset"] == params.get("offset", 0)


@pytest.mark.parametrize(
    ("query", "pointer", "code"),
    [
        ({"where": json.dumps({"nme": "Acme"})}, "/nme", "unknown_field"),
        (
            {"where": json.dumps({"or": [{"city": "x"}, {"employees": {"gte": "many"}}]})},
            "/or/1/employees/gte",
            "invalid_value",
        ),
        ({"where": json.dumps({"name": {"like": "A%"}})}, "/name/like", "unknown_operator"),
        ({"sort": "-nme"}, "/0", "unknown_field"),
    ],
    ids=["unknown-field", "bad-value", "unknown-operator", "bad-sort"],
)
def test_bad_filters_point_at_the_problem(
    accounts: list[dict[str, Any]], client: FlaskClient, query: dict[str, str], pointer: str, code: str
) -> None:
    body = problem(client.get(f"{API}/records/account", query_string=query), 400)
    assert [(e.get("pointer"), e["code"]) for e in body["errors"]] == [(pointer, code)]


def test_requests_act_as_the_token_user(sales: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders) -> None:
    sales.users.create("rita", roles=["rep"])
    created = create(client, "account", {"name": "Acme"}, headers=auth_headers("rita"))
    assert created["created_by"] == "rita" and created["owner"] == "rita"
    assert (
        problem(
            client.post(
                f"{API}/admin/import/account", data="name\nX\n", content_type="text/csv", headers=auth_headers("rita")
            ),
            403,
        )["code"]
        == "forbidden"
    )
