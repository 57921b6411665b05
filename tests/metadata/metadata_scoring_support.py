"""Helpers shared by the scoring tests: the fixtures of data/scorings, sample scorer
schemas, document builders and the round trip of random documents.

The scorer schemas are samples written here: the metadata package never sees plugins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metadata_support import DATA, Writer, check_problems, edited, manifest

from engine.errors import DefinitionError
from engine.metadata import (
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)


def _fixture(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((DATA / "scorings" / f"{name}.json").read_text(encoding="utf-8"))
    return value


#: A ``lead`` entity; the example scoring of docs/definitions.md; a workflow of leads
#: whose ``qualify`` transition rescores it.
LEAD = _fixture("lead")
LEAD_QUALITY = _fixture("lead_quality")
LEAD_PIPELINE = _fixture("lead_pipeline")

_LABEL = {"anyOf": [{"type": "string"}, {"type": "object", "required": ["en"]}]}
#: What a weighted-rules scorer and an RFM scorer might declare.
SCHEMAS: dict[str, Any] = {
    "weighted_rules": {
        "type": "object",
        "required": ["rules"],
        "properties": {
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["when", "points"],
                    "properties": {
                        "when": {"type": ["object", "boolean"]},
                        "points": {"type": "number"},
                        "reason": _LABEL,
                    },
                    "additionalProperties": False,
                },
            },
            "cap": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
                        "additionalProperties": False,
                    },
                    {"type": "null"},
                ]
            },
            "grades": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["grade", "min"],
                    "properties": {"grade": {"type": "string"}, "min": {"type": "number"}},
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
    "rfm": {
        "type": "object",
        "properties": {
            "bins": {"type": "integer", "minimum": 2, "maximum": 10},
            "weights": {"type": "object", "additionalProperties": {"type": "number"}},
            "segments": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": False,
    },
}
RULE = "/config/rules/0"


def sc(*edits: tuple[str, Any]) -> dict[str, Any]:
    """The example scoring with ``edits`` applied (see ``metadata_support.edited``)."""
    return edited(LEAD_QUALITY, *edits)


def lead_app(write: Writer, *documents: tuple[str, Any]) -> Path:
    """A bundle ``app``: the lead entity and ``documents`` (file, content)."""
    write("app/lead.json", LEAD)
    for file, document in documents:
        write(f"app/{file}", document)
    return write("app/bundle.json", manifest("app")).parent


def scoring_overlay(**body: Any) -> dict[str, Any]:
    """A scoring overlay of ``lead_quality``."""
    return {"schema_version": 1, "kind": "scoring_overlay", "scoring": "lead_quality", **body}


WORDS = sorted(
    {
        "lead", "lead_quality", "weighted_rules", "rfm", "score", "grade", "tier", "industry",
        "notes", "status", "save", "transition", "batch", "rules", "when", "points", "reason",
        "grades", "min", "max", "cap", "bins", "weights", "var", "record.industry", "==", "nto",
        "value", "target", "config", "triggers", "label", "en", "zh", "scorer", "entity",
        "scoring", "kind", "scoring_overlay", "A", "B",
    }
)  # fmt: skip


def round_trip(root: Path) -> None:
    """Problems are registered, loading agrees with validating, and what loads survives
    the stored form (checked against :data:`SCHEMAS` throughout)."""
    problems = validate_path(root, scorer_schemas=SCHEMAS)
    check_problems(problems)
    try:
        definitions = load_definitions(root, scorer_schemas=SCHEMAS)
    except DefinitionError as error:
        assert error.problems == tuple(problems) and problems
        return
    assert problems == []
    stored = json.loads(json.dumps(definitions_to_json(definitions), allow_nan=False))
    again = definitions_from_json(stored, scorer_schemas=SCHEMAS)
    assert again == definitions
    assert definitions_digest(again) == definitions_digest(definitions)
