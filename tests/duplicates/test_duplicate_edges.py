"""Duplicate rules through the CLI, the CSV import, the scan and its job (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import PermissionDeniedError, RecordValidationError, UsageError
from engine.jobs import InvalidJobError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from engine.users import SYSTEM_USER
from tests.duplicates.duplicates_support import ENTITIES, apply_bundle
from tests.support import SYSTEM, CliResult, write_bundle

XIAN = {"name": "西安华信环保科技有限公司", "city": "西安"}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return apply_bundle(engine, tmp_path)


def test_the_cli_refuses_a_duplicate_and_creates_it_with_allow_duplicate(
    database_url: str,
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    assert run_cli("record", "create", "account", "--data", json.dumps(XIAN)).exit_code == 0
    copy = json.dumps({"name": "华信环保科技（西安）有限公司", "city": "西安"})
    refused = run_cli("record", "create", "account", "--data", copy)
    assert refused.exit_code == 5
    assert refused.stderr.startswith("error: likely a duplicate of account 1")
    assert "Traceback" not in refused.stderr
    as_json = run_cli("record", "create", "account", "--data", copy, "--json")
    assert json.loads(as_json.stderr)["error"]["candidates"][0]["id"] == 1
    created = run_cli("record", "create", "account", "--data", copy, "--allow-duplicate", "--json")
    assert created.exit_code == 0, created.stderr
    assert created.json()["_duplicates"][0]["rule"] == "same_company"
    updated = run_cli("record", "update", "account", "2", "--data", '{"phone": "x"}')
    assert updated.exit_code != 0  # not a phone number: the record's own validation still applies
    warned = run_cli("record", "update", "account", "1", "--data", '{"phone": "13800138000"}')
    assert warned.exit_code == 0 and "warning" not in warned.stderr
    warned = run_cli("record", "update", "account", "2", "--data", '{"phone": "+86 138 0013 8000"}')
    assert warned.exit_code == 0
    assert "warning: likely a duplicate of account 1" in warned.stderr and "same_phone" in warned.stderr
    refused = run_cli("record", "update", "account", "2", "--data", '{"city": " 西安 "}')
    assert refused.exit_code == 0  # the same city: the name was already overridden, the key is unchanged


def test_the_scan_command_lists_groups(
    database_url: str,
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    for name in ("西安华信环保科技有限公司", "西安华信环保科技", "华为技术有限公司"):
        data = json.dumps({"name": name, "city": "西安"})
        assert run_cli("record", "create", "account", "--data", data, "--allow-duplicate").exit_code == 0
    shown = run_cli("duplicates", "scan", "account")
    assert shown.exit_code == 0
    assert "same_company (block, similarity 1): 2 records" in shown.stdout
    assert "account 1  西安华信环保科技有限公司" in shown.stdout and "华为" not in shown.stdout
    scanned = run_cli("duplicates", "scan", "account", "--rule", "same_company", "--json").json()
    assert [[r["id"] for r in g["records"]] for g in scanned["groups"]] == [[1, 2]]
    assert run_cli("duplicates", "scan", "account", "--rule", "same_phone").stdout.startswith("no likely duplicates")
    unknown = run_cli("duplicates", "scan", "account", "--rule", "nope")
    assert unknown.exit_code != 0 and "same_company" in unknown.stderr


def test_a_scan_joins_chains_and_keeps_apart_what_differs(crm: CrmEngine) -> None:
    names = ["Acme Widgets International", "Acme Widgets Internationl", "Acme Widget International Ltd", "Acme Foods"]
    ids = [
        crm.records.create("account", {"name": n, "city": "Shanghai"}, actor=SYSTEM, allow_duplicate=True)["id"]
        for n in names
    ]
    crm.records.create("account", {"name": names[0], "city": "Beijing"}, actor=SYSTEM)
    (group,) = crm.duplicates.scan("account", actor=SYSTEM)
    assert group.ids == ids[:3] and 0.85 <= group.similarity < 1.0
    with pytest.raises(UsageError):
        crm.duplicates.scan("account", actor=SYSTEM, rule="same_name")


def test_only_users_who_read_every_record_scan(crm: CrmEngine, tmp_path: Path) -> None:
    roles = {
        "schema_version": 1,
        "kind": "role",
        "name": "rep",
        "permissions": {"account": {"read": "own", "create": True}},
    }
    crm.apply(load_definitions(write_bundle(tmp_path / "with_roles", "sales", ENTITIES, extra={"rep.json": roles})))
    rep = crm.users.create("rita", roles=["rep"])
    with pytest.raises(PermissionDeniedError):
        crm.duplicates.scan("account", actor=rep)


def test_the_import_rejects_duplicates_of_stored_records_and_of_earlier_lines(crm: CrmEngine, tmp_path: Path) -> None:
    first = crm.records.create("account", XIAN, actor=SYSTEM)
    path = tmp_path / "accounts.csv"
    path.write_text(
        "name,city,phone\n"
        "华信环保科技（西安）有限公司,西安,\n"  # line 2: a stored record
        "Acme Widgets Ltd,Shanghai,13800138000\n"  # line 3: new
        "ACME Widgets Inc.,shanghai,\n"  # line 4: line 3 again
        "Beta Foods,Shanghai,+86 138 0013 8000\n",  # line 5: the same phone: warn only
        encoding="utf-8",
    )
    with pytest.raises(RecordValidationError) as raised:
        import_csv(crm, "account", path, actor=SYSTEM)
    assert [(p.line, p.code, p.field) for p in raised.value.problems] == [(2, "duplicate", "name")]
    report = import_csv(crm, "account", path, on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (2, 2)
    assert [(p.line, p.code) for p in report.problems] == [(2, "duplicate"), (4, "duplicate")]
    assert f"account {first['id']}" in report.problems[0].message and "line 3" in report.problems[1].message
    # what the import inserted is keyed: a later create finds it
    found = crm.duplicates.check
    with crm.db.read() as conn:
        candidates = found(conn, crm.model.entity("account"), {"name": "Acme Widgets", "city": "SHANGHAI"}, None)
    assert [c.rule for c in candidates] == ["same_company"]


def test_an_import_update_moves_the_keys(engine: CrmEngine, tmp_path: Path) -> None:
    entities = {
        "account": {
            **ENTITIES["account"],
            "fields": {**ENTITIES["account"]["fields"], "code": {"type": "string", "unique": True}},
        }
    }
    crm = apply_bundle(engine, tmp_path, entities)
    crm.records.create("account", {"code": "A1", "name": "Old Name", "city": "Xi'an"}, actor=SYSTEM)
    path = tmp_path / "update.csv"
    path.write_text("code,name\nA1,西安华信环保科技有限公司\n", encoding="utf-8")
    assert import_csv(crm, "account", path, key="code", actor=SYSTEM).updated == 1
    with crm.db.read() as conn:
        candidates = crm.duplicates.check(
            conn, crm.model.entity("account"), {"name": "华信环保科技", "city": "xi an"}, None
        )
    assert len(candidates) == 1


def test_the_duplicates_scan_job(crm: CrmEngine) -> None:
    crm.records.create("account", XIAN, actor=SYSTEM)
    crm.records.create("account", {"name": "西安华信环保科技", "city": "西安"}, actor=SYSTEM, allow_duplicate=True)
    job_id = crm.jobs.submit("duplicates_scan", {"entity": "account"}, user=SYSTEM_USER)
    crm.jobs.queue.run_once()
    job = crm.jobs.get(job_id, user=SYSTEM_USER).to_json()
    assert job["status"] == "done", job["error"]
    assert [len(g["records"]) for g in job["result"]["groups"]] == [2]
    for params, pointer in (
        ({"entity": "account", "rule": "nope"}, "/params/rule"),
        ({"entity": "nope"}, "/params/entity"),
    ):
        with pytest.raises(InvalidJobError) as raised:
            crm.jobs.submit("duplicates_scan", params, user=SYSTEM_USER)
        assert raised.value.problems[0].pointer == pointer
