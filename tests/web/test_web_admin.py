"""Admin over HTTP: uploaded bundles checked, diffed and applied; presets; CSV import."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.web.conftest import AuthHeaders
from tests.web.web_support import API, SALES, bundle_files, error_codes, problem, zip_bytes, zip_of


def broken_sales() -> dict[str, Any]:
    """The example bundle with two mistakes in two files."""
    files = bundle_files(SALES)
    account = copy.deepcopy(files["account.json"])
    account["fields"]["employees"]["type"] = "intger"
    contact = copy.deepcopy(files["contact.json"])
    contact["fields"]["account"]["target"] = "acount"
    return {**files, "account.json": account, "contact.json": contact}


UPLOADS = {
    "json": lambda files: {"json": {"files": files}},
    "zip": lambda files: {"data": zip_of(files), "content_type": "application/zip"},
    "zip-in-a-folder": lambda files: {"data": zip_of(files, "sales/"), "content_type": "application/zip"},
    "multipart": lambda files: {
        "data": {"bundle": (io.BytesIO(zip_of(files)), "sales.zip")},
        "content_type": "multipart/form-data",
    },
}


@pytest.mark.parametrize("form", list(UPLOADS))
def test_validate_reports_every_problem_with_file_and_pointer(
    engine: CrmEngine, client: FlaskClient, form: str
) -> None:
    body = problem(client.post(f"{API}/admin/definitions/validate", **UPLOADS[form](broken_sales())), 422)
    assert body["code"] == "invalid_definition"
    prefix = "sales/" if form == "zip-in-a-folder" else ""
    found = {(e.get("file"), e.get("pointer"), e["code"]) for e in body["errors"]}
    assert (f"{prefix}account.json", "/fields/employees/type", "unknown_type") in found
    assert any(f == f"{prefix}contact.json" and p == "/fields/account/target" for f, p, _c in found)

    valid = client.post(f"{API}/admin/definitions/validate", **UPLOADS[form](bundle_files(SALES)))
    assert valid.status_code == 200, valid.get_data(as_text=True)
    summary = valid.get_json()
    assert summary["valid"] and summary["name"] == "sales_example"
    assert [e["name"] for e in summary["entities"]] == ["account", "contact", "opportunity"]
    assert summary["workflows"] == ["opportunity_pipeline"] and summary["scorings"] == ["opportunity_quality"]


def test_diff_then_apply_then_change(engine: CrmEngine, client: FlaskClient) -> None:
    upload = {"json": {"files": bundle_files(SALES)}}
    plan = client.post(f"{API}/admin/definitions/diff", **upload).get_json()
    assert plan["from_version"] == 0 and plan["to_version"] == 1 and plan["steps"]

    applied = client.post(f"{API}/admin/definitions/apply", **upload)
    assert applied.status_code == 200, applied.get_data(as_text=True)
    assert applied.get_json()["version"] == 1
    created = client.post(f"{API}/records/account", json={"name": "Acme", "website": "https://acme.example"})
    assert created.status_code == 201

    again = client.post(f"{API}/admin/definitions/apply", **upload).get_json()
    assert again["version"] == 1 and again["steps"] == []

    files = bundle_files(SALES)
    files["account.json"]["fields"]["vip"] = {"type": "boolean", "default": False}
    changed = {"json": {"files": files}}
    stale = problem(client.post(f"{API}/admin/definitions/apply?expected_version=0", **changed), 409)
    assert stale["code"] == "conflict"
    step = client.post(f"{API}/admin/definitions/diff", **changed).get_json()["steps"]
    assert any("vip" in s["detail"] for s in step)
    assert client.post(f"{API}/admin/definitions/apply?expected_version=1", **changed).get_json()["version"] == 2
    assert client.get(f"{API}/records/account/1").get_json()["vip"] is False

    del files["account.json"]["fields"]["website"]
    dropping = {"json": {"files": files}}
    assert problem(client.post(f"{API}/admin/definitions/apply", **dropping), 409)["code"] == "data_loss"
    assert client.post(f"{API}/admin/definitions/apply?allow_data_loss=true", **dropping).status_code == 200


def _bundle(**extra: bytes | str) -> dict[str, bytes | str]:
    return {"bundle.json": json.dumps({"schema_version": 1, "kind": "bundle", "name": "b"}), **extra}


@pytest.mark.parametrize(
    ("upload", "status", "code", "error"),
    [
        (
            {"data": zip_bytes(_bundle(**{"../evil.json": "{}"})), "content_type": "application/zip"},
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        (
            {"data": zip_bytes(_bundle(**{"/tmp/evil.json": "{}"})), "content_type": "application/zip"},
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        (
            {"data": zip_bytes(_bundle(**{"a\\..\\evil.json": "{}"})), "content_type": "application/zip"},
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        (
            {
                "data": zip_bytes(_bundle(**{"link.json": "/etc/passwd"}), symlinks=("link.json",)),
                "content_type": "application/zip",
            },
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        (
            {
                "json": {
                    "files": {
                        "bundle.json": {"schema_version": 1, "kind": "bundle", "name": "b"},
                        "sub/../../evil.json": {},
                    }
                }
            },
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        ({"json": {"files": {"C:/evil.json": {}}}}, 400, "invalid_upload", "unsafe_path"),
        (
            {
                "json": {
                    "files": {
                        "bundle.json": {"schema_version": 1, "kind": "bundle", "name": "b", "extends": ["../../../etc"]}
                    }
                }
            },
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        (
            {
                "json": {
                    "files": {
                        "bundle.json": {"schema_version": 1, "kind": "bundle", "name": "b", "extends": ["/usr/share"]}
                    }
                }
            },
            400,
            "invalid_upload",
            "unsafe_path",
        ),
        ({"data": b"PK\x03\x04 not really", "content_type": "application/zip"}, 400, "invalid_upload", "invalid_zip"),
        (
            {"data": zip_bytes({"account.json": "{}"}), "content_type": "application/zip"},
            400,
            "invalid_upload",
            "no_bundle",
        ),
        ({"json": {"files": {}}}, 400, "invalid_upload", "type"),
        ({"json": {"documents": {}}}, 400, "invalid_upload", "type"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_body", "invalid_json"),
        ({"data": "name: x", "content_type": "text/yaml"}, 415, "unsupported_media_type", None),
        (
            {"data": zip_bytes(_bundle(**{"big.json": " " * (3 * 1024 * 1024)})), "content_type": "application/zip"},
            413,
            "too_large",
            None,
        ),
    ],
    ids=[
        "dot-dot",
        "absolute",
        "backslash",
        "symlink",
        "json-dot-dot",
        "drive-letter",
        "extends-outside",
        "extends-absolute",
        "not-a-zip",
        "no-bundle-json",
        "no-files",
        "wrong-shape",
        "bad-json",
        "yaml",
        "too-big",
    ],
)
def test_unsafe_or_unreadable_uploads_are_refused(
    engine: CrmEngine,
    client: FlaskClient,
    tmp_path: Path,
    upload: dict[str, Any],
    status: int,
    code: str,
    error: str | None,
) -> None:
    for operation in ("validate", "apply"):
        body = problem(client.post(f"{API}/admin/definitions/{operation}", **copy.deepcopy(upload)), status)
        assert body["code"] == code
        if error is not None:
            assert error in error_codes(body)
    assert engine.version == 0


def test_admin_operations_need_an_administrator(
    engine: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    engine.users.create("rita", roles=["rep"])
    engine.users.create("boss", roles=["admin"])
    upload = {"json": {"files": bundle_files(SALES)}}
    for operation in ("validate", "diff", "apply"):
        response = client.post(f"{API}/admin/definitions/{operation}", headers=auth_headers("rita"), **upload)
        assert problem(response, 403)["code"] == "forbidden"
    refused = client.post(f"{API}/admin/presets/core/load", headers=auth_headers("rita"))
    assert problem(refused, 403)["code"] == "forbidden"
    applied = client.post(f"{API}/admin/definitions/apply", headers=auth_headers("boss"), **upload)
    assert applied.status_code == 200


CSV = (SALES / "accounts.csv").read_text(encoding="utf-8")


def test_import_csv(sales: CrmEngine, client: FlaskClient) -> None:
    lines = len(CSV.strip().splitlines()) - 1
    report = client.post(f"{API}/admin/import/account", data=CSV.encode(), content_type="text/csv")
    assert report.status_code == 200, report.get_data(as_text=True)
    assert report.get_json()["inserted"] == lines and report.get_json()["rejected"] == 0
    assert client.get(f"{API}/records/account?limit=0").get_json()["total"] == lines

    upsert = "code,name,city\nC-0001,中国电信上海分公司,北京\nC-0002,招商银行深圳分行,深圳\n"
    multipart = {"file": (io.BytesIO(upsert.encode()), "accounts.csv")}
    result = client.post(f"{API}/admin/import/account?key=code", data=multipart, content_type="multipart/form-data")
    assert result.status_code == 200, result.get_data(as_text=True)
    # C-0002's name and city are as stored: unchanged; columns the file does not have are kept
    assert (result.get_json()["inserted"], result.get_json()["updated"], result.get_json()["unchanged"]) == (0, 1, 1)
    beijing = client.get(f"{API}/records/account", query_string={"where": json.dumps({"city": "北京"})}).get_json()
    assert [r["code"] for r in beijing["items"]] == ["C-0001"]
    assert [(r["industry"], r["employees"]) for r in beijing["items"]] == [("telecom", 12000)]


def test_import_with_bad_lines(sales: CrmEngine, client: FlaskClient) -> None:
    bad = "name,employees\nGood,1\nBad,many\nAlso good,3\n"
    aborted = problem(client.post(f"{API}/admin/import/account", data=bad, content_type="text/csv"), 422)
    assert aborted["code"] == "invalid_record"
    assert [(e.get("line"), e.get("field"), e["code"]) for e in aborted["errors"]] == [(3, "employees", "type")]
    assert client.get(f"{API}/records/account?limit=0").get_json()["total"] == 0

    skipped = client.post(f"{API}/admin/import/account?on_error=skip", data=bad, content_type="text/csv")
    assert skipped.status_code == 200
    assert (skipped.get_json()["inserted"], skipped.get_json()["rejected"]) == (2, 1)


@pytest.mark.parametrize(
    ("url", "kwargs", "status", "code"),
    [
        (
            "/admin/import/account?on_error=ignore",
            {"data": "name\nA\n", "content_type": "text/csv"},
            400,
            "invalid_parameter",
        ),
        ("/admin/import/account?key=nope", {"data": "name\nA\n", "content_type": "text/csv"}, 400, "invalid_parameter"),
        ("/admin/import/account", {"json": {"name": "A"}}, 415, "unsupported_media_type"),
        ("/admin/import/account", {"files": {"other": b"name\nA\n"}}, 400, "invalid_upload"),
        ("/admin/import/account", {"data": "", "content_type": "text/csv"}, 400, "usage"),
        ("/admin/import/account", {"data": b"name\n\xff\xfe\n", "content_type": "text/csv"}, 400, "usage"),
        ("/admin/import/nope", {"data": "name\nA\n", "content_type": "text/csv"}, 404, "not_found"),
    ],
    ids=["bad-on-error", "unknown-key", "json-body", "no-file-field", "empty", "not-utf8", "unknown-entity"],
)
def test_bad_imports(
    sales: CrmEngine, client: FlaskClient, url: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    if "files" in kwargs:  # a fresh stream for every run
        kwargs = {
            "data": {k: (io.BytesIO(v), "a.csv") for k, v in kwargs["files"].items()},
            "content_type": "multipart/form-data",
        }
    assert problem(client.post(API + url, **kwargs), status)["code"] == code


def test_presets(engine: CrmEngine, client: FlaskClient) -> None:
    listed = client.get(f"{API}/presets").get_json()
    names = [p["name"] for p in listed["items"]]
    assert "core" in names and listed["installed"] == []
    assert problem(client.post(f"{API}/admin/presets/nope/load"), 400)["code"] == "usage"
    assert problem(client.post(f"{API}/admin/presets/core/load", json={"demo": -1}), 400)["code"] == "invalid_body"
    loaded = client.post(f"{API}/admin/presets/core/load")
    assert loaded.status_code == 200, loaded.get_data(as_text=True)
    assert loaded.get_json()["version"] == 1 and loaded.get_json()["presets"] == ["core"]
    assert client.get(f"{API}/presets").get_json()["installed"] == [{"mode": "core", "preset": "core"}]
    assert client.get(f"{API}/entities").get_json()["items"]
