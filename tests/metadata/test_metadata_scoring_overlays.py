"""Scoring overlays: configurations merged (objects key by key, lists and other values
replaced), problems located in the document that wrote the value, clashes between
overlays, and random overlays (only DefinitionError comes out).

The fixtures are in data/scorings (see metadata_scoring_support).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from metadata_scoring_support import (
    LEAD,
    LEAD_QUALITY,
    RULE,
    SCHEMAS,
    WORDS,
    round_trip,
    sc,
    scoring_overlay,
)
from metadata_support import (
    FUZZ,
    Writer,
    json_values,
    located,
    manifest,
    mutated,
    reworded,
    write_file,
)

from engine.metadata import Label, load_definitions, validate_path


def layered(write: Writer, *documents: tuple[str, Any]) -> Path:
    """``core`` (the lead and the example scoring) and ``app`` extending it, with
    ``documents`` written as ``(bundle/file, content)``."""
    write("core/bundle.json", manifest("core"))
    write("core/lead.json", LEAD)
    write("core/scoring.json", sc(("/config/cap", {"min": 0, "max": 100})))
    for file, document in documents:
        write(file, document)
    return write("app/bundle.json", manifest("app", "../core")).parent


NEW_RULES = [{"when": {"var": "record.budget"}, "points": 30}]
NEW_GRADES = [{"grade": "A", "min": 70}, {"grade": "B", "min": 0}]


def test_the_documented_overlay_does_what_the_docs_say(write: Writer) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"
    blocks = docs.read_text(encoding="utf-8").split("```json\n")[1:]
    (documented,) = [json.loads(b.split("```", 1)[0]) for b in blocks if '"kind": "scoring_overlay"' in b]
    root = layered(write, ("app/overlay.json", documented))
    scoring = load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"]
    assert scoring.config["cap"] == {"min": 0, "max": 90}  # merged
    assert scoring.config["grades"] == documented["config"]["grades"]  # replaced
    assert scoring.config["rules"] == LEAD_QUALITY["config"]["rules"]  # kept
    assert (scoring.target_value, scoring.target_grade) == ("score", "tier")
    assert scoring.triggers == ("save", "transition")


def test_overlay_merges_objects_and_replaces_the_rest(write: Writer) -> None:
    document = scoring_overlay(
        label={"en": "Telecom lead quality", "zh": "电信线索质量"},
        config={"cap": {"max": 90}, "grades": NEW_GRADES, "rules": NEW_RULES},
        target={"grade": "tier"},
        triggers=["save", "transition"],
    )
    root = layered(write, ("app/overlay.json", document))
    scoring = load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"]
    assert scoring.label == Label("Telecom lead quality", "电信线索质量")
    cap = {"min": 0, "max": 90}
    assert scoring.config == {"rules": NEW_RULES, "grades": NEW_GRADES, "cap": cap}
    assert (scoring.target_value, scoring.target_grade) == ("score", "tier")
    assert scoring.triggers == ("save", "transition")
    # the base, loaded alone, is untouched
    alone = load_definitions(root.parent / "core").scorings["lead_quality"]
    assert alone.config["cap"] == {"min": 0, "max": 100}
    assert alone.target_grade == "grade"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"cap": None}, None),
        ({"cap": {}}, {"min": 0, "max": 100}),
        ({"cap": {"max": 90, "min": -5}}, {"min": -5, "max": 90}),
    ],
)
def test_overlay_config_values(write: Writer, config: dict[str, Any], expected: Any) -> None:
    root = layered(write, ("app/overlay.json", scoring_overlay(config=config)))
    scoring = load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"]
    assert scoring.config["cap"] == expected


def test_overlay_adds_an_object_the_base_lacks(write: Writer) -> None:
    root = layered(
        write,
        ("app/overlay.json", scoring_overlay(config={"weights": {"recency": 2}})),
        ("core/scoring.json", sc(("/scorer", "rfm"), ("/config", {"bins": 5}))),
    )
    scoring = load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"]
    assert scoring.config == {"bins": 5, "weights": {"recency": 2}}


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        (scoring_overlay(scoring="lead_qualty"), "/scoring", "unknown_scoring"),
        (scoring_overlay(entity="lead"), "/entity", "unknown_key"),
        (scoring_overlay(triggers=["hourly"]), "/triggers/0", "enum"),
        (scoring_overlay(target={"value": "tier"}), "/target/value", "invalid_target"),
        (scoring_overlay(target={"grade": "tir"}), "/target/grade", "unknown_field"),
        # what an overlay writes is checked against the scorer's schema where it is written
        (scoring_overlay(config={"rules": [{"when": True, "points": "x"}]}),
         "/config/rules/0/points", "invalid_config"),
        (scoring_overlay(config={"cap": {"maximum": 90}}),
         "/config/cap/maximum", "invalid_config"),
        (scoring_overlay(config={"cap": {"max": "90"}}), "/config/cap/max", "invalid_config"),
        (scoring_overlay(config={"grades": [{"grade": "A"}]}),
         "/config/grades/0", "invalid_config"),
        (scoring_overlay(config={"rules": [{"when": {"nto": [1]}, "points": 1}]}),
         "/config/rules/0/when", "unknown_operator"),
    ],
)  # fmt: skip
def test_scoring_overlay_mistake_is_located(write: Writer, document: dict[str, Any], pointer: str, code: str) -> None:
    problems = validate_path(layered(write, ("app/overlay.json", document)), scorer_schemas=SCHEMAS)
    assert located(problems) == [("app/overlay.json", code, pointer)]


def test_a_base_mistake_stays_in_the_base(write: Writer) -> None:
    root = layered(
        write,
        ("core/scoring.json", sc((f"{RULE}/points", "x"))),
        ("app/overlay.json", scoring_overlay(config={"cap": {"max": 90}})),
    )
    assert located(validate_path(root, scorer_schemas=SCHEMAS)) == [
        ("core/scoring.json", "invalid_config", f"{RULE}/points")
    ]


def test_an_overlay_replacing_a_broken_value_fixes_it(write: Writer) -> None:
    root = layered(
        write,
        ("core/scoring.json", sc((f"{RULE}/points", "x"))),
        ("app/overlay.json", scoring_overlay(config={"rules": NEW_RULES})),
    )
    assert validate_path(root, scorer_schemas=SCHEMAS) == []
    # ... while the base alone is still wrong
    assert located(validate_path(root.parent / "core", scorer_schemas=SCHEMAS)) == [
        ("core/scoring.json", "invalid_config", f"{RULE}/points")
    ]


def test_an_overlay_of_a_broken_scoring_is_not_reported_again(write: Writer) -> None:
    root = layered(write, ("app/overlay.json", scoring_overlay(config={"cap": {"max": 90}})))
    write("core/scoring.json", sc(("/triggers", [])))
    assert located(validate_path(root)) == [("core/scoring.json", "too_short", "/triggers")]


def _siblings(write: Writer, left: dict[str, Any], right: dict[str, Any]) -> Path:
    write("a/bundle.json", manifest("a", "../core"))
    write("a/overlay.json", scoring_overlay(**left))
    write("b/bundle.json", manifest("b", "../core"))
    write("b/overlay.json", scoring_overlay(**right))
    layered(write)
    return write("both/bundle.json", manifest("both", "../a", "../b")).parent


@pytest.mark.parametrize(
    ("left", "right", "pointer"),
    [
        ({"config": {"cap": {"max": 90}}}, {"config": {"cap": {"max": 80}}}, "/config/cap/max"),
        ({"config": {"cap": {"max": 90}}}, {"config": {"cap": None}}, "/config/cap"),
        ({"config": {"cap": None}}, {"config": {"cap": {"max": 90}}}, "/config/cap/max"),
        ({"config": {"grades": NEW_GRADES}}, {"config": {"grades": NEW_GRADES[:1]}},
         "/config/grades"),
        ({"label": "Fit"}, {"label": "Quality"}, "/label"),
        ({"target": {"grade": "tier"}}, {"target": {"grade": "grade"}}, "/target/grade"),
        ({"triggers": ["save"]}, {"triggers": ["transition"]}, "/triggers"),
    ],
)  # fmt: skip
def test_sibling_overlays_that_disagree_clash(
    write: Writer, left: dict[str, Any], right: dict[str, Any], pointer: str
) -> None:
    root = _siblings(write, left, right)
    assert located(validate_path(root)) == [("b/overlay.json", "overlay_clash", pointer)]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"config": {"cap": {"max": 90}}}, {"config": {"cap": {"max": 90}}}),
        ({"config": {"cap": {"max": 90}}}, {"config": {"cap": {"min": 10}}}),
        ({"config": {"cap": {}}}, {"config": {"cap": {"min": 10}}}),
        ({"config": {"grades": NEW_GRADES}}, {"config": {"cap": None}}),
        ({"label": "Fit"}, {"target": {"grade": "tier"}}),
    ],
)
def test_sibling_overlays_that_agree_or_touch_different_places(
    write: Writer, left: dict[str, Any], right: dict[str, Any]
) -> None:
    assert validate_path(_siblings(write, left, right), scorer_schemas=SCHEMAS) == []


def test_a_bundle_extending_both_settles_a_clash(write: Writer) -> None:
    root = _siblings(write, {"config": {"cap": {"max": 90}}}, {"config": {"cap": None}})
    write("both/overlay.json", scoring_overlay(config={"cap": {"min": 5, "max": 50}}))
    scoring = load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"]
    assert scoring.config["cap"] == {"min": 5, "max": 50}


def test_a_bundle_refines_what_its_base_overlays(write: Writer) -> None:
    write("mid/bundle.json", manifest("mid", "../core"))
    write("mid/overlay.json", scoring_overlay(config={"cap": None, "grades": NEW_GRADES}))
    layered(write)
    root = write("top/bundle.json", manifest("top", "../mid")).parent
    write("top/overlay.json", scoring_overlay(config={"cap": {"max": 70}}))
    scoring = load_definitions(root, scorer_schemas=SCHEMAS).scorings["lead_quality"]
    assert scoring.config["cap"] == {"max": 70}
    assert scoring.config["grades"] == NEW_GRADES


def test_two_overlays_of_one_bundle_clash(write: Writer) -> None:
    root = layered(
        write,
        ("app/a.json", scoring_overlay(config={"cap": {"max": 90}})),
        ("app/b.json", scoring_overlay(config={"cap": {"max": 95}})),
    )
    assert located(validate_path(root)) == [("app/b.json", "overlay_clash", "/config/cap/max")]


# random overlays -------------------------------------------------------------------------

RICH = sc(("/config/cap", {"min": 0, "max": 100}), ("/triggers", ["save", "transition"]))

RICH_OVERLAY = scoring_overlay(
    label="Fit",
    config={"cap": {"max": 90}, "grades": NEW_GRADES, "rules": NEW_RULES},
    target={"grade": "tier"},
    triggers=["batch"],
)


@FUZZ
@given(
    mutated(RICH_OVERLAY, WORDS)
    | reworded(RICH_OVERLAY, WORDS)
    | json_values(WORDS).map(lambda value: scoring_overlay(config={"cap": value}))
)
def test_random_scoring_overlays(document: Any) -> None:
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        write_file(base, "core/bundle.json", manifest("core"))
        write_file(base, "core/lead.json", LEAD)
        write_file(base, "core/scoring.json", RICH)
        write_file(base, "app/bundle.json", manifest("app", "../core"))
        write_file(base, "app/overlay.json", document)
        round_trip(base / "app")
