"""Duplicate rules at the web edges (SQLite and PostgreSQL): the API's 409 problem with its
candidates, allow_duplicate, the warn rules' _duplicates, the OpenAPI document, the admin
form's confirm button and the admin's duplicates page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.web import create_app
from tests.duplicates.duplicates_support import apply_bundle
from tests.support import SYSTEM
from tests.web.test_web_admin_ui import PASSWORD, sign_in, token
from tests.web.web_support import API, problem

XIAN = {"name": "西安华信环保科技有限公司", "city": "西安"}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return apply_bundle(engine, tmp_path)


def test_the_api_refuses_a_duplicate_with_409_and_the_candidates(client: FlaskClient, crm: CrmEngine) -> None:
    first = client.post(f"{API}/records/account", json=XIAN).get_json()
    body = problem(client.post(f"{API}/records/account", json={"name": "西安华信环保科技 ", "city": "西安"}), 409)
    assert body["code"] == "duplicate"
    assert body["candidates"] == [
        {"id": first["id"], "display": XIAN["name"], "rule": "same_company", "action": "block", "similarity": 1.0}
    ]
    saved = client.post(
        f"{API}/records/account", json={"name": "西安华信环保科技", "city": "西安", "allow_duplicate": True}
    )
    assert saved.status_code == 201
    assert saved.get_json()["_duplicates"][0]["id"] == first["id"]
    audit = [
        r
        for r in crm.records.audit("account", saved.get_json()["id"], actor=SYSTEM)
        if r["action"] == "allow_duplicate"
    ]
    assert [(r["actor"], r["new_value"]["rule"]) for r in audit] == [("root", "same_company")]


def test_the_api_update_is_checked_and_allow_duplicate_must_be_a_boolean(client: FlaskClient, crm: CrmEngine) -> None:
    client.post(f"{API}/records/account", json=XIAN)
    other = client.post(f"{API}/records/account", json={"name": "华为技术有限公司", "city": "西安"}).get_json()
    url = f"{API}/records/account/{other['id']}"
    assert problem(client.patch(url, json={"name": "华信环保科技(西安)有限公司"}), 409)["code"] == "duplicate"
    body = problem(client.patch(url, json={"name": "x", "allow_duplicate": "yes"}), 400)
    assert body["errors"][0]["pointer"] == "/allow_duplicate"
    assert client.patch(url, json={"name": "华信环保科技(西安)有限公司", "allow_duplicate": True}).status_code == 200


def test_a_warn_rule_answers_the_record_with_its_duplicates(client: FlaskClient, crm: CrmEngine) -> None:
    first = client.post(f"{API}/records/account", json={"name": "甲", "phone": "+86 138 0013 8000"}).get_json()
    assert "_duplicates" not in first
    second = client.post(f"{API}/records/account", json={"name": "乙", "phone": "0086 13800138000"})
    assert second.status_code == 201
    assert [(d["id"], d["rule"], d["action"]) for d in second.get_json()["_duplicates"]] == [
        (first["id"], "same_phone", "warn")
    ]


def test_the_openapi_document_describes_allow_duplicate_and_the_candidates(client: FlaskClient, crm: CrmEngine) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["account.create"]["properties"]["allow_duplicate"]["type"] == "boolean"
    assert "candidates" in schemas["Problem"]["properties"]
    assert schemas["DuplicateCandidate"]["required"] == ["id", "display", "rule", "action", "similarity"]


@pytest.fixture
def ui(crm: CrmEngine) -> FlaskClient:
    crm.users.create("ada", roles=["admin"])
    crm.users.set_password("ada", PASSWORD)
    app: Flask = create_app({"CRM_ENGINE": crm, "TESTING": True})
    client = app.test_client()
    sign_in(client)
    return client


def test_the_admin_form_shows_the_candidates_and_saves_on_confirm(ui: FlaskClient, crm: CrmEngine) -> None:
    first = crm.records.create("account", XIAN, actor=SYSTEM)
    csrf = token(ui, "/admin/records/account/new/")
    data = {"csrf_token": csrf, "name": "华信环保科技（西安）有限公司", "city": "西安"}
    page = ui.post("/admin/records/account/new/", data=data).get_data(as_text=True)
    assert f"/admin/records/account/details/?id={first['id']}" in page
    assert re.search(r'<button name="allow_duplicate" value="1"', page)
    assert crm.records.list("account", actor=SYSTEM).total == 1
    response = ui.post("/admin/records/account/new/", data={**data, "allow_duplicate": "1"})
    assert response.status_code == 302
    assert crm.records.list("account", actor=SYSTEM).total == 2
    (row,) = [r for r in crm.records.audit("account", actor=SYSTEM) if r["action"] == "allow_duplicate"]
    assert row["actor"] == "ada"


def test_the_admin_form_has_no_confirm_button_before_a_refusal(ui: FlaskClient, crm: CrmEngine) -> None:
    page = ui.get("/admin/records/account/new/").get_data(as_text=True)
    assert 'name="allow_duplicate"' not in page


def test_the_admin_duplicates_page_lists_groups_with_links(ui: FlaskClient, crm: CrmEngine) -> None:
    a = crm.records.create("account", XIAN, actor=SYSTEM)
    b = crm.records.create("account", {"name": "西安华信环保科技", "city": "西安"}, actor=SYSTEM, allow_duplicate=True)
    crm.records.create("account", {"name": "华为技术有限公司", "city": "西安"}, actor=SYSTEM)
    page = ui.get("/admin/duplicates/?entity=account").get_data(as_text=True)
    for record in (a, b):
        assert f"/admin/records/account/details/?id={record['id']}" in page
    assert "华为技术" not in page
    assert "same_company" in page
