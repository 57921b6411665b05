"""CSV rows converted for import: decoding, header checks, column order, real inserts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from compile_defs import definitions, entity, field

from engine.compile import build_metadata, compile_csv_reader
from engine.metadata._model import FieldDef

UTC = UTC
CHOICES = ["new", "won", "lost"]


@dataclass(frozen=True)
class Fails:
    """The cell is refused with this code."""

    code: str


CELL_CASES: list[tuple[FieldDef, str, Any]] = [
    (field("f", "integer"), "12", 12),
    (field("f", "integer"), "-12", -12),
    (field("f", "integer"), "+7", 7),
    (field("f", "integer"), "007", 7),
    (field("f", "integer"), "9223372036854775807", 2**63 - 1),
    (field("f", "integer"), "9223372036854775808", Fails("out_of_range")),
    (field("f", "integer"), "1" * 5000, Fails("out_of_range")),
    (field("f", "integer"), "1.0", Fails("type")),
    (field("f", "integer"), "1e3", Fails("type")),
    (field("f", "integer"), " 12", Fails("type")),
    (field("f", "integer"), "1_000", Fails("type")),
    (field("f", "integer"), "١٢", Fails("type")),
    (field("f", "integer", minimum=0), "-1", Fails("minimum")),
    (field("f", "reference", target="t"), "5", 5),
    (field("f", "reference", target="t"), "0", Fails("type")),
    (field("f", "reference", target="t"), "-3", Fails("type")),
    (field("f", "reference", target="t"), "x", Fails("type")),
    (field("f", "money"), "12.50", Decimal("12.50")),
    (field("f", "money"), "-0.5", Decimal("-0.5")),
    (field("f", "money"), "1e2", Decimal("1E+2")),
    (field("f", "money"), "12.345", Fails("scale")),
    (field("f", "money"), "12,50", Fails("type")),
    (field("f", "money"), "nan", Fails("type")),
    (field("f", "decimal", precision=4, scale=1), "1000", Fails("precision")),
    (field("f", "boolean"), "true", True),
    (field("f", "boolean"), "TRUE", True),
    (field("f", "boolean"), "Yes", True),
    (field("f", "boolean"), "1", True),
    (field("f", "boolean"), "false", False),
    (field("f", "boolean"), "No", False),
    (field("f", "boolean"), "0", False),
    (field("f", "boolean"), "y", Fails("type")),
    (field("f", "boolean"), "2", Fails("type")),
    (field("f", "date"), "2024-02-29", date(2024, 2, 29)),
    (field("f", "date"), "2024-02-30", Fails("format")),
    (field("f", "date"), "29/02/2024", Fails("format")),
    (field("f", "datetime"), "2024-03-01T12:30:00+08:00", datetime(2024, 3, 1, 4, 30, tzinfo=UTC)),
    (field("f", "datetime"), "2024-03-01 12:30:00", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
    (field("f", "datetime"), "yesterday", Fails("format")),
    (field("f", "enum", choices=CHOICES), "won", "won"),
    (field("f", "enum", choices=CHOICES), "Won", Fails("choice")),
    (field("f", "multi_enum", choices=CHOICES), "new|won", ["new", "won"]),
    (field("f", "multi_enum", choices=CHOICES), "lost", ["lost"]),
    (field("f", "multi_enum", choices=CHOICES), '["new", "won"]', ["new", "won"]),
    (field("f", "multi_enum", choices=CHOICES), "[]", []),
    (field("f", "multi_enum", choices=CHOICES), "new|new", Fails("duplicate")),
    (field("f", "multi_enum", choices=CHOICES), "new|", Fails("choice")),
    (field("f", "multi_enum", choices=CHOICES), "[1]", Fails("type")),
    (field("f", "multi_enum", choices=CHOICES), '["new"', Fails("format")),
    (field("f", "json"), '{"a": [1, 2.5]}', {"a": [1, 2.5]}),
    (field("f", "json"), '"text"', "text"),
    (field("f", "json"), "12", 12),
    (field("f", "json"), "true", True),
    (field("f", "json"), "null", None),
    (field("f", "json", required=True), "null", Fails("required")),
    (field("f", "json"), "NaN", Fails("format")),
    (field("f", "json"), "{bad", Fails("format")),
    (field("f", "json"), "[" * 100_000, Fails("format")),
    (field("f", "string", max_length=5), "Ada", "Ada"),
    (field("f", "string", max_length=5), "Lovelace", Fails("max_length")),
    (field("f", "string", pattern="[a-z]+"), "ABC", Fails("pattern")),
    (field("f", "email"), "ada", Fails("format")),
    (field("f", "text"), " spaces kept ", " spaces kept "),
    (field("f", "string", required=True), "   ", Fails("required")),
    (field("f", "string"), "a\x00b", Fails("invalid_character")),
    (field("f", "json"), '{"a": "\\ud800"}', Fails("invalid_character")),
    (field("f", "json"), '["\\u0000"]', Fails("invalid_character")),
    (field("f", "multi_enum", choices=CHOICES), '["new", "\\udfff"]', Fails("choice")),
    # An empty cell is a missing value.
    (field("f", "integer"), "", None),
    (field("f", "integer", required=True), "", Fails("required")),
    (field("f", "integer", default=3), "", 3),
    (field("f", "money", default="9.90"), "", Decimal("9.90")),
    (field("f", "date", default="2024-01-01"), "", date(2024, 1, 1)),
    (field("f", "string", required=True, default="x"), "", "x"),
    (field("f", "integer", default="three"), "", Fails("type")),
]


def _case_id(case: tuple[FieldDef, str, Any]) -> str:
    definition, cell, expected = case
    outcome = expected.code if isinstance(expected, Fails) else "ok"
    return f"{definition.type}-{cell[:20]!r}-{outcome}"


@pytest.mark.parametrize(("definition", "cell", "expected"), CELL_CASES, ids=map(_case_id, CELL_CASES))
def test_cells(definition: FieldDef, cell: str, expected: Any) -> None:
    converter = compile_csv_reader(entity("t", definition), ["f"])
    values, problems = converter.convert([cell], line=7)
    if isinstance(expected, Fails):
        assert values is None
        assert [(p.field, p.code, p.line) for p in problems] == [("f", expected.code, 7)]
    else:
        assert problems == []
        assert values == (expected,)
        assert type(values[0]) is type(expected)


CONTACT = entity(
    "contact",
    field("name", "string", required=True),
    field("email", "email"),
    field("stage", "enum", choices=CHOICES, default="new"),
    field("tags", "multi_enum", choices=CHOICES, default=["new"]),
    field("score", "integer", required=True, default=0),
    field("note", "text"),
)


@pytest.mark.parametrize(
    ("header", "allow_id", "problems", "columns"),
    [
        (["name", "email"], False, [], ("name", "email", "stage", "tags", "score", "note")),
        (["email", "owner", "name"], False, [], ("owner", "name", "email", "stage", "tags", "score", "note")),
        (["id", "name"], True, [], ("id", "name", "email", "stage", "tags", "score", "note")),
        (["id", "name"], False, [("id", "read_only")], ("name", "email", "stage", "tags", "score", "note")),
        (
            ["name", "nmae", "version"],
            False,
            [("nmae", "unknown_field"), ("version", "read_only")],
            ("name", "email", "stage", "tags", "score", "note"),
        ),
        (["name", "name"], False, [("name", "duplicate")], ("name", "email", "stage", "tags", "score", "note")),
        (["name", ""], False, [("", "unknown_field")], ("name", "email", "stage", "tags", "score", "note")),
    ],
)
def test_header(header: list[str], allow_id: bool, problems: list[tuple[str, str]], columns: tuple[str, ...]) -> None:
    converter = compile_csv_reader(CONTACT, header, allow_id=allow_id)
    assert [(p.field, p.code) for p in converter.header_problems] == problems
    assert converter.columns == columns


def test_columns_outside_the_entity_are_ignored_in_rows() -> None:
    converter = compile_csv_reader(CONTACT, ["nmae", "name", "id"])
    values, problems = converter.convert(["ignored", "Ada", "not an id"])
    assert problems == []
    assert values == ("Ada", None, "new", ["new"], 0, None)


def test_missing_columns_get_defaults_or_fail_required() -> None:
    converter = compile_csv_reader(CONTACT, ["email"])
    values, problems = converter.convert(["ada@example.com"], line=2)
    assert values is None
    assert [(p.field, p.code, p.line) for p in problems] == [("name", "required", 2)]


def test_every_problem_of_a_row_is_reported() -> None:
    converter = compile_csv_reader(CONTACT, ["score", "email", "name", "owner"])
    values, problems = converter.convert(["x", "bad", "", "o" * 129])
    assert values is None
    assert [(p.field, p.code) for p in problems] == [
        ("name", "required"),
        ("email", "format"),
        ("score", "type"),
        ("owner", "max_length"),
    ]


@pytest.mark.parametrize(("cell", "expected"), [("", None), ("bob", "bob")])
def test_owner_column(cell: str, expected: str | None) -> None:
    converter = compile_csv_reader(CONTACT, ["name", "owner"])
    values, _ = converter.convert(["Ada", cell])
    assert values is not None and values[0] == expected


def test_owner_cell_with_a_nul_is_refused() -> None:
    converter = compile_csv_reader(CONTACT, ["name", "owner"])
    values, problems = converter.convert(["Ada", "bob\x00"], line=3)
    assert values is None
    assert [(p.field, p.code, p.line) for p in problems] == [("owner", "invalid_character", 3)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", (None, [])),
        ("42", (42, [])),
        ("0", (None, ["type"])),
        ("x", (None, ["type"])),
        ("9223372036854775808", (None, ["out_of_range"])),
    ],
)
def test_id_column_for_upserts(cell: str, expected: tuple[Any, list[str]]) -> None:
    converter = compile_csv_reader(CONTACT, ["id", "name"], allow_id=True)
    values, problems = converter.convert([cell, "Ada"])
    assert [p.code for p in problems] == expected[1]
    assert (values[0] if values else None) == expected[0]


def test_output_columns_can_be_chosen() -> None:
    converter = compile_csv_reader(CONTACT, ["name", "owner"], columns=["score", "owner", "name"])
    assert converter.columns == ("score", "owner", "name")
    assert converter.convert(["Ada", "bob"]) == ((0, "bob", "Ada"), [])


@pytest.mark.parametrize("columns", [["name", "nope"], ["name", "name"], ["id", "name"]])
def test_output_columns_must_be_distinct_known_names(columns: list[str]) -> None:
    with pytest.raises(ValueError, match="columns"):
        compile_csv_reader(CONTACT, ["name"], columns=columns)


@pytest.mark.parametrize("row", [["Ada"], ["Ada", "x", "y"], []])
def test_rows_must_match_the_header_width(row: list[str]) -> None:
    converter = compile_csv_reader(CONTACT, ["name", "email"])
    values, problems = converter.convert(row, line=9)
    assert values is None
    assert [(p.code, p.field, p.line) for p in problems] == [("row_length", None, 9)]


def test_rows_never_share_a_mutable_default() -> None:
    converter = compile_csv_reader(CONTACT, ["name"])
    first, _ = converter.convert(["a"])
    second, _ = converter.convert(["b"])
    assert first is not None and second is not None
    assert first[3] == second[3] == ["new"] and first[3] is not second[3]


# -- into a real database ------------------------------------------------------------------

DEAL = entity(
    "deal",
    field("name", "string", required=True),
    field("amount", "money"),
    field("closes", "date"),
    field("at", "datetime"),
    field("won", "boolean"),
    field("tags", "multi_enum", choices=CHOICES),
    field("extra", "json"),
    field("stage", "enum", choices=CHOICES, default="new"),
)
ROWS = [
    ["Big", "1250000.50", "2024-06-30", "2024-03-01T12:30:00+08:00", "yes", "new|won", '{"a":1}', ""],
    ["Small", "", "", "", "", "", "", "lost"],
]


def test_converted_rows_insert_as_they_are(database_url: str) -> None:
    metadata = build_metadata(definitions(DEAL))
    table = metadata.tables["deal"]
    converter = compile_csv_reader(DEAL, list(DEAL.fields))
    rows = [converter.convert(row) for row in ROWS]
    assert all(problems == [] for _, problems in rows)
    engine = sa.create_engine(database_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            columns = converter.columns
            conn.execute(table.insert(), [dict(zip(columns, values, strict=True)) for values, _ in rows])
            query = sa.select(*(table.c[c] for c in columns)).order_by(table.c.id)
            stored = conn.execute(query)
            assert [tuple(row) for row in stored] == [values for values, _ in rows]
    finally:
        metadata.drop_all(engine)
        engine.dispose()
