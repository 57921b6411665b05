"""Duplicate rules in the CSV import (SQLite and PostgreSQL): warn matches reported per line,
the allow_duplicate override and its audit, the dry run, duplicates within one file, and
upserts checked as single updates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RecordValidationError
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from tests.duplicates.duplicates_support import ENTITIES, apply_bundle
from tests.support import SYSTEM, CliResult, write_bundle

XIAN = {"name": "西安华信环保科技有限公司", "city": "西安"}
FILE = (
    "name,city,phone\n"
    "华信环保科技（西安）有限公司,西安,\n"  # line 2: the stored XIAN (block)
    "Acme Widgets Ltd,Shanghai,13800138000\n"  # line 3: new, the stored phone (warn)
    "ACME Widgets Inc.,shanghai,\n"  # line 4: line 3 again (block, within the file)
    "Beta Foods,Shanghai,+86 138 0013 8000\n"  # line 5: the phone of line 3 and of the stored one (warn)
    "Gamma Ltd,Beijing,\n"  # line 6: nothing alike
)


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return apply_bundle(engine, tmp_path)


@pytest.fixture
def stored(crm: CrmEngine) -> dict[str, Any]:
    return crm.records.create("account", {**XIAN, "phone": "138 0013 8000"}, actor=SYSTEM)


def _file(tmp_path: Path, text: str = FILE) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _overrides(crm: CrmEngine, record_id: int) -> list[tuple[str | None, Any]]:
    return [
        (r["actor"], r["new_value"])
        for r in crm.records.audit("account", record_id, actor=SYSTEM)
        if r["action"] == "allow_duplicate"
    ]


def _ids_by_name(crm: CrmEngine) -> dict[str, int]:
    return {r["name"]: r["id"] for r in crm.records.list("account", actor=SYSTEM, limit=100).items}


def test_warn_matches_are_reported_per_line(crm: CrmEngine, stored: dict[str, Any], tmp_path: Path) -> None:
    report = import_csv(crm, "account", _file(tmp_path), on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (3, 2)
    assert [(p.line, p.code) for p in report.problems] == [(2, "duplicate"), (4, "duplicate")]
    assert [(d.line, d.rule, d.action, d.records, d.lines) for d in report.duplicates] == [
        (3, "same_phone", "warn", (stored["id"],), ()),
        (5, "same_phone", "warn", (stored["id"],), (3,)),
    ]
    as_json = report.to_json()["duplicates"]
    assert as_json[1] == {
        "line": 5,
        "rule": "same_phone",
        "action": "warn",
        "overridden": False,
        "records": [stored["id"]],
        "lines": [3],
        "similarity": 1.0,
    }
    assert _overrides(crm, _ids_by_name(crm)["Beta Foods"]) == []  # a warning is no override


def test_the_dry_run_reports_would_be_duplicates_and_writes_nothing(
    crm: CrmEngine, stored: dict[str, Any], tmp_path: Path
) -> None:
    report = import_csv(crm, "account", _file(tmp_path), dry_run=True, actor=SYSTEM)
    assert (report.dry_run, report.inserted, report.rejected) == (True, 3, 2)
    assert [(p.line, p.code) for p in report.problems] == [(2, "duplicate"), (4, "duplicate")]
    assert [(d.line, d.action) for d in report.duplicates] == [(3, "warn"), (5, "warn")]
    allowed = import_csv(crm, "account", _file(tmp_path), dry_run=True, allow_duplicate=True, actor=SYSTEM)
    assert (allowed.inserted, allowed.rejected) == (5, 0)
    assert [(d.line, d.rule, d.overridden) for d in allowed.duplicates] == [
        (2, "same_company", True),
        (3, "same_phone", False),
        (4, "same_company", True),
        (5, "same_phone", False),
    ]
    assert _ids_by_name(crm) == {XIAN["name"]: stored["id"]}


def test_allow_duplicate_imports_block_matches_and_audits_each_override(
    crm: CrmEngine, stored: dict[str, Any], tmp_path: Path
) -> None:
    ada = crm.users.create("ada", roles=["admin"])
    report = import_csv(crm, "account", _file(tmp_path), allow_duplicate=True, actor=ada)
    assert (report.inserted, report.rejected, report.problems) == (5, 0, [])
    ids = _ids_by_name(crm)
    assert [(d.line, d.rule, d.overridden, d.records, d.lines) for d in report.duplicates] == [
        (2, "same_company", True, (stored["id"],), ()),
        (3, "same_phone", False, (stored["id"],), ()),
        (4, "same_company", True, (), (3,)),
        (5, "same_phone", False, (stored["id"],), (3,)),
    ]
    # who overrode which rule, on the record the line created, as for a single create
    assert _overrides(crm, ids["华信环保科技（西安）有限公司"]) == [
        ("ada", {"rule": "same_company", "candidates": [stored["id"]]})
    ]
    assert _overrides(crm, ids["ACME Widgets Inc."]) == [
        ("ada", {"rule": "same_company", "candidates": [], "lines": [3]})
    ]
    assert _overrides(crm, ids["Gamma Ltd"]) == []
    # the overridden records are keyed like the others: a later create finds them
    with crm.db.read() as conn:
        found = crm.duplicates.check(
            conn, crm.model.entity("account"), {"name": "Acme Widgets", "city": "SHANGHAI"}, None
        )
    assert {c.id for c in found} == {ids["Acme Widgets Ltd"], ids["ACME Widgets Inc."]}


def test_without_the_override_a_block_match_stops_the_whole_import(
    crm: CrmEngine, stored: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(RecordValidationError) as raised:
        import_csv(crm, "account", _file(tmp_path), actor=SYSTEM)
    assert [(p.line, p.code) for p in raised.value.problems] == [(2, "duplicate")]
    assert "crm import --allow-duplicate" in raised.value.problems[0].message
    assert list(_ids_by_name(crm)) == [XIAN["name"]]


def test_two_lines_of_one_file_are_caught_without_stored_records(crm: CrmEngine, tmp_path: Path) -> None:
    text = "name,city\n华信环保科技有限公司,西安\nGamma,北京\n西安华信环保科技有限公司,西安 \n"
    report = import_csv(crm, "account", _file(tmp_path, text), on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (2, 1)
    assert (report.problems[0].line, report.problems[0].code) == (4, "duplicate")
    assert "line 2" in report.problems[0].message
    # lines in different batches are compared too
    report = import_csv(
        crm,
        "account",
        _file(tmp_path, "name,city\nDelta,成都\nDelta Co.,成都\n"),
        on_error="skip",
        batch_size=1,
        actor=SYSTEM,
    )
    assert [(p.line, p.code) for p in report.problems] == [(3, "duplicate")]


def test_an_upsert_is_checked_as_a_single_update(engine: CrmEngine, tmp_path: Path) -> None:
    entities = {
        "account": {
            **ENTITIES["account"],
            "fields": {**ENTITIES["account"]["fields"], "code": {"type": "string", "unique": True}},
        }
    }
    crm = apply_bundle(engine, tmp_path, entities)
    first = crm.records.create("account", {"code": "A1", **XIAN, "phone": "13800138000"}, actor=SYSTEM)
    other = crm.records.create("account", {"code": "B2", "name": "Other Co", "city": "北京"}, actor=SYSTEM)
    text = "code,name,city,phone\nB2,华信环保科技（西安）有限公司,西安,\n"
    report = import_csv(crm, "account", _file(tmp_path, text), key="code", on_error="skip", actor=SYSTEM)
    assert (report.updated, report.rejected, report.problems[0].code) == (0, 1, "duplicate")
    report = import_csv(crm, "account", _file(tmp_path, text), key="code", allow_duplicate=True, actor=SYSTEM)
    assert report.updated == 1
    assert [(d.line, d.rule, d.overridden, d.records) for d in report.duplicates] == [
        (2, "same_company", True, (first["id"],))
    ]
    assert _overrides(crm, other["id"]) == [(SYSTEM.name, {"rule": "same_company", "candidates": [first["id"]]})]
    warned = import_csv(
        crm,
        "account",
        _file(tmp_path, "code,name,phone\nB2,华信环保科技（西安）有限公司,+86 138 0013 8000\n"),
        key="code",
        actor=SYSTEM,
    )
    assert [(d.rule, d.action, d.records) for d in warned.duplicates] == [("same_phone", "warn", (first["id"],))]


def test_the_cli_reports_duplicates_and_takes_allow_duplicate(
    database_url: str,
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    created = run_cli("record", "create", "account", "--data", json.dumps({**XIAN, "phone": "13800138000"}))
    assert created.exit_code == 0
    path = _file(tmp_path)
    checked = run_cli("import", "account", path, "--dry-run")
    assert checked.exit_code == 3  # lines would be rejected
    assert "2 line(s) would be imported although a duplicate rule matched:" in checked.stdout
    assert "line 5: likely a duplicate of account 1, line 3 (rule same_phone); imported (warn)" in checked.stdout
    assert "line 2:name: [duplicate]" in checked.stderr
    refused = run_cli("import", "account", path)
    assert refused.exit_code != 0 and "Traceback" not in refused.stderr
    done = run_cli("import", "account", path, "--allow-duplicate", "--json")
    assert done.exit_code == 0, done.stderr
    body = done.json()
    assert (body["inserted"], body["rejected"]) == (5, 0)
    assert [(d["line"], d["overridden"]) for d in body["duplicates"]] == [(2, True), (3, False), (4, True), (5, False)]


def test_every_override_is_audited_though_the_report_keeps_the_first_thousand(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("contact", {"name": "Li", "email": "li@example.com"}, actor=SYSTEM)
    lines = "".join(f"Li {i},LI@example.com\n" for i in range(1050))
    path = tmp_path / "contacts.csv"
    path.write_text("name,email\n" + lines, encoding="utf-8")
    report = import_csv(crm, "contact", path, allow_duplicate=True, actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1050, 0)
    assert len(report.duplicates) == 1000 and report.duplicates[-1].line == 1001
    audited = [r for r in crm.records.audit("contact", actor=SYSTEM, limit=5000) if r["action"] == "allow_duplicate"]
    assert len(audited) == 1050


def test_an_import_job_takes_allow_duplicate(crm: CrmEngine, stored: dict[str, Any]) -> None:
    from tests.jobs.test_jobs import submit_and_run

    params = {"entity": "account", "csv": FILE, "on_error": "skip"}
    refused = submit_and_run(crm, "import", {**params, "dry_run": True})["result"]
    assert (refused["inserted"], refused["rejected"]) == (3, 2)
    assert [(d["line"], d["action"]) for d in refused["duplicates"]] == [(3, "warn"), (5, "warn")]
    allowed = submit_and_run(crm, "import", {**params, "allow_duplicate": True})["result"]
    assert (allowed["inserted"], allowed["rejected"]) == (5, 0)
    assert [d["line"] for d in allowed["duplicates"] if d["overridden"]] == [2, 4]
