"""An import people can trust, on SQLite and PostgreSQL: references by natural key, a dry run
that writes nothing, an id per import, and revert with its refusals."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import ConflictError, NotFoundError, UsageError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import audit_log, events, import_changes, imports
from engine.transfer import import_csv, list_imports, revert_import
from tests.support import SYSTEM, CliResult, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "code": {"type": "string", "unique": True},
            "city": {"type": "string"},
            "size": {"type": "integer"},
            "parent": {"type": "reference", "target": "account"},
        },
    },
    "contact": {
        "fields": {
            "name": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account"},
            "employer": {"type": "reference", "target": "account"},
        }
    },
}


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    engine.apply(load_definitions(write_bundle(tmp_path, "sales", ENTITIES)))
    for name, code in (("Acme", "A1"), ("Globex", "G1"), ("Twin", "T1"), ("Twin", "T2")):
        engine.records.create("account", {"name": name, "code": code}, actor=SYSTEM)
    return engine


def _contacts(crm: CrmEngine) -> list[tuple[str, int | None]]:
    return [(r["name"], r["account"]) for r in crm.records.list("contact", actor=SYSTEM, sort="id").items]


def _count(crm: CrmEngine, table: sa.Table) -> int:
    with crm.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# -- natural keys ----------------------------------------------------------------------------


def test_reference_by_unique_field_and_by_display_field(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [["name", "account.code", "employer.name"], ["Ann", "G1", "Acme"], ["Bob", " A1 ", ""], ["Cy", "", "Globex"]]
    report = import_csv(crm, "contact", _csv(tmp_path / "c.csv", rows), actor=SYSTEM)
    assert (report.inserted, report.rejected) == (3, 0)
    found = [
        (r["name"], r["account"], r["employer"]) for r in crm.records.list("contact", actor=SYSTEM, sort="id").items
    ]
    assert found == [("Ann", 2, 1), ("Bob", 1, None), ("Cy", None, 2)]


def test_unknown_and_ambiguous_keys_are_line_errors_naming_field_and_value(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [
        ["name", "account.code", "employer.name"],
        ["Ann", "A1", "Acme"],
        ["Bob", "NOPE", "Acme"],
        ["Cy", "G1", "Twin"],
        ["", "A1", "Nobody"],
    ]
    report = import_csv(crm, "contact", _csv(tmp_path / "c.csv", rows), on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1, 3)
    found = [(p.line, p.field, p.code) for p in report.problems]
    assert found == [
        (3, "account", "unknown_reference"),
        (4, "employer", "ambiguous_reference"),
        (5, "employer", "unknown_reference"),
        (5, "name", "required"),
    ]
    assert '"NOPE"' in report.problems[0].message and "code" in report.problems[0].message
    assert "ids 3, 4" in report.problems[1].message
    assert _contacts(crm) == [("Ann", 1)]


def test_key_by_id_and_the_abort_mode_names_the_line(crm: CrmEngine, tmp_path: Path) -> None:
    from engine.errors import RecordValidationError

    path = _csv(tmp_path / "c.csv", [["name", "account.id"], ["Ann", "2"], ["Bob", "99"]])
    with pytest.raises(RecordValidationError) as caught:
        import_csv(crm, "contact", path, actor=SYSTEM)
    assert [(p.line, p.field, p.code) for p in caught.value.problems] == [(3, "account", "unknown_reference")]
    assert _contacts(crm) == []


@pytest.mark.parametrize(
    ("column", "code"),
    [("account.city", "unknown_key"), ("account.size", "unknown_key")],
    ids=["not-unique-not-display", "integer-not-unique"],
)
def test_a_key_that_cannot_find_records_is_refused_up_front(
    crm: CrmEngine, tmp_path: Path, column: str, code: str
) -> None:
    with pytest.raises(UsageError) as caught:
        import_csv(crm, "contact", _csv(tmp_path / "c.csv", [["name", column], ["Ann", "x"]]), actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [(column, code)]
    assert "code" in caught.value.message and "name" in caught.value.message  # the keys that work


def test_keys_resolve_across_batches(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [["name", "account.code"], *([f"P{i}", ("A1", "G1", "T2")[i % 3]] for i in range(25))]
    report = import_csv(crm, "contact", _csv(tmp_path / "c.csv", rows), actor=SYSTEM, batch_size=4)
    assert report.inserted == 25
    assert [account for _name, account in _contacts(crm)] == [(1, 2, 4)[i % 3] for i in range(25)]


# -- dry run ---------------------------------------------------------------------------------


def test_dry_run_reports_every_outcome_and_writes_nothing(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [
        ["code", "name", "city"],
        ["A1", "Acme", "Xi'an"],  # update
        ["G1", "Globex", ""],  # unchanged
        ["N1", "New", ""],  # insert
        ["N1", "Twice", ""],  # the file repeats a unique value: refused by the database
        ["N2", "", ""],  # required
    ]
    before = (_count(crm, audit_log), _count(crm, events))
    report = import_csv(crm, "account", _csv(tmp_path / "a.csv", rows), key="code", dry_run=True, actor=SYSTEM)
    assert report.dry_run and report.import_id is None
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (1, 1, 1, 2)
    assert [(p.line, p.field, p.code) for p in report.problems] == [(5, "code", "unique"), (6, "name", "required")]
    assert [r["code"] for r in crm.records.list("account", actor=SYSTEM, sort="id").items] == ["A1", "G1", "T1", "T2"]
    assert crm.records.get("account", 1, actor=SYSTEM)["city"] is None
    assert (_count(crm, audit_log), _count(crm, events), _count(crm, imports)) == (*before, 0)
    assert report.to_json()["dry_run"] is True


def test_dry_run_catches_a_unique_value_taken_in_the_database(crm: CrmEngine, tmp_path: Path) -> None:
    path = _csv(tmp_path / "a.csv", [["name", "code"], ["Clash", "A1"], ["Fine", "Z9"]])
    report = import_csv(crm, "account", path, dry_run=True, actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1, 1)
    assert [(p.line, p.field, p.code) for p in report.problems] == [(2, "code", "unique")]
    assert 'code "A1"' in report.problems[0].message
    assert _count(crm, imports) == 0 and len(crm.records.list("account", actor=SYSTEM).items) == 4


# -- ids, list and revert --------------------------------------------------------------------


def test_every_import_has_an_id_and_is_listed(crm: CrmEngine, tmp_path: Path) -> None:
    first = import_csv(crm, "contact", _csv(tmp_path / "one.csv", [["name"], ["Ann"]]), actor=SYSTEM)
    second = import_csv(crm, "account", _csv(tmp_path / "two.csv", [["name"], ["Initech"]]), actor=SYSTEM)
    assert (first.import_id, second.import_id) == (1, 2)
    listed = list_imports(crm)
    assert [(i["id"], i["entity"], i["file_name"], i["inserted"], i["status"]) for i in listed] == [
        (2, "account", "two.csv", 1, "imported"),
        (1, "contact", "one.csv", 1, "imported"),
    ]
    assert listed[0]["actor"] == SYSTEM.name
    assert [i["id"] for i in list_imports(crm, entity="contact")] == [1]


def test_revert_deletes_what_was_created_and_restores_what_was_updated(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [["code", "name", "city"], ["A1", "Acme Ltd", "Xi'an"], ["N1", "New", "Beijing"], ["N2", "Newer", ""]]
    report = import_csv(crm, "account", _csv(tmp_path / "a.csv", rows), key="code", actor=SYSTEM)
    assert (report.inserted, report.updated) == (2, 1)
    assert report.import_id is not None
    with crm.db.read() as conn:
        stored = conn.execute(sa.select(import_changes.c.record_id, import_changes.c.before)).all()
    assert [(r[0], r[1]) for r in stored] == [(1, {"name": "Acme", "city": None})]
    result = revert_import(crm, report.import_id, actor=SYSTEM)
    assert (result.deleted, result.restored) == (2, 1)
    accounts = crm.records.list("account", actor=SYSTEM, sort="id").items
    assert [(a["code"], a["name"], a["city"]) for a in accounts] == [
        ("A1", "Acme", None),
        ("G1", "Globex", None),
        ("T1", "Twin", None),
        ("T2", "Twin", None),
    ]
    assert list_imports(crm)[0]["status"] == "reverted"
    with crm.db.read() as conn:
        kinds = [r[0] for r in conn.execute(sa.select(events.c.type).order_by(events.c.id.desc()).limit(3))]
        actions = {r[0] for r in conn.execute(sa.select(audit_log.c.action))}
    assert sorted(kinds) == ["record.deleted", "record.deleted", "record.updated"]
    assert {"delete", "import_revert"} <= actions
    with pytest.raises(ConflictError) as again:
        revert_import(crm, report.import_id, actor=SYSTEM)
    assert again.value.problems[0].code == "already_reverted"


def test_revert_is_refused_naming_the_records_whose_later_changes_it_would_lose(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [["code", "name"], ["A1", "Acme Ltd"], ["N1", "New"], ["N2", "Newer"], ["N3", "Newest"]]
    report = import_csv(crm, "account", _csv(tmp_path / "a.csv", rows), key="code", actor=SYSTEM)
    assert report.import_id is not None
    crm.records.update("account", 1, {"city": "Xi'an"}, actor=SYSTEM)  # the updated record changed again
    crm.records.update("account", 5, {"city": "Beijing"}, actor=SYSTEM)  # a created record changed
    crm.records.create("contact", {"name": "Ann", "account": 6}, actor=SYSTEM)  # a created record referenced
    with pytest.raises(ConflictError) as caught:
        revert_import(crm, report.import_id, actor=SYSTEM)
    messages = [p.message for p in caught.value.problems]
    assert {p.code for p in caught.value.problems} == {"changed_since_import"}
    assert len(messages) == 3
    assert any(m.startswith("account 5 was changed") for m in messages)
    assert any(m.startswith("contact 1 refers to account 6") for m in messages)
    assert any(m.startswith("account 1 was changed") for m in messages)
    assert len(crm.records.list("account", actor=SYSTEM).items) == 7  # nothing was reverted
    assert list_imports(crm)[0]["status"] == "imported"


def test_records_the_import_created_may_refer_to_each_other(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [["name", "code", "parent.code"], ["Group", "H1", "A1"], ["Branch", "H2", "H1"], ["Desk", "H3", "H2"]]
    report = import_csv(crm, "account", _csv(tmp_path / "a.csv", rows), actor=SYSTEM, batch_size=1)
    assert report.inserted == 3 and report.import_id is not None
    assert [(a["code"], a["parent"]) for a in crm.records.list("account", actor=SYSTEM, sort="id").items][4:] == [
        ("H1", 1),
        ("H2", 5),
        ("H3", 6),
    ]
    assert revert_import(crm, report.import_id, actor=SYSTEM).deleted == 3
    assert len(crm.records.list("account", actor=SYSTEM).items) == 4


def test_revert_of_an_unknown_import(crm: CrmEngine) -> None:
    with pytest.raises(NotFoundError):
        revert_import(crm, 42, actor=SYSTEM)


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_import_prints_the_id_lists_and_reverts(
    database_url: str, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    accounts = _csv(tmp_path / "a.csv", [["name", "code"], ["Acme", "A1"]])
    contacts = _csv(tmp_path / "c.csv", [["name", "account.code"], ["Ann", "A1"], ["Bob", "B?"]])
    assert run_cli("import", "account", accounts).stdout.startswith("import 1: account: 1 inserted")

    dry = run_cli("import", "contact", contacts, "--dry-run", "--json")
    assert dry.exit_code == 3
    assert (dry.json()["import"], dry.json()["dry_run"], dry.json()["inserted"], dry.json()["rejected"]) == (
        None,
        True,
        1,
        1,
    )
    assert dry.json()["problems"][0]["field"] == "account"
    plain = run_cli("import", "contact", contacts, "--dry-run")
    assert "dry run, nothing written" in plain.stdout and '"B?"' in plain.stderr

    done = run_cli("import", "contact", contacts, "--on-error", "skip", "--json")
    assert (done.exit_code, done.json()["import"], done.json()["inserted"]) == (3, 2, 1)
    listed = run_cli("import", "list", "--json")
    assert [(i["id"], i["entity"]) for i in listed.json()] == [(2, "contact"), (1, "account")]
    assert "c.csv" in run_cli("import", "list").stdout

    refused = run_cli("import", "revert", "1")  # Ann refers to the account it created
    assert refused.exit_code == 5
    # (PostgreSQL's sequences keep what the dry runs drew: the contact's id may be higher)
    assert re.search(r"contact \d+ refers to account 1", refused.stderr) and "Traceback" not in refused.stderr
    reverted = run_cli("import", "revert", "2", "--json")
    assert reverted.exit_code == 0 and reverted.json() == {
        "import": 2,
        "entity": "contact",
        "deleted": 1,
        "restored": 0,
    }
    assert run_cli("import", "revert", "1").exit_code == 0
    assert run_cli("record", "list", "account", "--json").json()["items"] == []
    missing = run_cli("import", "revert", "9")
    assert missing.exit_code == 4 and "no import 9" in missing.stderr
