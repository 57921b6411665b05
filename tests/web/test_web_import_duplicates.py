"""Duplicate rules in imports at the web edges (SQLite and PostgreSQL): the API's import
report lists warn matches and takes allow_duplicate, the OpenAPI document says so, and the
admin Imports page shows the matches and has the override checkbox."""

from __future__ import annotations

import io
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

XIAN = {"name": "西安华信环保科技有限公司", "city": "西安", "phone": "13800138000"}
FILE = "name,city,phone\n华信环保科技（西安）有限公司,西安,\nBeta Foods,上海,+86 138 0013 8000\n"


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return apply_bundle(engine, tmp_path)


def _overrides(crm: CrmEngine) -> list[tuple[str | None, int, str]]:
    return [
        (r["actor"], r["record_id"], r["new_value"]["rule"])
        for r in crm.records.audit("account", actor=SYSTEM)
        if r["action"] == "allow_duplicate"
    ]


def test_the_api_import_reports_duplicates_and_takes_allow_duplicate(client: FlaskClient, crm: CrmEngine) -> None:
    first = crm.records.create("account", XIAN, actor=SYSTEM)
    url = f"{API}/admin/import/account"
    refused = problem(client.post(url, data=FILE, content_type="text/csv"), 422)
    assert [(e["line"], e["code"]) for e in refused["errors"]] == [(2, "duplicate")]
    dry = client.post(url, query_string={"dry_run": "true", "on_error": "skip"}, data=FILE, content_type="text/csv")
    body = dry.get_json()
    assert (body["inserted"], body["rejected"]) == (1, 1)
    assert [(d["line"], d["rule"], d["action"], d["records"]) for d in body["duplicates"]] == [
        (3, "same_phone", "warn", [first["id"]])
    ]
    done = client.post(url, query_string={"allow_duplicate": "true"}, data=FILE, content_type="text/csv")
    assert done.status_code == 200, done.get_data(as_text=True)
    body = done.get_json()
    assert (body["inserted"], body["rejected"]) == (2, 0)
    assert [(d["line"], d["overridden"]) for d in body["duplicates"]] == [(2, True), (3, False)]
    (override,) = _overrides(crm)
    assert (override[0], override[2]) == ("root", "same_company") and override[1] != first["id"]
    bad = problem(client.post(url, query_string={"allow_duplicate": "maybe"}, data=FILE, content_type="text/csv"), 400)
    assert "allow_duplicate" in bad["detail"]


def test_the_openapi_document_describes_the_import_duplicates(client: FlaskClient, crm: CrmEngine) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    parameters = spec["paths"]["/admin/import/{entity}"]["post"]["parameters"]
    assert "allow_duplicate" in [p.get("name") for p in parameters]
    report = spec["components"]["schemas"]["ImportReport"]["properties"]["duplicates"]
    assert report["items"]["properties"]["overridden"]["type"] == "boolean"


@pytest.fixture
def ui(crm: CrmEngine) -> FlaskClient:
    crm.users.create("ada", roles=["admin"])
    crm.users.set_password("ada", PASSWORD)
    app: Flask = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"})
    client = app.test_client()
    sign_in(client)
    return client


def _post(client: FlaskClient, **fields: str) -> str:
    data = {
        "csrf_token": token(client, "/admin/imports/"),
        "entity": "account",
        "encoding": "utf-8",
        "delimiter": ",",
        "on_error": "skip",
        **fields,
        "file": (io.BytesIO(FILE.encode()), "accounts.csv"),
    }
    return client.post("/admin/imports/run/", data=data, content_type="multipart/form-data").get_data(as_text=True)


def test_the_imports_page_shows_duplicates_and_overrides_with_the_checkbox(ui: FlaskClient, crm: CrmEngine) -> None:
    first = crm.records.create("account", XIAN, actor=SYSTEM)
    assert 'name="allow_duplicate"' in ui.get("/admin/imports/").get_data(as_text=True)
    checked = _post(ui, dry_run="1")
    assert re.search(r'class="crm-rejected">1<', checked) and "duplicate" in checked
    table = checked[checked.index("crm-import-duplicates") :]
    assert "same_phone" in table and f"/admin/records/account/details/?id={first['id']}" in table
    done = _post(ui, allow_duplicate="1")
    assert re.search(r'class="crm-inserted">2<', done) and re.search(r'class="crm-rejected">0<', done)
    assert "imported anyway" in done
    assert [(actor, rule) for actor, _id, rule in _overrides(crm)] == [("ada", "same_company")]
