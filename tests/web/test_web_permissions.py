"""The permission matrix over HTTP with real API tokens, on SQLite and PostgreSQL: role (admin,
manager, rep, a custom auditor, an undefined role) × the user's own, a teammate's and another
team's record × list, get, create, update, delete, transition; and 401 for every kind of
missing or bad token."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.storage import api_tokens
from engine.web import create_app
from tests.permissions.permissions_support import OWNERS, set_up
from tests.web.conftest import AuthHeaders
from tests.web.web_support import API, bearer, problem

LEADS = f"{API}/records/lead"

#: user → status of each operation on the records of ann, bob (ann's teammate) and carl
#: (another team). 404: the record does not exist for the user; 403: visible, or the whole
#: operation not granted; 409: visible, but the workflow's roles refuse the transition.
MATRIX: dict[str, dict[str, tuple[int, int, int]]] = {
    "boss": {
        "get": (200, 200, 200),
        "update": (200, 200, 200),
        "delete": (204, 204, 204),
        "transition": (200, 200, 200),
    },
    "mia": {
        "get": (200, 200, 404),
        "update": (200, 200, 404),
        "delete": (204, 204, 404),
        "transition": (200, 200, 404),
    },
    "ann": {
        "get": (200, 404, 404),
        "update": (200, 404, 404),
        "delete": (403, 403, 403),
        "transition": (200, 404, 404),
    },
    "aud": {
        "get": (200, 200, 200),
        "update": (403, 403, 403),
        "delete": (403, 403, 403),
        "transition": (409, 409, 409),
    },
    "ghost": {
        "get": (403, 403, 403),
        "update": (403, 403, 403),
        "delete": (403, 403, 403),
        "transition": (403, 403, 403),
    },
}
LISTED = {"boss": 3, "mia": 2, "ann": 1, "aud": 3, "ghost": None}
CREATES = {"boss": 201, "mia": 201, "ann": 201, "aud": 403, "ghost": 403}
CASES = [(user, op) for user, ops in MATRIX.items() for op in ops]


@pytest.fixture
def leads(engine: CrmEngine, tmp_path: Path) -> dict[str, int]:
    return set_up(engine, tmp_path)


def _call(client: FlaskClient, op: str, record_id: int, headers: dict[str, str]) -> Any:
    url = f"{LEADS}/{record_id}"
    if op == "get":
        return client.get(url, headers=headers)
    if op == "update":
        return client.patch(url, json={"title": "changed"}, headers=headers)
    if op == "delete":
        return client.delete(url, headers=headers)
    return client.post(f"{url}/transitions/qualify", headers=headers)


@pytest.mark.parametrize(("user", "op"), CASES, ids=[f"{u}-{o}" for u, o in CASES])
def test_permission_matrix(
    leads: dict[str, int], client: FlaskClient, auth_headers: AuthHeaders, user: str, op: str
) -> None:
    headers = auth_headers(user)
    for owner, expected in zip(OWNERS, MATRIX[user][op], strict=True):
        response = _call(client, op, leads[owner], headers)
        assert response.status_code == expected, (owner, response.get_data(as_text=True))
        if expected >= 400:
            body = problem(response, expected)
            assert owner == user or owner not in body["detail"]  # nothing about others' records
        elif response.status_code != 204:
            assert "cost" not in response.get_json() or user in ("boss", "mia")


@pytest.mark.parametrize("user", list(LISTED))
def test_list_and_create(leads: dict[str, int], client: FlaskClient, auth_headers: AuthHeaders, user: str) -> None:
    headers = auth_headers(user)
    listed = client.get(LEADS, headers=headers)
    if LISTED[user] is None:
        assert problem(listed, 403)["code"] == "forbidden"
    else:
        assert listed.status_code == 200 and listed.get_json()["total"] == LISTED[user]
    created = client.post(LEADS, json={"title": f"new for {user}"}, headers=headers)
    assert created.status_code == CREATES[user], created.get_data(as_text=True)
    if CREATES[user] == 201:
        assert created.get_json()["owner"] == user


def test_hidden_and_read_only_fields(leads: dict[str, int], client: FlaskClient, auth_headers: AuthHeaders) -> None:
    ann, aud = auth_headers("ann"), auth_headers("aud")
    own = f"{LEADS}/{leads['ann']}"
    assert "cost" not in client.get(own, headers=ann).get_json()
    assert "cost" not in client.get(own, headers=aud).get_json()
    assert client.get(own).get_json()["cost"] == "1200.00"  # the administrator
    page = client.get(LEADS, headers=aud).get_json()["items"]
    assert page and all("cost" not in r for r in page)
    bad_filter = problem(client.get(LEADS, query_string={"where": '{"cost": {"gt": 0}}'}, headers=ann), 400)
    assert bad_filter["errors"][0]["code"] == "unknown_field"
    refused = problem(client.patch(own, json={"score": 99}, headers=ann), 403)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("score", "read_only_field")]
    assert problem(client.post(LEADS, json={"title": "x", "cost": "5"}, headers=ann), 403)["code"] == "forbidden"
    # the workflow sets the read-only field; history and scores of the record stay readable
    assert client.post(f"{own}/transitions/qualify", headers=ann).get_json()["score"] == 50
    history = client.get(f"{own}/history", headers=ann).get_json()["items"]
    assert [h["to_state"] for h in history] == ["new", "qualified"]
    assert client.get(f"{own}/transitions", headers=ann).status_code == 200
    # nor is a hidden field described to those it is hidden from
    described = [f["name"] for f in client.get(f"{API}/entities/lead", headers=ann).get_json()["fields"]]
    assert "cost" not in described and "score" in described
    assert "cost" in [f["name"] for f in client.get(f"{API}/entities/lead").get_json()["fields"]]


def test_owner_reassignment(leads: dict[str, int], client: FlaskClient, auth_headers: AuthHeaders) -> None:
    url = f"{LEADS}/{leads['bob']}"
    moved = client.patch(url, json={"owner": "ann"}, headers=auth_headers("mia"))
    assert moved.status_code == 200 and moved.get_json()["owner"] == "ann"
    assert client.get(url, headers=auth_headers("ann")).status_code == 200
    assert client.get(url, headers=auth_headers("bob")).status_code == 404


def test_requests_without_a_valid_token_are_401(
    leads: dict[str, int], engine: CrmEngine, anonymous: FlaskClient
) -> None:
    def refused(headers: dict[str, str]) -> dict[str, Any]:
        response = anonymous.get(LEADS, headers=headers)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        return problem(response, 401)

    assert refused({})["code"] == "unauthorized"
    assert refused(bearer("crm_not-a-token"))["code"] == "unauthorized"
    assert refused(bearer("a" * 5000))["code"] == "unauthorized"
    assert refused({"Authorization": "Bearer"})["code"] == "unauthorized"
    revoked = engine.tokens.create("ann")
    assert anonymous.get(LEADS, headers=bearer(revoked)).status_code == 200
    engine.tokens.revoke(engine.tokens.list("ann")[-1].id)
    assert refused(bearer(revoked))["code"] == "unauthorized"
    expired = engine.tokens.create("ann", expires_days=1)
    with engine.db.write() as conn:  # a day later, as far as the token knows
        conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.revoked_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert refused(bearer(expired))["code"] == "unauthorized"
    inactive = engine.tokens.create("bob")
    engine.users.set_active("bob", False)
    assert refused(bearer(inactive))["code"] == "unauthorized"
    # public: the health check and the API's description
    assert anonymous.get(f"{API}/health").status_code == 200
    spec = anonymous.get(f"{API}/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/health"]["get"]["security"] == []
    assert "401" in spec["paths"]["/records/lead"]["get"]["responses"]
    assert "403" in spec["paths"]["/records/lead/{id}"]["patch"]["responses"]


@pytest.mark.parametrize("cache_seconds", [0, None], ids=["not-remembered", "remembered-1s"])
def test_a_token_revoked_by_another_process_stops_working_within_the_interval(
    leads: dict[str, int], engine: CrmEngine, database_url: str, cache_seconds: float | None
) -> None:
    config: dict[str, Any] = {"CRM_ENGINE": engine, "TESTING": True}
    if cache_seconds is not None:
        config["CRM_TOKEN_CACHE_SECONDS"] = cache_seconds
    client = create_app(config).test_client()
    token = engine.tokens.create("ann")
    assert client.get(LEADS, headers=bearer(token)).status_code == 200  # looked up, and remembered
    with CrmEngine(database_url) as elsewhere:  # the CLI or another worker
        elsewhere.tokens.revoke(elsewhere.tokens.list("ann")[-1].id)
    if cache_seconds is None:
        time.sleep(1.1)  # the default interval: one second
    assert problem(client.get(LEADS, headers=bearer(token)), 401)["code"] == "unauthorized"
