"""The OpenAPI document follows the live definitions and validates; the reference page works offline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from engine.metadata import load_definitions
from engine.presets import MODES, resolve
from engine.runtime import CrmEngine
from engine.web.openapi import build_spec
from tests.web.web_support import API, FLOW, SALES


def spec_of(client: FlaskClient) -> dict[str, Any]:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.get_json()
    return spec


@pytest.mark.parametrize("bundle", [None, SALES, FLOW], ids=["empty", "sales", "sales_flow"])
def test_the_document_validates(engine: CrmEngine, client: FlaskClient, bundle: Any) -> None:
    if bundle is not None:
        engine.apply(load_definitions(bundle))
    spec = spec_of(client)
    validate(spec)
    assert spec["openapi"] == "3.1.0" and spec["info"]["x-definitions-version"] == engine.version
    for name in engine.model.definitions.entities if bundle is not None else ():
        assert {name, f"{name}.create", f"{name}.update", f"{name}.page"} <= set(spec["components"]["schemas"])
        assert {"get", "post"} <= set(spec["paths"][f"/records/{name}"])
        assert {"get", "patch", "delete"} <= set(spec["paths"][f"/records/{name}/{{id}}"])


@pytest.mark.parametrize("mode", MODES)
def test_the_document_of_each_preset_validates(mode: str) -> None:
    definitions = load_definitions(resolve(mode).path)
    spec = build_spec(definitions, 1)
    validate(spec)
    assert set(definitions.entities) <= set(spec["components"]["schemas"])


def test_every_route_of_the_api_is_described(sales: CrmEngine, client: FlaskClient) -> None:
    # opportunity has a workflow and a scoring: its paths cover every route of an entity
    described = {re.sub(r"\{[^}]+\}", "{}", path.replace("/opportunity", "/{}")) for path in spec_of(client)["paths"]}
    routes = {
        re.sub(r"<[^>]+>", "{}", rule.rule[len(API) :])
        for rule in client.application.url_map.iter_rules()
        if rule.rule.startswith(API + "/")
    }
    assert routes - {"/docs"} <= described


@pytest.mark.parametrize(
    ("schema", "field", "expected"),
    [
        ("account", "name", {"type": "string", "maxLength": 200, "title": "Name"}),
        ("account", "employees", {"type": ["integer", "null"], "minimum": 0}),
        (
            "account",
            "industry",
            {"type": ["string", "null"], "enum": ["telecom", "banking", "manufacturing", "retail", None]},
        ),
        ("account", "website", {"type": ["string", "null"], "format": "uri", "maxLength": 2048}),
        ("account", "annual_revenue", {"type": ["string", "null"], "format": "decimal"}),
        ("account.create", "annual_revenue", {"type": ["string", "number", "null"], "minimum": 0}),
        ("contact", "email", {"type": ["string", "null"], "format": "email", "maxLength": 254}),
        ("opportunity", "account", {"type": "integer", "minimum": 1, "x-target": "account"}),
        ("opportunity", "close_date", {"type": ["string", "null"], "format": "date"}),
        ("opportunity", "won_at", {"type": ["string", "null"], "format": "date-time", "readOnly": True}),
        ("opportunity", "stage", {"default": "qualification"}),
        ("account", "id", {"type": "integer", "readOnly": True}),
        ("account", "version", {"type": "integer", "readOnly": True}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_entity_schemas_follow_the_fields(
    sales: CrmEngine, client: FlaskClient, schema: str, field: str, expected: dict[str, Any]
) -> None:
    found = spec_of(client)["components"]["schemas"][schema]["properties"][field]
    assert {k: found.get(k) for k in expected} == expected


def test_request_schemas_leave_out_what_users_cannot_write(sales: CrmEngine, client: FlaskClient) -> None:
    schemas = spec_of(client)["components"]["schemas"]
    create, update = schemas["opportunity.create"], schemas["opportunity.update"]
    assert create["required"] == ["title", "account"]
    for hidden in ("id", "version", "won_at", "lost_reason", "quality_score", "stage", "created_at"):
        assert hidden not in create["properties"]
    assert "version" in update["properties"] and "required" not in update
    assert create["additionalProperties"] is False
    assert schemas["opportunity"]["required"] == ["id", "version", "title", "account"]
    transitions = spec_of(client)["paths"]["/records/opportunity/{id}/transitions/{transition}"]["post"]
    (name,) = [p for p in transitions["parameters"] if p.get("name") == "transition"]
    assert name["schema"]["enum"] == ["lose", "negotiate", "propose", "win"]


def test_the_reference_page_is_self_contained(sales: CrmEngine, client: FlaskClient) -> None:
    response = client.get(f"{API}/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "/api/v1/records/opportunity/{id}/transitions/{transition}" in html
    assert 'id="schema-opportunity.create"' in html and "中文：预计成交日期" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
