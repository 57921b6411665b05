"""Duplicate rules in entity documents and overlays: what they freeze into, where each
mistake is reported, and the stored form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from metadata_support import PRESETS, Writer

from engine.metadata import DuplicateMatch, DuplicateRule, load_definitions, validate_path
from engine.metadata._entities import entity_to_json


def rule(name: str = "same_title", **extra: Any) -> dict[str, Any]:
    return {"name": name, "match": [{"field": "title", "method": "similar", "threshold": 0.9}], **extra}


def overlay(*rules: dict[str, Any]) -> dict[str, Any]:
    """An entity_overlay on the fixture preset's ``opportunity`` adding ``rules``."""
    return {"schema_version": 1, "kind": "entity_overlay", "entity": "opportunity", "add_duplicates": list(rules)}


def bundle(write: Writer, *documents: dict[str, Any]) -> Path:
    for number, document in enumerate(documents):
        write(f"app/doc{number}.json", document)
    manifest = {"schema_version": 1, "kind": "bundle", "name": "app", "extends": ["fx_core"]}
    return write("app/bundle.json", manifest).parent


def entity(**body: Any) -> dict[str, Any]:
    fields = {"name": {"type": "string"}, "phone": {"type": "phone"}, "size": {"type": "integer"}}
    return {"schema_version": 1, "kind": "entity", "name": "lead_x", "fields": fields, **body}


def test_rules_of_an_entity_and_its_overlay_freeze_in_order(write: Writer) -> None:
    own = entity(duplicates=[{"name": "same_phone", "match": [{"field": "phone"}], "action": "warn"}])
    definitions = load_definitions(bundle(write, own, overlay(rule())), preset_dirs=[PRESETS])
    assert definitions.entities["lead_x"].duplicates == (
        DuplicateRule("same_phone", (DuplicateMatch("phone", "exact"),), "warn"),
    )
    (added,) = definitions.entities["opportunity"].duplicates
    assert added == DuplicateRule("same_title", (DuplicateMatch("title", "similar", 0.9),), "block")
    assert added.match[0].cutoff == 0.9
    stored = entity_to_json(definitions.entities["lead_x"])
    assert stored["duplicates"] == [{"name": "same_phone", "match": [{"field": "phone"}], "action": "warn"}]


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        (overlay(rule(), rule()), "/add_duplicates/1/name", "duplicate_rule_exists"),
        (overlay({"name": "x", "match": [{"field": "titel"}]}), "/add_duplicates/0/match/0/field", "unknown_field"),
        (
            overlay({"name": "x", "match": [{"field": "amount", "method": "similar"}]}),
            "/add_duplicates/0/match/0/method",
            "inapplicable_method",
        ),
        (
            overlay({"name": "x", "match": [{"field": "title", "threshold": 0.5}]}),
            "/add_duplicates/0/match/0/threshold",
            "inapplicable_option",
        ),
        (
            overlay({"name": "x", "match": [{"field": "title", "method": "similar", "threshold": 1.5}]}),
            "/add_duplicates/0/match/0/threshold",
            "out_of_range",
        ),
        (
            overlay({"name": "x", "match": [{"field": "title", "method": "fuzzy"}]}),
            "/add_duplicates/0/match/0/method",
            "enum",
        ),
        (overlay({"name": "x", "match": [], "action": "block"}), "/add_duplicates/0/match", "too_short"),
        (overlay({"name": "x", "match": [{"field": "title"}], "action": "merge"}), "/add_duplicates/0/action", "enum"),
        (overlay({"name": "Same Title", "match": [{"field": "title"}]}), "/add_duplicates/0/name", "invalid_name"),
    ],
)
def test_a_rule_mistake_is_located(write: Writer, document: dict[str, Any], pointer: str, code: str) -> None:
    problems = validate_path(bundle(write, document), preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == [("app/doc0.json", code, pointer)]


def test_a_rule_mistake_in_an_entity_document_is_located(write: Writer) -> None:
    document = entity(
        duplicates=[
            {"name": "by_size", "match": [{"field": "size", "method": "similar"}]},
            {"name": "by_size", "match": [{"field": "size"}]},
        ]
    )
    problems = validate_path(bundle(write, document), preset_dirs=[PRESETS])
    assert [(p.code, p.pointer) for p in problems] == [
        ("inapplicable_method", "/duplicates/0/match/0/method"),
        ("duplicate_rule_exists", "/duplicates/1/name"),
    ]
