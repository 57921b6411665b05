"""What CSV import refuses by line, on SQLite and PostgreSQL: owners that are not active users,
blank required texts and text no database stores (after which export still works)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import RecordValidationError
from engine.runtime import CrmEngine
from engine.transfer import export_csv, import_csv
from engine.users import SystemActor
from tests.records.records_support import set_up
from tests.support import SYSTEM, CliResult, acting_for


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return set_up(engine, tmp_path)


def test_owners_must_be_active_users_each_refusal_names_its_line(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [["name", "owner"], ["Ann's", "ann"], ["Nobody's", "mallory"], ["Mine", ""], ["Gone's", "gone"]]
    path = _csv(tmp_path / "a.csv", rows)
    report = import_csv(crm, "account", path, on_error="skip", actor=acting_for("system"))
    assert (report.inserted, report.rejected) == (2, 2)
    assert [(p.line, p.field, p.code) for p in report.problems] == [
        (3, "owner", "unknown_owner"),
        (5, "owner", "unknown_owner"),
    ]
    assert sorted(r["owner"] for r in crm.records.list("account", actor=SYSTEM).items) == ["ann", "system"]
    with pytest.raises(RecordValidationError) as caught:
        import_csv(crm, "account", path, actor=SYSTEM)
    assert [(p.line, p.code) for p in caught.value.problems] == [(3, "unknown_owner")]


def test_upserting_an_owner_checks_it_too(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    report = import_csv(
        crm,
        "account",
        _csv(tmp_path / "a.csv", [["id", "name", "owner"], ["1", "Acme", "mallory"]]),
        key="id",
        on_error="skip",
        actor=SYSTEM,
    )
    assert report.rejected == 1 and report.problems[0].code == "unknown_owner"
    assert crm.records.get("account", 1, actor=SYSTEM)["owner"] is None


def test_blank_required_and_unstorable_cells_are_line_errors(crm: CrmEngine, tmp_path: Path) -> None:
    rows = [
        ["name", "notes", "extra", "tags"],
        ["Kept", "", '{"k": "\\u4e2d"}', "vip"],
        ["   ", "", "", ""],
        ["Nul", "a\x00b", "", ""],
        ["Surrogate", "", '{"k": ["\\ud800"]}', ""],
        ["Nul in json", "", '"\\u0000"', ""],
        ["Tag", "", "", '["vip", "\\udfff"]'],
    ]
    report = import_csv(crm, "account", _csv(tmp_path / "a.csv", rows), on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1, 5)
    assert [(p.line, p.field, p.code) for p in report.problems] == [
        (3, "name", "required"),
        (4, "notes", "invalid_character"),
        (5, "extra", "invalid_character"),
        (6, "extra", "invalid_character"),
        (7, "tags", "choice"),
    ]
    export_csv(crm, "account", tmp_path / "out.csv", actor=SYSTEM)
    assert crm.records.list("account", actor=SYSTEM).items[0]["extra"] == {"k": "中"}
    assert "Kept" in (tmp_path / "out.csv").read_text(encoding="utf-8")


def test_cli_import_reports_the_owner_line(
    database_url: str, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    engine = CrmEngine(database_url)
    try:
        set_up(engine, tmp_path)
    finally:
        engine.close()
    path = _csv(tmp_path / "a.csv", [["name", "owner"], ["Acme", "bob"], ["Evil", "mallory"]])
    result = run_cli("import", "account", path)
    assert result.exit_code == 3 and "line 3" in result.stderr and "unknown_owner" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_import_names_who_acts_and_records_them(crm: CrmEngine, tmp_path: Path) -> None:
    """The acting identity is required: a user's import is created by and owned by them; the
    system's own import is recorded with its reason and owns nothing."""
    path = _csv(tmp_path / "a.csv", [["name"], ["Acme"]])
    with pytest.raises(TypeError):
        import_csv(crm, "account", path)  # type: ignore[call-arg]
    import_csv(crm, "account", path, actor=crm.users.get("ann"))
    import_csv(crm, "account", path, actor=SystemActor("nightly sync"))
    made = [(r["created_by"], r["owner"]) for r in crm.records.list("account", sort="id", actor=SYSTEM).items]
    assert made == [("ann", "ann"), ("system:nightly sync", None)]
