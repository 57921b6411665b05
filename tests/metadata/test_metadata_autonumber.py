"""Autonumber fields in definitions: the pattern, what the type implies, and each mistake."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from metadata_support import Writer, one_field

from engine.errors import DefinitionError
from engine.metadata import (
    PROBLEM_CODES,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    number_pattern,
    validate_path,
)


def test_an_autonumber_field_is_unique_read_only_and_wide_enough(write: Writer) -> None:
    path = write("deal.json", one_field(type="autonumber", pattern="SO-{YYYY}-{#####}"))
    field = load_definitions(path).entity("deal").fields["f"]
    assert (field.unique, field.read_only, field.required) == (True, True, False)
    assert field.number_pattern == "SO-{YYYY}-{#####}"
    assert field.pattern is None  # not a regular expression values must match
    assert field.max_length == 64
    assert field.index is False


def test_a_long_pattern_widens_the_column(write: Writer) -> None:
    text = "X" * 90 + "{YYYY}{#}"
    field = load_definitions(write("deal.json", one_field(type="autonumber", pattern=text))).entity("deal").fields["f"]
    assert field.max_length == 90 + 4 + 19


def test_the_stored_form_keeps_only_the_pattern(write: Writer) -> None:
    definitions = load_definitions(write("deal.json", one_field(type="autonumber", pattern="{YY}{MM}-{####}")))
    stored = definitions_to_json(definitions)
    assert stored["entities"]["deal"]["fields"]["f"] == {"type": "autonumber", "pattern": "{YY}{MM}-{####}"}
    assert definitions_from_json(stored).entity("deal") == definitions.entity("deal")


@pytest.mark.parametrize(("spec", "pointer", "code"), [
    ({}, "/fields/f", "required"),
    ({"pattern": ""}, "/fields/f/pattern", "too_short"),
    ({"pattern": "SO-" + "x" * 100 + "{#}"}, "/fields/f/pattern", "too_long"),
    ({"pattern": 5}, "/fields/f/pattern", "type"),
    ({"pattern": "SO-{YYYY}"}, "/fields/f/pattern", "autonumber_counter"),
    ({"pattern": "{###}-{###}"}, "/fields/f/pattern", "autonumber_counter"),
    ({"pattern": "{#############}"}, "/fields/f/pattern", "autonumber_counter"),
    ({"pattern": "{YYY}-{###}"}, "/fields/f/pattern", "autonumber_token"),
    ({"pattern": "{seq}"}, "/fields/f/pattern", "autonumber_token"),
    ({"pattern": "SO-{####"}, "/fields/f/pattern", "autonumber_token"),
    ({"pattern": "A}B{###}"}, "/fields/f/pattern", "autonumber_token"),
    ({"pattern": "{#}", "required": True}, "/fields/f/required", "inapplicable_option"),
    ({"pattern": "{#}", "default": "1"}, "/fields/f/default", "inapplicable_option"),
    ({"pattern": "{#}", "unique": True}, "/fields/f/unique", "inapplicable_option"),
    ({"pattern": "{#}", "read_only": True}, "/fields/f/read_only", "inapplicable_option"),
    ({"pattern": "{#}", "max_length": 10}, "/fields/f/max_length", "inapplicable_option"),
])  # fmt: skip
def test_a_mistake_in_an_autonumber_field_is_located(
    write: Writer, spec: dict[str, Any], pointer: str, code: str
) -> None:
    path = write("deal.json", one_field(type="autonumber", **spec))
    problems = validate_path(path)
    assert [(p.code, p.pointer) for p in problems] == [(code, pointer)]
    assert code in PROBLEM_CODES
    assert problems[0].file == "deal.json"
    assert problems[0].message
    with pytest.raises(DefinitionError) as raised:
        load_definitions(path)
    assert raised.value.problems == tuple(problems)


def test_a_missing_pattern_says_how_to_write_one(write: Writer) -> None:
    (found,) = validate_path(write("deal.json", one_field(type="autonumber")))
    assert "SO-{YYYY}-{#####}" in found.message


@pytest.mark.parametrize(("text", "day", "number", "written"), [
    ("SO-{YYYY}-{#####}", date(2025, 3, 4), 42, "SO-2025-00042"),
    ("SO-{YYYY}-{#####}", date(2025, 3, 4), 1234567, "SO-2025-1234567"),
    ("{YY}{MM}{DD}-{###}", date(2026, 1, 9), 7, "260109-007"),
    ("INV-{####}/{YY}", date(2024, 12, 31), 12, "INV-0012/24"),
    ("{#}", date(2024, 1, 1), 10, "10"),
])  # fmt: skip
def test_a_pattern_writes_numbers_padded_with_the_creation_date(
    text: str, day: date, number: int, written: str
) -> None:
    pattern = number_pattern(text)
    assert pattern.render(day, number) == written
    assert pattern.read(written) == (pattern.prefix(day), number)


@pytest.mark.parametrize(("text", "first", "second", "same_counter"), [
    ("SO-{YYYY}-{#####}", date(2025, 12, 31), date(2026, 1, 1), False),
    ("SO-{YYYY}-{#####}", date(2025, 1, 1), date(2025, 12, 31), True),
    ("{YY}{MM}-{####}", date(2025, 1, 31), date(2025, 2, 1), False),
    ("INV-{####}/{YY}", date(2025, 12, 31), date(2026, 1, 1), True),
])  # fmt: skip
def test_each_distinct_text_before_the_counter_counts_on_its_own(
    text: str, first: date, second: date, same_counter: bool
) -> None:
    pattern = number_pattern(text)
    assert (pattern.prefix(first) == pattern.prefix(second)) is same_counter


def test_a_number_not_written_in_the_pattern_is_not_read() -> None:
    pattern = number_pattern("SO-{YYYY}-{#####}")
    assert pattern.read("OLD-17") is None
    assert pattern.read("SO-25-00001") is None
    assert pattern.read("SO-2025-9999999999999999999") is None  # past a 64-bit counter
    assert pattern.read("SO-2025-9223372036854775807") == ("SO-2025-", 2**63 - 1)


@pytest.mark.parametrize("value", ["SO-1", {"var": "record.stage"}])
def test_a_workflow_action_cannot_set_a_number(write: Writer, value: Any) -> None:
    write("sales/bundle.json", {"schema_version": 1, "kind": "bundle", "name": "sales"})
    fields = {"stage": {"type": "enum", "choices": ["open", "won"]}, "number": {"type": "autonumber", "pattern": "{#}"}}
    write("sales/deal.json", {"schema_version": 1, "kind": "entity", "name": "deal", "fields": fields})
    flow = {
        "schema_version": 1,
        "kind": "workflow",
        "name": "deal_flow",
        "entity": "deal",
        "field": "stage",
        "states": {"open": {"initial": True}, "won": {"final": True}},
        "transitions": {"win": {"from": ["open"], "to": "won", "actions": [{"set": {"number": value}}]}},
    }
    path = write("sales/deal_flow.json", flow)
    problems = validate_path(path.parent)
    assert [(p.code, p.file, p.pointer) for p in problems] == [
        ("invalid_action_value", "sales/deal_flow.json", "/transitions/win/actions/0/set/number")
    ]
