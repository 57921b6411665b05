"""Import files as people have them, on SQLite and PostgreSQL: other delimiters, the encodings
Chinese Excel saves in (real GBK, GB18030 and UTF-8-with-BOM bytes), column mappings; unique
values named by field within the file and against the database; and exports whose text cannot
run as a spreadsheet formula, which import reads back unchanged."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import UsageError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import ImportFormat, export_csv, import_csv
from tests.support import SYSTEM, CliResult, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "code": {"type": "string", "unique": True},
            "phone": {"type": "phone"},
            "notes": {"type": "text"},
            "balance": {"type": "decimal", "scale": 2},
            "rank": {"type": "integer"},
        },
        "unique": [["name", "phone"]],
    },
}
CHINESE = [
    ["客户名称", "客户编号", "备注"],
    ["西安华信环保科技有限公司", "XA-001", "重点客户"],
    ["北京公司", "BJ-001", ""],
]
MAPPING = {"客户名称": "name", "客户编号": "code", "备注": "notes"}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    engine.apply(load_definitions(write_bundle(tmp_path, "sales", ENTITIES)))
    return engine


def _text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _names(crm: CrmEngine) -> list[tuple[str, str | None, str | None]]:
    return [(r["name"], r["code"], r["notes"]) for r in crm.records.list("account", actor=SYSTEM, sort="id").items]


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("gbk", lambda text: text.encode("gbk")),
        ("gb18030", lambda text: text.encode("gb18030")),
        ("utf-8", lambda text: text.encode("utf-8-sig")),  # Excel's "CSV UTF-8": a BOM
        ("gbk", lambda text: text.encode("utf-8-sig")),  # a BOM wins over the option
    ],
    ids=["gbk", "gb18030", "utf-8-bom", "bom-wins"],
)
def test_encodings_of_chinese_excel_with_a_mapping(
    crm: CrmEngine, tmp_path: Path, encoding: Any, raw: Callable[[str], bytes]
) -> None:
    path = tmp_path / "客户.csv"
    path.write_bytes(raw(_text(CHINESE)))
    report = import_csv(
        crm, "account", path, actor=SYSTEM, file_format=ImportFormat(encoding=encoding, mapping=MAPPING)
    )
    assert (report.inserted, report.rejected) == (2, 0)
    assert _names(crm) == [("西安华信环保科技有限公司", "XA-001", "重点客户"), ("北京公司", "BJ-001", None)]


def test_a_wrong_encoding_names_the_line_and_byte_and_the_encoding_that_reads(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("name,code\nAcme,A1\n北京公司,BJ\n".encode("gbk"))
    with pytest.raises(UsageError) as caught:
        import_csv(crm, "account", path, actor=SYSTEM)
    message = caught.value.message
    assert "line 3, byte 19 (0xb1 b1" in message and "--encoding gb18030" in message, message
    assert [(p.code, p.line) for p in caught.value.problems] == [("encoding", 3)]
    assert _names(crm) == []


def test_utf16_is_refused_with_how_to_save_it(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("name\nAcme\n".encode("utf-16"))
    with pytest.raises(UsageError, match="UTF-16"):
        import_csv(crm, "account", path, actor=SYSTEM)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_delimiters(crm: CrmEngine, tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(_text([["name", "code", "balance"], ["Acme, Inc.", "A1", "-12.50"]], delimiter), encoding="utf-8")
    report = import_csv(crm, "account", path, actor=SYSTEM, file_format=ImportFormat(delimiter=delimiter))
    assert report.inserted == 1
    record = crm.records.list("account", actor=SYSTEM).items[0]
    assert (record["name"], str(record["balance"])) == ("Acme, Inc.", "-12.50")


def test_a_mapping_may_leave_columns_out_and_names_what_it_gets_wrong(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(_text([["Company", "Internal", "Ref"], ["Acme", "x", "A1"]]), encoding="utf-8")
    mapping: dict[str, str | None] = {"Company": "name", "Internal": None, "Ref": "code"}
    report = import_csv(crm, "account", path, actor=SYSTEM, file_format=ImportFormat(mapping=mapping))
    assert report.inserted == 1 and report.ignored_columns == ()
    assert _names(crm) == [("Acme", "A1", None)]
    with pytest.raises(UsageError) as unknown_field:
        bad = ImportFormat(mapping={"Company": "name", "Ref": "reference_code"}, mapping_source="map.json")
        import_csv(crm, "account", path, actor=SYSTEM, file_format=bad)
    assert [(p.code, p.field) for p in unknown_field.value.problems] == [("unknown_field", "reference_code")]
    assert "map.json" in unknown_field.value.message
    with pytest.raises(UsageError) as unknown_column:
        import_csv(crm, "account", path, actor=SYSTEM, file_format=ImportFormat(mapping={"Firm": "name"}))
    assert [(p.code, p.pointer) for p in unknown_column.value.problems] == [("unknown_column", "/Firm")]


@pytest.mark.parametrize("delimiter", ['"', "ab", "\n"], ids=["quote", "two-characters", "newline"])
def test_a_bad_delimiter_is_refused(delimiter: str) -> None:
    with pytest.raises(UsageError) as caught:
        ImportFormat(delimiter=delimiter)
    assert caught.value.problems[0].field == "delimiter"


def test_unique_violations_name_field_and_value_within_the_file_and_against_the_database(
    crm: CrmEngine, tmp_path: Path
) -> None:
    crm.records.create("account", {"name": "Acme", "code": "A1", "phone": "021 1234 5678"}, actor=SYSTEM)
    rows = [
        ["name", "code", "phone"],
        ["Globex", "A1", ""],  # the database has the code
        ["Initech", "I1", ""],
        ["Initech 2", "I1", ""],  # an earlier line has it
        ["Acme", "A2", "021 1234 5678"],  # the database has the pair
    ]
    path = tmp_path / "a.csv"
    path.write_text(_text(rows), encoding="utf-8")
    report = import_csv(crm, "account", path, on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1, 3)
    assert [(p.line, p.field, p.code) for p in report.problems] == [
        (2, "code", "unique"),
        (4, "code", "unique"),
        (5, "name", "unique"),
    ]
    assert 'code "A1"' in report.problems[0].message and 'code "I1"' in report.problems[1].message
    assert 'name "Acme" + phone "021 1234 5678"' in report.problems[2].message
    raw = ("UNIQUE constraint", "duplicate key", "the database refused")
    assert not any(r in p.message for p in report.problems for r in raw)


FORMULAS = ['=HYPERLINK("http://x")', "+86 10 1234 5678", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=kept", "plain"]


def test_export_neutralises_formulas_in_text_only_and_import_reads_them_back(crm: CrmEngine, tmp_path: Path) -> None:
    for i, notes in enumerate(FORMULAS):
        phone = "+86 10 1234 5678" if i == 1 else None
        crm.records.create(
            "account", {"name": f"N{i}", "notes": notes, "phone": phone, "balance": "-5.00", "rank": -3}, actor=SYSTEM
        )
    path = tmp_path / "out.csv"
    export_csv(crm, "account", path, actor=SYSTEM)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["notes"] for r in rows] == ["'" + n if n not in ("plain",) else n for n in FORMULAS]
    assert rows[1]["phone"] == "'+86 10 1234 5678"
    assert {(r["balance"], r["rank"]) for r in rows} == {("-5.00", "-3")}  # numbers stay numbers
    report = import_csv(crm, "account", path, key="id", actor=SYSTEM)
    assert (report.unchanged, report.updated, report.rejected) == (len(FORMULAS), 0, 0)

    raw = tmp_path / "raw.csv"
    export_csv(crm, "account", raw, actor=SYSTEM, raw=True)
    with raw.open(newline="", encoding="utf-8") as handle:
        assert [r["notes"] for r in csv.DictReader(handle)] == FORMULAS


def test_cli_options(
    database_url: str, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    path = tmp_path / "客户.csv"
    path.write_bytes(_text(CHINESE, ";").encode("gb18030"))
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    wrong = run_cli("import", "account", path, "--map", mapping, "--delimiter", "semicolon")
    assert wrong.exit_code == 2 and "is not UTF-8: line 1, byte 1" in wrong.stderr
    result = run_cli(
        "import", "account", path, "--map", mapping, "--delimiter", "semicolon", "--encoding", "gb18030", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert (result.json()["inserted"], result.json()["import"]) == (2, 1)
    mapping.write_text(json.dumps({"客户名称": "company"}, ensure_ascii=False), encoding="utf-8")
    unknown = run_cli("import", "account", path, "--map", mapping, "--delimiter", ";", "--encoding", "gb18030")
    assert unknown.exit_code == 2 and 'has no field "company"' in unknown.stderr
    mapping.write_text("[1]", encoding="utf-8")
    assert "must be a JSON object" in run_cli("import", "account", path, "--map", mapping).stderr
    assert run_cli("import", "account", path, "--encoding", "latin-1").exit_code == 2

    run_cli("record", "create", "account", "--data", json.dumps({"name": "=1+1"}))
    out = tmp_path / "out.csv"
    assert run_cli("export", "account", out).exit_code == 0
    assert "'=1+1" in out.read_text(encoding="utf-8")
    assert run_cli("export", "account", out, "--raw").exit_code == 0
    assert "'=1+1" not in out.read_text(encoding="utf-8") and "=1+1" in out.read_text(encoding="utf-8")
