"""Imports over HTTP, on SQLite and PostgreSQL: natural keys, dry run, file formats, the
record of imports and revert, all answered as JSON or problem+json and described in the
OpenAPI document."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.web.web_support import API, problem

ACCOUNTS = "name,code\nAcme,A1\nGlobex,G1\n"


def _import(client: FlaskClient, entity: str, body: str | bytes, **query: str) -> dict:
    response = client.post(f"{API}/admin/import/{entity}", query_string=query, data=body, content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict = response.get_json()
    return result


def test_natural_keys_dry_run_list_and_revert(sales: CrmEngine, client: FlaskClient) -> None:
    first = _import(client, "account", ACCOUNTS)
    assert (first["import"], first["inserted"], first["dry_run"]) == (1, 2, False)

    contacts = "name,account.code\nAnn,G1\nBob,NOPE\n"
    dry = _import(client, "contact", contacts, dry_run="true", on_error="skip")
    assert (dry["import"], dry["dry_run"], dry["inserted"], dry["rejected"]) == (None, True, 1, 1)
    assert [(e["line"], e["field"], e["code"]) for e in dry["problems"]] == [(3, "account", "unknown_reference")]
    assert client.get(f"{API}/records/contact?limit=0").get_json()["total"] == 0

    aborted = problem(client.post(f"{API}/admin/import/contact", data=contacts, content_type="text/csv"), 422)
    assert [(e["line"], e["field"], e["code"]) for e in aborted["errors"]] == [(3, "account", "unknown_reference")]

    done = _import(client, "contact", "name,account.code\nAnn,G1\n")
    second = done["import"]  # 2 on SQLite; PostgreSQL's sequence keeps the number the aborted import drew
    assert second > 1
    ann = client.get(f"{API}/records/contact").get_json()["items"][0]
    assert ann["account"] == 2

    listed = client.get(f"{API}/admin/imports").get_json()["items"]
    assert [(i["id"], i["entity"], i["inserted"], i["status"]) for i in listed] == [
        (second, "contact", 1, "imported"),
        (1, "account", 2, "imported"),
    ]
    assert [i["id"] for i in client.get(f"{API}/admin/imports?entity=account").get_json()["items"]] == [1]

    refused = problem(client.post(f"{API}/admin/imports/1/revert"), 409)
    assert refused["errors"][0]["code"] == "changed_since_import"
    assert "refers to account 2" in refused["errors"][0]["message"]
    reverted = client.post(f"{API}/admin/imports/{second}/revert")
    assert reverted.status_code == 200
    assert reverted.get_json() == {"import": second, "entity": "contact", "deleted": 1, "restored": 0}
    assert client.post(f"{API}/admin/imports/1/revert").status_code == 200
    assert client.get(f"{API}/records/account?limit=0").get_json()["total"] == 0
    assert problem(client.post(f"{API}/admin/imports/1/revert"), 409)["errors"][0]["code"] == "already_reverted"
    assert problem(client.post(f"{API}/admin/imports/77/revert"), 404)["code"] == "not_found"
    assert problem(client.post(f"{API}/admin/imports/x/revert"), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("客户.csv", "客户.csv"), ("exports/a.csv", "a.csv"), ("../..", "upload.csv"), ("..", "upload.csv")],
    ids=["chinese", "path", "parent", "dots"],
)
def test_the_import_list_shows_the_uploaded_files_name(
    sales: CrmEngine, client: FlaskClient, sent: str, shown: str
) -> None:
    multipart = {"file": (io.BytesIO(ACCOUNTS.encode()), sent)}
    response = client.post(f"{API}/admin/import/account", data=multipart, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get(f"{API}/admin/imports").get_json()["items"][0]["file_name"] == shown


def test_encoding_delimiter_and_map(sales: CrmEngine, client: FlaskClient) -> None:
    body = "客户名称;编号\n西安华信环保科技有限公司;XA-1\n".encode("gbk")
    mapping = json.dumps({"客户名称": "name", "编号": "code"}, ensure_ascii=False)
    result = _import(client, "account", body, encoding="gbk", delimiter=";", map=mapping)
    assert result["inserted"] == 1
    assert client.get(f"{API}/records/account").get_json()["items"][0]["name"] == "西安华信环保科技有限公司"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"encoding": "latin-1"}, "choice"),
        ({"delimiter": "ab"}, "usage"),
        ({"map": "{not json"}, "invalid_json"),
        ({"map": '{"name": 3}'}, "usage"),
        ({"map": '{"name": "nope"}'}, "usage"),
        ({"dry_run": "maybe"}, "type"),
    ],
    ids=["encoding", "delimiter", "map-not-json", "map-not-names", "map-unknown-field", "dry-run"],
)
def test_bad_import_options_are_400(sales: CrmEngine, client: FlaskClient, query: dict[str, str], code: str) -> None:
    response = client.post(f"{API}/admin/import/account", query_string=query, data="name\nA\n", content_type="text/csv")
    body = problem(response, 400)
    assert code in (body["code"], *(e["code"] for e in body.get("errors", [])))


def test_imports_need_an_administrator(sales: CrmEngine, anonymous: FlaskClient) -> None:
    assert anonymous.get(f"{API}/admin/imports").status_code == 401


def test_openapi_describes_the_import_operations(sales: CrmEngine, client: FlaskClient) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    assert {"get"} <= set(spec["paths"]["/admin/imports"])
    assert "post" in spec["paths"]["/admin/imports/{import_id}/revert"]
    names = {p["name"] for p in spec["paths"]["/admin/import/{entity}"]["post"]["parameters"] if "name" in p}
    assert {"dry_run", "delimiter", "encoding", "map", "on_error", "key"} <= names
    assert "import" in spec["components"]["schemas"]["ImportReport"]["properties"]
