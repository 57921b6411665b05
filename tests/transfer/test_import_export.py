"""CSV import and export on SQLite and PostgreSQL, through the CLI as an admin runs them."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RecordValidationError, UsageError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import export_csv, import_csv
from tests.support import SYSTEM, CliResult, acting_for, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "fields": {
            "name": {"type": "string", "required": True, "max_length": 50},
            "code": {"type": "string", "unique": True},
            "industry": {"type": "enum", "choices": ["telecom", "banking"]},
            "revenue": {"type": "money"},
            "since": {"type": "date"},
            "vip": {"type": "boolean"},
            "tags": {"type": "multi_enum", "choices": ["a", "b"]},
        }
    },
    "contact": {
        "fields": {
            "name": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account"},
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
    return engine


HEADER = ["name", "code", "industry", "revenue", "since", "vip", "tags"]


def test_import_converts_and_inserts(crm: CrmEngine, tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "a.csv",
        [
            HEADER,
            ["Acme", "A1", "telecom", "12.50", "2020-01-02", "yes", "a|b"],
            ["Globex", "G1", "", "", "", "false", ""],
        ],
    )
    report = import_csv(crm, "account", path, actor=acting_for("importer"))
    assert (report.inserted, report.rejected) == (2, 0)
    acme = crm.records.get("account", 1, actor=SYSTEM)
    assert (acme["revenue"], str(acme["since"]), acme["vip"], acme["tags"], acme["owner"]) == (
        __import__("decimal").Decimal("12.50"),
        "2020-01-02",
        True,
        ["a", "b"],
        "importer",
    )
    assert crm.records.get("account", 2, actor=SYSTEM)["industry"] is None


def test_abort_on_first_bad_line_imports_nothing(crm: CrmEngine, tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "a.csv", [HEADER, ["Acme", "A1", "telecom", "1", "", "", ""], ["", "B1", "farming", "x", "", "", ""]]
    )
    with pytest.raises(RecordValidationError) as caught:
        import_csv(crm, "account", path, actor=SYSTEM)
    found = {(p.line, p.field, p.code) for p in caught.value.problems}
    assert found >= {(3, "name", "required"), (3, "industry", "choice")}
    assert crm.records.list("account", actor=SYSTEM).total == 0


def test_skip_writes_rejects_with_line_numbers(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("account", {"name": "Existing", "code": "DUP"}, actor=SYSTEM)
    rows = [
        HEADER,
        ["Good", "G1", "", "", "", "", ""],
        ["", "X", "", "", "", "", ""],
        ["Dup", "DUP", "", "", "", "", ""],
        ["Also good", "G2", "banking", "5", "", "", ""],
        ["short"],
    ]
    path = _csv(tmp_path / "a.csv", rows)
    rejects = tmp_path / "rejects.csv"
    report = import_csv(crm, "account", path, on_error="skip", rejects=rejects, actor=SYSTEM)
    assert (report.inserted, report.rejected) == (2, 3)
    assert sorted({p.line for p in report.problems}) == [3, 4, 6]
    with rejects.open(newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0] == [*HEADER, "errors"]
    assert [r[0] for r in written[1:]] == ["", "Dup", "short"]
    assert crm.records.list("account", actor=SYSTEM).total == 3


def test_unknown_reference_is_rejected_per_line(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    path = _csv(tmp_path / "c.csv", [["name", "account"], ["Ann", "1"], ["Bob", "42"]])
    report = import_csv(crm, "contact", path, on_error="skip", actor=SYSTEM)
    assert report.inserted == 1
    assert [(p.line, p.field, p.code) for p in report.problems] == [(3, "account", "unknown_reference")]


def test_upsert_on_unique_key_updates_and_audits(crm: CrmEngine, tmp_path: Path) -> None:
    import_csv(
        crm, "account", _csv(tmp_path / "a.csv", [["name", "code"], ["Acme", "A1"], ["Globex", "G1"]]), actor=SYSTEM
    )
    report = import_csv(
        crm,
        "account",
        _csv(tmp_path / "b.csv", [["name", "code"], ["Acme Ltd", "A1"], ["Globex", "G1"], ["New", "N1"]]),
        key="code",
        actor=acting_for("sync"),
    )
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    acme = crm.records.get("account", 1, actor=SYSTEM)
    assert acme["name"] == "Acme Ltd" and acme["version"] == 2
    audit = crm.records.audit("account", 1, actor=SYSTEM)
    change = (audit[0]["field"], audit[0]["old_value"], audit[0]["new_value"], audit[0]["actor"])
    assert change == ("name", "Acme", "Acme Ltd", "sync")


def test_key_must_be_unique(crm: CrmEngine, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        import_csv(crm, "account", _csv(tmp_path / "a.csv", [["name"], ["x"]]), key="name", actor=SYSTEM)


def test_header_errors_are_reported_before_any_row(crm: CrmEngine, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        import_csv(crm, "account", _csv(tmp_path / "a.csv", [["name", "colour"], ["x", "red"]]), actor=SYSTEM)
    assert [p.field for p in caught.value.problems] == ["colour"]
    with pytest.raises(UsageError):
        import_csv(crm, "account", _csv(tmp_path / "e.csv", []), actor=SYSTEM)


def test_export_then_reimport_round_trips(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create(
        "account",
        {
            "name": 'Acme, "Inc"',
            "code": "A1",
            "revenue": "3.10",
            "since": "2020-02-29",
            "vip": True,
            "tags": ["b"],
            "industry": "telecom",
        },
        actor=SYSTEM,
    )
    crm.records.create("account", {"name": "多语言 客户", "code": "Z9"}, actor=SYSTEM)
    out = tmp_path / "out.csv"
    assert export_csv(crm, "account", out, actor=SYSTEM) == 2
    before = [dict(r) for r in crm.records.list("account", actor=SYSTEM).items]
    crm.records.update("account", 1, {"name": "changed"}, actor=SYSTEM)
    report = import_csv(crm, "account", out, key="id", actor=SYSTEM)
    assert report.updated == 1 and report.unchanged == 1 and report.inserted == 0
    after = crm.records.list("account", actor=SYSTEM).items
    strip = lambda r: {k: v for k, v in r.items() if k not in ("version", "updated_at")}  # noqa: E731
    assert [strip(r) for r in after] == [strip(r) for r in before]


def test_cli_import_and_export(
    database_url: str, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    path = _csv(tmp_path / "a.csv", [HEADER, ["Acme", "A1", "telecom", "1", "", "", ""], ["", "B", "", "", "", "", ""]])
    result = run_cli("import", "account", path, "--on-error", "skip", "--rejects", tmp_path / "rej.csv", "--json")
    assert result.exit_code == 3
    assert result.json()["inserted"] == 1 and result.json()["rejected"] == 1
    aborted = run_cli("import", "account", path)
    assert aborted.exit_code == 3 and "line 3" in aborted.stderr and "name" in aborted.stderr
    exported = run_cli("export", "account", tmp_path / "out.csv")
    assert exported.exit_code == 0 and "exported 1" in exported.stdout


def test_many_batches_keep_line_order_and_counts(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("account", {"name": "Existing", "code": "TAKEN"}, actor=SYSTEM)
    rows = [HEADER]
    for i in range(2, 32):  # lines 2..31
        code = "TAKEN" if i == 9 else f"C{i}"
        name = "" if i in (4, 20) else f"Company {i}"
        rows.append([name, code, "", "", "", "", ""])
    path = _csv(tmp_path / "a.csv", rows)
    rejects = tmp_path / "rejects.csv"
    report = import_csv(crm, "account", path, on_error="skip", rejects=rejects, batch_size=4, actor=SYSTEM)
    assert (report.inserted, report.rejected, report.lines) == (27, 3, 30)
    with rejects.open(newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))[1:]
    assert [r[1] for r in written] == ["C4", "TAKEN", "C20"], "rejects in line order across batches"
    assert crm.records.list("account", actor=SYSTEM).total == 28
