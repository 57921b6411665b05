"""Scoring overlays edit lists of named items one by one: ``remove_items``, ``change_items``
and ``add_items`` reach a rule, a criterion or a key role by name, so an industry changes one
weight without copying the mode's list; mistakes are reported where they are written."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from metadata_scoring_support import LEAD
from metadata_support import Writer, located, manifest

from engine.metadata import definitions_from_json, definitions_to_json, load_definitions, validate_path

RULES = [
    {"name": "telecom", "when": {"==": [{"var": "record.industry"}, "telecom"]}, "points": 20},
    {"name": "budget", "when": {"!!": [{"var": "record.budget"}]}, "points": 30},
    {"name": "large", "when": {">=": [{"var": "record.employees"}, 100]}, "points": 10},
]
SCORING = {
    "schema_version": 1, "kind": "scoring", "name": "lead_quality", "entity": "lead", "scorer": "weighted_rules",
    "config": {"rules": RULES, "fit": {"key_roles": ["buyer", "coach"]},
               "grades": [{"grade": "A", "min": 50}, {"grade": "B", "min": 0}]},
}  # fmt: skip
#: A scorer's schema that names its rules and checks their points.
SCHEMAS: dict[str, Any] = {
    "weighted_rules": {
        "type": "object",
        "properties": {
            "rules": {"type": "array", "items": {
                "type": "object", "required": ["name", "when", "points"],
                "properties": {"name": {"type": "string"}, "when": {"type": "object"}, "points": {"type": "number"},
                               "reason": {"type": "object"}},
                "additionalProperties": False}},
            "fit": {"type": "object", "properties": {"key_roles": {"type": "array", "items": {"type": "string"}}}},
            "grades": {"type": "array"},
        },
        "additionalProperties": False,
    }
}  # fmt: skip


def overlay(**body: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "scoring_overlay", "scoring": "lead_quality", **body}


def app(write: Writer, *overlays: dict[str, Any], base: dict[str, Any] | None = None) -> Path:
    """``core`` (the lead and the scoring) and ``app`` extending it with ``overlays``."""
    write("core/bundle.json", manifest("core"))
    write("core/lead.json", LEAD)
    write("core/scoring.json", base or SCORING)
    for i, document in enumerate(overlays):
        write(f"app/overlay_{i}.json", document)
    return write("app/bundle.json", manifest("app", "../core")).parent


def config_of(root: Path) -> dict[str, Any]:
    return dict(load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"].config)


def test_items_are_removed_changed_and_added_by_name(write: Writer) -> None:
    new = {"name": "referral", "when": {"==": [{"var": "record.source"}, "referral"]}, "points": 15}
    config = config_of(app(write, overlay(
        remove_items={"rules": ["telecom"], "fit/key_roles": ["coach"]},
        change_items={"rules": {"large": {"points": 25}}},
        add_items={"rules": [new], "fit/key_roles": ["design_institute"]},
    )))  # fmt: skip
    assert config["rules"] == [RULES[1], {**RULES[2], "points": 25}, new]
    assert config["fit"]["key_roles"] == ["buyer", "design_institute"]
    assert config["grades"] == SCORING["config"]["grades"]  # untouched


def test_a_change_merges_objects_and_keeps_the_rest_of_the_item(write: Writer) -> None:
    base = copy.deepcopy(SCORING)
    base["config"]["rules"][0]["reason"] = {"en": "Telecom", "zh": "电信"}
    config = config_of(
        app(write, overlay(change_items={"rules": {"telecom": {"reason": {"zh": "电信行业"}}}}), base=base)
    )
    assert config["rules"][0] == {**RULES[0], "reason": {"en": "Telecom", "zh": "电信行业"}}


def test_an_overlay_edits_the_list_its_own_config_replaced(write: Writer) -> None:
    config = config_of(app(write, overlay(
        config={"rules": [RULES[0]]}, change_items={"rules": {"telecom": {"points": 5}}},
    )))  # fmt: skip
    assert config["rules"] == [{**RULES[0], "points": 5}]


def test_a_bundle_edits_what_its_base_edited(write: Writer) -> None:
    write("mid/bundle.json", manifest("mid", "../core"))
    write("mid/overlay.json", overlay(add_items={"rules": [{"name": "extra", "when": {}, "points": 1}]}))
    app(write)
    write(
        "top/overlay.json",
        overlay(remove_items={"rules": ["telecom"]}, change_items={"rules": {"extra": {"points": 2}}}),
    )
    root = write("top/bundle.json", manifest("top", "../mid")).parent
    assert [(r["name"], r["points"]) for r in config_of(root)["rules"]] == [("budget", 30), ("large", 10), ("extra", 2)]


def test_edited_configurations_survive_the_stored_form(write: Writer) -> None:
    root = app(write, overlay(remove_items={"rules": ["budget"]}, add_items={"fit/key_roles": ["user"]}))
    definitions = load_definitions(root, scorer_schemas=SCHEMAS)
    assert definitions_from_json(definitions_to_json(definitions)) == definitions


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        (overlay(remove_items={"rules": ["telcom"]}), "/remove_items/rules/0", "unknown_item"),
        (overlay(change_items={"rules": {"huge": {"points": 1}}}), "/change_items/rules/huge", "unknown_item"),
        (overlay(remove_items={"rule": ["telecom"]}), "/remove_items/rule", "unknown_item"),
        (overlay(add_items={"grades": [{"name": "c", "min": 0}]}), "/add_items/grades", "unknown_item"),
        (overlay(add_items={"rules": [{"name": "budget", "when": {}, "points": 1}]}),
         "/add_items/rules/0/name", "duplicate_item"),
        (overlay(add_items={"fit/key_roles": ["buyer"]}), "/add_items/fit~1key_roles/0", "duplicate_item"),
        (overlay(add_items={"fit/key_roles": [{"name": "user"}]}), "/add_items/fit~1key_roles/0", "invalid_config"),
        (overlay(change_items={"fit/key_roles": {"buyer": {"x": 1}}}),
         "/change_items/fit~1key_roles/buyer", "invalid_config"),
        # what an edit writes is checked by the scorer's schema, where the edit wrote it
        (overlay(change_items={"rules": {"large": {"points": "many"}}}),
         "/change_items/rules/large/points", "invalid_config"),
        (overlay(add_items={"rules": [{"name": "new", "when": {}}]}), "/add_items/rules/0", "invalid_config"),
        # the document's own shape
        (overlay(change_items={"rules": {"large": {"name": "big"}}}), "/change_items/rules/large", "invalid"),
        (overlay(remove_items={"Rules": ["telecom"]}), "/remove_items/Rules", "invalid_name"),
        (overlay(add_items={"rules": []}), "/add_items/rules", "too_short"),
        (overlay(remove_items={"rules": ["large", "large"]}), "/remove_items/rules/1", "duplicate_item"),
    ],
)  # fmt: skip
def test_list_operation_mistakes_are_located(write: Writer, document: dict[str, Any], pointer: str, code: str) -> None:
    problems = validate_path(app(write, document), scorer_schemas=SCHEMAS)
    assert located(problems) == [("app/overlay_0.json", code, pointer)]


def test_removing_an_item_keeps_later_mistakes_in_their_document(write: Writer) -> None:
    root = app(
        write,
        overlay(add_items={"rules": [{"name": "new", "when": {}, "points": "x"}]}),
        overlay(remove_items={"rules": ["telecom"]}),
    )
    assert located(validate_path(root, scorer_schemas=SCHEMAS)) == [
        ("app/overlay_0.json", "invalid_config", "/add_items/rules/0/points")
    ]


def test_sibling_bundles_editing_one_item_differently_clash(write: Writer) -> None:
    app(write)
    write("a/bundle.json", manifest("a", "../core"))
    write("a/overlay.json", overlay(change_items={"rules": {"large": {"points": 5}}}))
    write("b/bundle.json", manifest("b", "../core"))
    write("b/overlay.json", overlay(remove_items={"rules": ["large"]}))
    root = write("both/bundle.json", manifest("both", "../a", "../b")).parent
    problems = validate_path(root, scorer_schemas=SCHEMAS)
    assert ("b/overlay.json", "overlay_clash", "/remove_items/rules/0") in located(problems)
