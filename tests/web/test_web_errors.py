"""Every bad input is a 4xx problem document, never a 500; a 500 tells nothing of the server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.web.conftest import AuthHeaders
from tests.web.web_support import ADMIN, API, SALES, bearer, problem

A = f"{API}/records/account"
OPP = f"{API}/records/opportunity"
DEEP_FILTER = json.dumps(json.loads('{"not": ' * 40 + '{"name": "x"}' + "}" * 40))

BAD_REQUESTS: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # (id, method, url, request options, status, code)
    ("limit-not-a-number", "get", f"{A}?limit=ten", {}, 400, "invalid_parameter"),
    ("limit-negative", "get", f"{A}?limit=-1", {}, 400, "invalid_parameter"),
    ("limit-huge", "get", f"{A}?limit=1001", {}, 400, "invalid_parameter"),
    ("limit-enormous", "get", f"{A}?limit=99999999999999999999999999", {}, 400, "invalid_parameter"),
    ("offset-float", "get", f"{A}?offset=1e3", {}, 400, "invalid_parameter"),
    ("offset-huge", "get", f"{A}?offset=9223372036854775807", {}, 400, "invalid_parameter"),
    ("where-not-json", "get", f"{A}?where={{name:1}}", {}, 400, "invalid_parameter"),
    ("where-not-object", "get", f"{A}?where=[1]", {}, 400, "usage"),
    ("where-too-deep", "get", f"{A}?where={DEEP_FILTER}", {}, 400, "usage"),
    ("where-deeper-than-json", "get", f"{A}?where=" + "[" * 100_000, {}, 400, "invalid_parameter"),
    ("where-huge-number", "get", f"{A}?where=" + json.dumps({"employees": {"gt": 10**30}}), {}, 400, "usage"),
    ("where-id-huge", "get", f"{A}?where=" + json.dumps({"id": 10**30}), {}, 400, "usage"),
    ("where-nan", "get", f"{A}?where=" + '{"employees": NaN}', {}, 400, "invalid_parameter"),
    ("unknown-parameter", "get", f"{A}?filter=x", {}, 400, "invalid_parameter"),
    ("repeated-parameter", "get", f"{A}?limit=1&limit=2", {}, 400, "invalid_parameter"),
    ("lang-unknown", "get", f"{OPP}/1/transitions?lang=fr", {}, 400, "invalid_parameter"),
    ("id-not-a-number", "get", f"{A}/abc", {}, 404, "not_found"),
    ("id-zero", "get", f"{A}/0", {}, 404, "not_found"),
    ("id-negative", "get", f"{A}/-1", {}, 404, "not_found"),
    ("id-huge", "get", f"{A}/99999999999999999999", {}, 404, "not_found"),
    ("id-int64-max", "get", f"{A}/9223372036854775807", {}, 404, "not_found"),
    ("id-fullwidth-digits", "get", f"{A}/１２", {}, 404, "not_found"),
    ("id-huge-on-update", "patch", f"{A}/99999999999999999999", {"json": {"city": "x"}}, 404, "not_found"),
    ("unknown-entity", "get", f"{API}/records/nope", {}, 404, "not_found"),
    ("unknown-entity-record", "delete", f"{API}/records/nope/1", {}, 404, "not_found"),
    ("unknown-entity-metadata", "get", f"{API}/entities/nope", {}, 404, "not_found"),
    ("no-workflow", "post", f"{A}/1/transitions/win", {}, 404, "not_found"),
    ("no-scoring", "put", f"{A}/1/scores/quality/override", {"json": {"grade": "A", "reason": "r"}}, 404, "not_found"),
    ("unknown-route", "get", f"{API}/nothing/here", {}, 404, "not_found"),
    ("route-outside-the-api", "get", "/index.php", {}, 404, "not_found"),
    ("method-not-allowed", "put", A, {"json": {}}, 405, "method_not_allowed"),
    ("method-not-allowed-health", "post", f"{API}/health", {}, 405, "method_not_allowed"),
    ("bad-json", "post", A, {"data": '{"name": ', "content_type": "application/json"}, 400, "invalid_body"),
    ("json-array", "post", A, {"json": [{"name": "x"}]}, 400, "invalid_body"),
    ("json-string", "post", A, {"json": "Acme"}, 400, "invalid_body"),
    (
        "json-nan",
        "post",
        A,
        {"data": '{"name": "x", "employees": NaN}', "content_type": "application/json"},
        400,
        "invalid_body",
    ),
    (
        "json-huge-integer",
        "post",
        A,
        {"data": '{"employees": ' + "9" * 5000 + "}", "content_type": "application/json"},
        400,
        "invalid_body",
    ),
    ("json-deep", "post", A, {"data": "[" * 100_000, "content_type": "application/json"}, 400, "invalid_body"),
    ("not-utf8", "post", A, {"data": b'{"name": "\xff"}', "content_type": "application/json"}, 400, "invalid_body"),
    ("no-body", "post", A, {}, 400, "invalid_body"),
    ("text-plain", "post", A, {"data": "name=Acme", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("form", "post", A, {"data": {"name": "Acme"}}, 415, "unsupported_media_type"),
    ("integer-out-of-range", "post", A, {"json": {"name": "x", "employees": 10**30}}, 422, "invalid_record"),
    ("wrong-types", "post", A, {"json": {"name": 5, "employees": "5", "annual_revenue": [1]}}, 422, "invalid_record"),
    ("reference-huge", "post", OPP, {"json": {"title": "t", "account": 10**30}}, 422, "invalid_record"),
    ("reference-not-a-number", "post", OPP, {"json": {"title": "t", "account": "1"}}, 422, "invalid_record"),
    (
        "if-match-garbage",
        "patch",
        f"{A}/1",
        {"json": {"city": "x"}, "headers": {"If-Match": "yesterday"}},
        400,
        "invalid_parameter",
    ),
    (
        "if-match-disagrees",
        "patch",
        f"{A}/1",
        {"json": {"city": "x", "version": 2}, "headers": {"If-Match": '"1"'}},
        400,
        "invalid_parameter",
    ),
    ("version-not-a-number", "patch", f"{A}/1", {"json": {"city": "x", "version": "1"}}, 400, "invalid_body"),
    ("version-boolean", "patch", f"{A}/1", {"json": {"city": "x", "version": True}}, 400, "invalid_body"),
    ("version-huge", "patch", f"{A}/1", {"json": {"city": "x", "version": 10**30}}, 400, "invalid_body"),
    ("delete-unknown-key", "delete", f"{A}/1", {"json": {"versoin": 1}}, 400, "invalid_body"),
    ("delete-bad-json", "delete", f"{A}/1", {"data": "{", "content_type": "application/json"}, 400, "invalid_body"),
    ("unknown-token", "get", A, {"headers": bearer("crm_" + "x" * 43)}, 401, "unauthorized"),
    ("not-a-bearer-token", "get", A, {"headers": {"Authorization": "Basic cm9vdDpwdw=="}}, 401, "unauthorized"),
]


@pytest.fixture
def seeded(sales: CrmEngine, client: FlaskClient) -> FlaskClient:
    account = client.post(A, json={"name": "Acme"}).get_json()
    client.post(OPP, json={"title": "Deal", "account": account["id"]})
    return client


@pytest.mark.parametrize(
    ("method", "url", "options", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_REQUESTS],
)
def test_bad_input_is_a_4xx_problem(
    seeded: FlaskClient, method: str, url: str, options: dict[str, Any], status: int, code: str
) -> None:
    response = getattr(seeded, method)(url, **options)
    body = problem(response, status)
    assert body["code"] == code
    assert body["type"] == f"urn:crm-engine:problem:{code}"
    assert "Traceback" not in body["detail"]


def test_method_not_allowed_says_what_is(seeded: FlaskClient) -> None:
    response = seeded.put(A, json={})
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_too_large_bodies(engine: CrmEngine, auth_headers: AuthHeaders) -> None:
    engine.apply(load_definitions(SALES))
    client = create_app({"CRM_ENGINE": engine, "TESTING": True, "MAX_CONTENT_LENGTH": 1024}).test_client()
    response = client.post(A, json={"name": "x" * 2000}, headers=auth_headers(ADMIN))
    assert problem(response, 413)["code"] == "too_large"


def test_without_definitions_records_are_not_found(engine: CrmEngine, client: FlaskClient) -> None:
    assert problem(client.get(A), 404)["code"] == "not_found"
    assert client.get(f"{API}/entities").get_json() == {"version": 0, "items": []}
    assert client.get(f"{API}/health").get_json()["definitions_version"] == 0


def test_an_unexpected_error_is_a_500_without_details(engine: CrmEngine, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app({"CRM_ENGINE": engine, "TESTING": True})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret connection string postgresql://admin:hunter2@db")

    response = app.test_client().get("/boom")
    body = problem(response, 500)
    assert body["code"] == "internal_error"
    assert "hunter2" not in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    assert "hunter2" in caplog.text  # the log has it, for whoever runs the server
