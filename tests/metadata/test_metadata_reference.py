"""The reference material stays complete: meta-schemas, problem codes, docs, SQL words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.metadata import FIELD_TYPES, PROBLEM_CODES, SQL_RESERVED_WORDS, SYSTEM_FIELDS
from engine.resources import resource_dir

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "definitions.md"
#: Where problem codes are documented: workflow codes are with workflows, report codes with reports.
CODE_DOCS = (
    DOCS,
    ROOT / "docs" / "workflows.md",
    ROOT / "docs" / "reports.md",
    ROOT / "docs" / "permissions.md",
    ROOT / "docs" / "automations.md",
    ROOT / "docs" / "views.md",
)
TESTS = Path(__file__).parent


@pytest.mark.parametrize("path", sorted(resource_dir("schemas").glob("*.schema.json")), ids=lambda p: p.name)
def test_meta_schemas_are_valid_json_schema_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # No $id: relative references resolve to the files beside it, in editors too.
    assert "$id" not in schema


def test_every_field_type_has_a_meta_schema_branch() -> None:
    schema = json.loads((resource_dir("schemas") / "entity.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["field"]["properties"]["type"]["enum"] == list(FIELD_TYPES)
    assert {f"{t}_field" for t in FIELD_TYPES} <= set(schema["$defs"])


def test_every_problem_code_is_documented() -> None:
    heading = re.compile(r"^### `([a-z_]+)`", re.MULTILINE)
    documented = [code for path in CODE_DOCS for code in heading.findall(path.read_text(encoding="utf-8"))]
    assert sorted(documented) == sorted(PROBLEM_CODES)  # each once


def test_every_problem_code_is_tested() -> None:
    text = "".join(
        p.read_text(encoding="utf-8") for p in TESTS.glob("test_metadata_*.py") if p.name != Path(__file__).name
    )
    untested = [code for code in PROBLEM_CODES if f'"{code}"' not in text]
    assert untested == []


def test_every_field_type_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert [t for t in FIELD_TYPES if f"#### `{t}`" not in text] == []


@pytest.mark.parametrize(
    "word",
    [
        "select",
        "order",
        "user",
        "table",
        "limit",
        "ilike",
        "analyse",
        "end",
        "values",
    ],
)
def test_sql_reserved_words(word: str) -> None:
    assert word in SQL_RESERVED_WORDS


@pytest.mark.parametrize(
    "word",
    [
        "name",
        "title",
        "amount",
        "status",
        "email",
        "account",
        "description",
        "type",
        "date",
        "value",
        "year",
        "rank",
        "lead",
        "key",
        "position",
        "action",
        "plan",
        "first",
        "last",
        "index",
        "start",
    ],
)
def test_ordinary_field_names_are_not_reserved(word: str) -> None:
    assert word not in SQL_RESERVED_WORDS


def test_system_fields_are_not_also_sql_words_by_accident() -> None:
    # System fields are reported as reserved_name; the SQL list is about everything else.
    assert all(name == name.lower() for name in SQL_RESERVED_WORDS)
    assert set(SYSTEM_FIELDS).isdisjoint(SQL_RESERVED_WORDS)
