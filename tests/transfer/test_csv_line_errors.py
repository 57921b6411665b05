"""CSV import line errors a user can act on: unique values named by field and value, quotes
that must close, cells as large as a field holds; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RecordValidationError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import export_csv, import_csv
from tests.support import SYSTEM, CliResult, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "fields": {
            "name": {"type": "string", "required": True},
            "code": {"type": "string", "unique": True},
            "notes": {"type": "text"},
        }
    },
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    engine.apply(load_definitions(write_bundle(tmp_path, "sales", ENTITIES)))
    return engine


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_unique_violation_names_field_and_value(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("account", {"name": "Existing", "code": "A-1"}, actor=SYSTEM)
    path = _csv(tmp_path / "a.csv", [["name", "code"], ["New", "B-1"], ["Clash", "A-1"], ["Twin", "B-1"]])
    report = import_csv(crm, "account", path, on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1, 2)
    found = [(p.line, p.field, p.code) for p in report.problems]
    assert found == [(3, "code", "unique"), (4, "code", "unique")]
    messages = [p.message for p in report.problems]
    assert 'code "A-1"' in messages[0] and 'code "B-1"' in messages[1]
    assert all("UNIQUE constraint" not in m and "duplicate key" not in m for m in messages), messages


def test_unique_violation_in_upsert_names_field_and_value(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("account", {"name": "One", "code": "A-1"}, actor=SYSTEM)
    crm.records.create("account", {"name": "Two", "code": "A-2"}, actor=SYSTEM)
    path = _csv(tmp_path / "a.csv", [["id", "name", "code"], ["2", "Two", "A-1"]])
    report = import_csv(crm, "account", path, key="id", on_error="skip", actor=SYSTEM)
    assert [(p.line, p.field, p.code) for p in report.problems] == [(2, "code", "unique")]
    assert 'code "A-1"' in report.problems[0].message
    assert crm.records.get("account", 2, actor=SYSTEM)["code"] == "A-2"


def test_cli_unique_violation_line_names_the_field(
    database_url: str, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    path = _csv(tmp_path / "a.csv", [["name", "code"], ["A", "X"], ["B", "X"]])
    result = run_cli("import", "account", path)
    assert result.exit_code == 3
    assert "line 3:code: [unique] account " in result.stderr, result.stderr
    assert 'already has code "X"' in result.stderr
    assert "UNIQUE constraint failed" not in result.stderr


def test_unclosed_quote_at_end_of_file_is_a_line_error(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('name,code\nAcme,A1\n"Globex,G1\nInitech,I1\nUmbrella,U1\n', encoding="utf-8")
    with pytest.raises(RecordValidationError) as caught:
        import_csv(crm, "account", path, actor=SYSTEM)
    assert [(p.line, p.code) for p in caught.value.problems] == [(3, "malformed")]
    assert "never closed" in caught.value.problems[0].message
    assert crm.records.list("account", actor=SYSTEM).total == 0
    report = import_csv(crm, "account", path, on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected, report.lines) == (1, 1, 4)
    assert [r["name"] for r in crm.records.list("account", actor=SYSTEM).items] == ["Acme"]


def test_badly_closed_quote_is_a_line_error_and_reading_goes_on(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'name,code,notes\nAcme,A1,\n"Globex,G1,\nInitech,I1,\n"Umbrella",U1,x\nHooli,H1,"two\nlines"\nLast,L1,\n',
        encoding="utf-8",
    )
    report = import_csv(crm, "account", path, on_error="skip", actor=SYSTEM)
    assert [(p.line, p.code) for p in report.problems] == [(3, "malformed")]
    assert "lines 3-5" in report.problems[0].message
    assert (report.inserted, report.rejected, report.lines) == (3, 1, 7)
    names = {r["name"]: r["notes"] for r in crm.records.list("account", actor=SYSTEM).items}
    assert names == {"Acme": None, "Hooli": "two\nlines", "Last": None}


def test_quoted_cell_spanning_lines_keeps_line_numbers(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('name,code,notes\nAcme,A1,"one\ntwo\nthree"\n,B1,\n', encoding="utf-8")
    report = import_csv(crm, "account", path, on_error="skip", actor=SYSTEM)
    assert [(p.line, p.field) for p in report.problems] == [(5, "name")]
    assert (report.inserted, report.lines) == (1, 4)


def test_export_import_round_trips_a_300_kb_text(crm: CrmEngine, tmp_path: Path) -> None:
    big = ('lorem ipsum, "quoted"\n' * 15_000)[:300_000]
    crm.records.create("account", {"name": "Big", "code": "B", "notes": big}, actor=SYSTEM)
    exported = tmp_path / "out.csv"
    assert export_csv(crm, "account", exported, actor=SYSTEM) == 1
    assert exported.stat().st_size > 300_000
    report = import_csv(crm, "account", exported, key="id", actor=SYSTEM)
    assert (report.unchanged, report.rejected) == (1, 0)
    crm.records.update("account", 1, {"notes": "short"}, actor=SYSTEM)
    report = import_csv(crm, "account", exported, key="id", actor=SYSTEM)
    assert report.updated == 1
    assert crm.records.get("account", 1, actor=SYSTEM)["notes"] == big


def test_concurrent_upserts_of_the_same_keys_both_succeed(database_url: str, crm: CrmEngine, tmp_path: Path) -> None:
    keys = [f"K{i:04d}" for i in range(400)]
    files = {
        "first": _csv(tmp_path / "first.csv", [["name", "code"], *([f"first {k}", k] for k in keys)]),
        "second": _csv(tmp_path / "second.csv", [["name", "code"], *([f"second {k}", k] for k in reversed(keys))]),
    }
    start = threading.Barrier(2)
    reports: dict[str, Any] = {}

    def run(name: str) -> None:
        engine = CrmEngine(database_url)
        try:
            start.wait()
            reports[name] = import_csv(engine, "account", files[name], key="code", batch_size=50, actor=SYSTEM)
        except Exception as exc:  # the assertion below shows it
            reports[name] = exc
        finally:
            engine.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failures = {name: r for name, r in reports.items() if isinstance(r, Exception)}
    assert not failures, failures
    assert sorted(r.inserted + r.updated for r in reports.values()) == [400, 400]
    assert sum(r.inserted for r in reports.values()) == 400
    page = crm.records.list("account", limit=500, actor=SYSTEM)
    assert page.total == 400
    assert len({r["name"].split()[0] for r in page.items}) == 1, "the later import updated every record"
