"""Scoring documents: what they load into, the code and pointer of each mistake (the
configuration checked against sample scorer schemas passed as ``scorer_schemas``), the
scorings rescore actions name, the stored form, and random documents (only
DefinitionError comes out). Scoring overlays are in test_metadata_scoring_overlays.py.

The fixtures are in data/scorings (see metadata_scoring_support).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from metadata_scoring_support import (
    LEAD,
    LEAD_PIPELINE,
    LEAD_QUALITY,
    RULE,
    SCHEMAS,
    WORDS,
    lead_app,
    round_trip,
    sc,
)
from metadata_support import (
    DATA,
    DELETE,
    FUZZ,
    PRESETS,
    Writer,
    check_problems,
    edited,
    located,
    manifest,
    mutated,
    reworded,
    write_file,
)

from engine.errors import DefinitionError
from engine.metadata import (
    Definitions,
    Label,
    ScoringDef,
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)
from engine.metadata._kinds import KINDS


def test_example_loads_into_the_exact_scoring(write: Writer) -> None:
    root = lead_app(write, ("scoring.json", LEAD_QUALITY))
    definitions = load_definitions(root, scorer_schemas=SCHEMAS)
    scoring = definitions.scorings["lead_quality"]
    assert scoring == ScoringDef(
        name="lead_quality",
        entity="lead",
        scorer="weighted_rules",
        label=Label("Lead quality", "线索质量"),
        config=MappingProxyType(LEAD_QUALITY["config"]),
        target_value="score",
        target_grade="grade",
        triggers=("save",),
    )
    assert definitions.scorings_for("lead") == (scoring,)
    assert scoring.source is not None and scoring.source.file == "app/scoring.json"
    # frozen: the definitions do not share the document's objects
    assert scoring.config["rules"] is not LEAD_QUALITY["config"]["rules"]
    with pytest.raises(TypeError):
        scoring.config["rules"] = []  # type: ignore[index]


def test_the_documented_example_is_this_one() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"
    blocks = docs.read_text(encoding="utf-8").split("```json\n")[1:]
    documented = [json.loads(b.split("```", 1)[0]) for b in blocks if '"kind": "scoring"' in b]
    assert documented[0] == LEAD_QUALITY


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # what a scoring without options gets
        (
            [("/label", DELETE), ("/config", DELETE), ("/target", DELETE), ("/triggers", DELETE)],
            {"label": Label("Lead quality"), "config": {}, "target_value": None,
             "target_grade": None, "triggers": ("batch",)},
        ),
        # triggers are kept in one order, however written
        ([("/triggers", ["batch", "transition", "save"])],
         {"triggers": ("save", "transition", "batch")}),
        ([("/target", {"grade": "tier"})], {"target_value": None, "target_grade": "tier"}),
        ([("/target", {"value": "probability"})], {"target_value": "probability"}),
        ([("/target", {"value": "budget"})], {"target_value": "budget"}),
    ],
)  # fmt: skip
def test_options(write: Writer, edits: list[tuple[str, Any]], expected: dict[str, Any]) -> None:
    definitions = load_definitions(lead_app(write, ("scoring.json", sc(*edits))))
    scoring = definitions.scorings["lead_quality"]
    assert {key: getattr(scoring, key) for key in expected} == expected


MISTAKES = [
    # the meta-schema
    (sc(("/scorer", DELETE)), "", "required"),
    (sc(("/weights", {})), "/weights", "unknown_key"),
    (sc(("/scorer", "WeightedRules")), "/scorer", "invalid_name"),
    (sc(("/config", [])), "/config", "type"),
    (sc(("/triggers", ["nightly"])), "/triggers/0", "enum"),
    (sc(("/triggers", [])), "/triggers", "too_short"),
    (sc(("/triggers", ["save", "save"])), "/triggers/1", "duplicate_item"),
    (sc(("/target", {})), "/target", "too_short"),
    (sc(("/target/score", "score")), "/target/score", "unknown_key"),
    # the entity and the targets
    (sc(("/entity", "led")), "/entity", "unknown_entity"),
    (sc(("/target/value", "scor")), "/target/value", "unknown_field"),
    (sc(("/target/value", "industry")), "/target/value", "invalid_target"),
    (sc(("/target/grade", "score")), "/target/grade", "invalid_target"),
    (sc(("/target/grade", "notes")), "/target/grade", "invalid_target"),
    # the scorer and its schema
    (sc(("/scorer", "weighted_rule")), "/scorer", "unknown_scorer"),
    (sc((f"{RULE}/points", "twenty")), f"{RULE}/points", "invalid_config"),
    (sc((f"{RULE}/weight", 1)), f"{RULE}/weight", "invalid_config"),
    (sc((f"{RULE}/points", DELETE)), RULE, "invalid_config"),
    (sc(("/config/rules", [])), "/config/rules", "invalid_config"),
    (sc(("/config/rules", DELETE)), "/config", "invalid_config"),
    (sc(("/config/grades/1", {"grade": "B"})), "/config/grades/1", "invalid_config"),
    (sc(("/config/cap", "none")), "/config/cap", "invalid_config"),
    (sc(("/config/cap", {"max": "90"})), "/config/cap/max", "invalid_config"),
    (sc(("/config/a~1b", 1)), "/config/a~01b", "invalid_config"),
    (sc(("/scorer", "rfm"), ("/config", {"bins": 1})), "/config/bins", "invalid_config"),
    # rules under "when", wherever they are
    (sc((f"{RULE}/when", {"<==": [1, 2]})), f"{RULE}/when", "unknown_operator"),
    (sc((f"{RULE}/when", {"and": [True, {"nto": [1]}]})), f"{RULE}/when/and/1",
     "unknown_operator"),
    (sc((f"{RULE}/when", {"==": [1], "x": 2})), f"{RULE}/when", "invalid_operation"),
    (sc((f"{RULE}/when", {"var": ["a", 1, 2]})), f"{RULE}/when/var", "invalid_arguments"),
    (sc(("/scorer", "rfm"), ("/config", {"segments": [{"name": "x", "when": {"nto": [1]}}]})),
     "/config/segments/0/when", "unknown_operator"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "pointer", "code"), MISTAKES)
def test_mistake_in_a_scoring_is_located(write: Writer, document: Any, pointer: str, code: str) -> None:
    root = lead_app(write, ("scoring.json", document))
    problems = validate_path(root, scorer_schemas=SCHEMAS)
    assert located(problems) == [("app/scoring.json", code, pointer)]
    assert problems[0].message
    with pytest.raises(DefinitionError) as raised:
        load_definitions(root, scorer_schemas=SCHEMAS)
    assert raised.value.problems == tuple(problems)


def test_every_problem_of_a_config_is_reported_together(write: Writer) -> None:
    document = sc(
        (f"{RULE}/points", "twenty"),
        (f"{RULE}/when", {"nto": [1]}),
        ("/config/grades/1", {"grade": "B", "mn": 60}),
        ("/config/capp", 1),
    )
    problems = validate_path(lead_app(write, ("scoring.json", document)), scorer_schemas=SCHEMAS)
    assert sorted((p.code, p.pointer) for p in problems) == [
        ("invalid_config", "/config/capp"),
        ("invalid_config", "/config/grades/1"),
        ("invalid_config", "/config/grades/1/mn"),
        ("invalid_config", f"{RULE}/points"),
        ("unknown_operator", f"{RULE}/when"),
    ]


def test_without_scorer_schemas_the_scorer_and_config_are_not_checked(write: Writer) -> None:
    document = sc(("/scorer", "no_such_scorer"), (f"{RULE}/points", "twenty"))
    root = lead_app(write, ("scoring.json", document))
    assert validate_path(root) == []
    assert load_definitions(root).scorings["lead_quality"].scorer == "no_such_scorer"
    # rules under "when" are checked all the same
    write("app/scoring.json", edited(document, (f"{RULE}/when", {"nto": [1]})))
    assert located(validate_path(root)) == [("app/scoring.json", "unknown_operator", f"{RULE}/when")]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "objekt"},
        {"properties": {"x": {"pattern": "("}}},
        {"$ref": "https://example.com/elsewhere.json"},
        {"$ref": "#/$defs/missing"},
    ],
)
def test_a_broken_scorer_schema_is_reported_not_raised(write: Writer, schema: Any) -> None:
    root = lead_app(write, ("scoring.json", sc(("/scorer", "rfm"), ("/config", {"bins": 3}))))
    problems = validate_path(root, scorer_schemas={**SCHEMAS, "rfm": schema})
    assert located(problems) == [("app/scoring.json", "broken_scorer", "/scorer")]


def test_two_scorings_with_one_name(write: Writer) -> None:
    root = lead_app(write, ("a.json", LEAD_QUALITY), ("b.json", sc(("/target", DELETE))))
    assert located(validate_path(root)) == [("app/b.json", "duplicate_scoring", "/name")]


def test_two_scorings_writing_one_field(write: Writer) -> None:
    second = sc(("/name", "lead_fit"), ("/target", {"grade": "grade"}))
    root = lead_app(write, ("a.json", LEAD_QUALITY), ("b.json", second))
    assert located(validate_path(root)) == [("app/b.json", "invalid_target", "/target/grade")]


def test_a_target_driven_by_a_workflow(write: Writer) -> None:
    document = sc(("/target", {"grade": "status"}))
    root = lead_app(write, ("scoring.json", document), ("pipeline.json", LEAD_PIPELINE))
    assert located(validate_path(root)) == [("app/scoring.json", "invalid_target", "/target/grade")]


def test_a_broken_entity_is_not_reported_again(write: Writer) -> None:
    root = lead_app(write, ("scoring.json", LEAD_QUALITY))
    write("app/lead.json", edited(LEAD, ("/fields/score/type", "int")))
    assert located(validate_path(root)) == [("app/lead.json", "unknown_type", "/fields/score/type")]


def test_scoring_an_entity_of_a_preset(write: Writer) -> None:
    document = sc(("/entity", "opportunity"), ("/target", DELETE))
    write("app/scoring.json", document)
    root = write("app/bundle.json", manifest("app", "fx_core")).parent
    definitions = load_definitions(root, preset_dirs=[PRESETS])
    assert definitions.scorings_for("opportunity") == (definitions.scorings["lead_quality"],)


def test_scoring_an_entity_of_a_bundle_not_extended(write: Writer) -> None:
    write("core/bundle.json", manifest("core"))
    write("core/lead.json", LEAD)
    write("other/bundle.json", manifest("other"))
    write("other/scoring.json", LEAD_QUALITY)
    root = write("app/bundle.json", manifest("app", "../core", "../other")).parent
    assert located(validate_path(root)) == [("other/scoring.json", "unknown_entity", "/entity")]


# rescore actions ------------------------------------------------------------------------

QUALIFY = "/transitions/qualify/actions/0/rescore/scorings/0"


def rescoring(*names: str, where: str = "/transitions/qualify/actions") -> dict[str, Any]:
    """The lead pipeline whose action list at ``where`` rescores ``names``."""
    return edited(LEAD_PIPELINE, (where, [{"rescore": {"scorings": list(names)}}]))


def test_rescore_names_a_scoring_of_the_entity(write: Writer) -> None:
    root = lead_app(write, ("scoring.json", LEAD_QUALITY), ("pipeline.json", LEAD_PIPELINE))
    definitions = load_definitions(root)
    action = definitions.workflows["lead_pipeline"].transitions["qualify"].actions[0]
    assert action.scorings == ("lead_quality",)


@pytest.mark.parametrize(
    ("workflow", "pointer"),
    [
        (rescoring("lead_qualty"), QUALIFY),
        (rescoring("lead_quality", "order_score"), QUALIFY[:-1] + "1"),
        (
            edited(
                LEAD_PIPELINE,
                ("/states/new/max_duration", "P3D"),
                ("/states/new/escalation", {"actions": [{"rescore": {"scorings": ["x"]}}]}),
            ),
            "/states/new/escalation/actions/0/rescore/scorings/0",
        ),
    ],
)
def test_rescore_of_an_unknown_scoring(write: Writer, workflow: Any, pointer: str) -> None:
    root = lead_app(write, ("scoring.json", LEAD_QUALITY), ("pipeline.json", workflow))
    assert located(validate_path(root)) == [("app/pipeline.json", "unknown_scoring", pointer)]


def test_rescore_of_a_scoring_of_another_entity(write: Writer) -> None:
    other = {**LEAD, "name": "prospect"}
    scoring = sc(("/name", "prospect_fit"), ("/entity", "prospect"))
    root = lead_app(
        write,
        ("scoring.json", LEAD_QUALITY),
        ("prospect.json", other),
        ("prospect_fit.json", scoring),
        ("pipeline.json", rescoring("prospect_fit")),
    )
    assert located(validate_path(root)) == [("app/pipeline.json", "unknown_scoring", QUALIFY)]


def test_rescore_of_a_scoring_of_a_bundle_not_extended(write: Writer) -> None:
    write("core/bundle.json", manifest("core"))
    write("core/lead.json", LEAD)
    write("core/pipeline.json", LEAD_PIPELINE)
    write("scores/bundle.json", manifest("scores", "../core"))
    write("scores/scoring.json", LEAD_QUALITY)
    root = write("app/bundle.json", manifest("app", "../core", "../scores")).parent
    # a workflow rescores scorings its own bundle sees, not those of bundles extending it
    assert located(validate_path(root)) == [("core/pipeline.json", "unknown_scoring", QUALIFY)]


def test_rescore_of_a_broken_scoring_is_not_reported_again(write: Writer) -> None:
    broken = sc(("/triggers", ["nightly"]))
    root = lead_app(write, ("scoring.json", broken), ("pipeline.json", LEAD_PIPELINE))
    assert located(validate_path(root)) == [("app/scoring.json", "enum", "/triggers/0")]


# the stored form --------------------------------------------------------------------------


def test_round_trip(write: Writer) -> None:
    minimal = sc(
        ("/name", "lead_fit"),
        ("/scorer", "rfm"),
        ("/label", DELETE),
        ("/config", DELETE),
        ("/target", {"value": "probability"}),
        ("/triggers", ["batch"]),
    )
    root = lead_app(
        write,
        ("scoring.json", sc(("/triggers", ["transition", "save"]))),
        ("fit.json", minimal),
        ("pipeline.json", LEAD_PIPELINE),
    )
    definitions = load_definitions(root, scorer_schemas=SCHEMAS)
    stored = json.loads(json.dumps(definitions_to_json(definitions), allow_nan=False))
    again = definitions_from_json(stored, scorer_schemas=SCHEMAS)
    assert again == definitions
    assert definitions_digest(again) == definitions_digest(definitions)
    assert list(stored["scorings"]) == ["lead_fit", "lead_quality"]
    # only what differs from the defaults, one way to write each thing
    assert stored["scorings"]["lead_fit"] == {
        "schema_version": 1,
        "kind": "scoring",
        "name": "lead_fit",
        "entity": "lead",
        "scorer": "rfm",
        "target": {"value": "probability"},
    }
    assert stored["scorings"]["lead_quality"] == {
        **LEAD_QUALITY,
        "triggers": ["save", "transition"],
    }


def test_definitions_without_scorings_keep_their_stored_form(write: Writer) -> None:
    definitions = load_definitions(PRESETS / "fx_marketing", preset_dirs=[PRESETS])
    assert definitions.scorings == {}
    assert "scorings" not in definitions_to_json(definitions)
    # the digest these definitions had before scorings existed
    digest = "1900f3f8a5f21e829008157e6f9176dd4277ee98382850ca49af0adb8a34640d"
    assert definitions_digest(definitions) == digest
    # and definitions with workflows too
    workflows = DATA / "workflows"
    for name in ("order", "task", "order_approval", "order_payment"):
        write(f"app/{name}.json", json.loads((workflows / f"{name}.json").read_text("utf-8")))
    with_workflows = load_definitions(write("app/bundle.json", manifest("app")).parent)
    digest = "2e1465924502fd27acafd2fb0623f6e64bce6ebc2f1669365691d2b69c514029"
    assert definitions_digest(with_workflows) == digest
    empty = Definitions(name="x", entities={})
    assert definitions_from_json(definitions_to_json(empty)) == empty


def test_stored_scorings_are_checked(write: Writer) -> None:
    definitions = load_definitions(lead_app(write, ("scoring.json", LEAD_QUALITY)))
    entity = definitions_to_json(definitions)
    entity["scorings"]["lead_quality"]["entity"] = "leed"
    renamed = definitions_to_json(definitions)
    renamed["scorings"]["other"] = renamed["scorings"].pop("lead_quality")
    config = definitions_to_json(definitions)
    config["scorings"]["lead_quality"]["config"]["rules"][0]["points"] = "x"
    for data, pointer, code in (
        (entity, "/scorings/lead_quality/entity", "unknown_entity"),
        (renamed, "/scorings/other/name", "invalid"),
        (config, "/scorings/lead_quality/config/rules/0/points", "invalid_config"),
    ):
        with pytest.raises(DefinitionError) as raised:
            definitions_from_json(data, scorer_schemas=SCHEMAS)
        assert [(p.code, p.pointer) for p in raised.value.problems] == [(code, pointer)]
    # without the scorers' schemas, a stored configuration is taken as it is
    rules = definitions_from_json(config).scorings["lead_quality"].config["rules"]
    assert rules[0]["points"] == "x"


# random documents -------------------------------------------------------------------------

RICH = sc(("/config/cap", {"min": 0, "max": 100}), ("/triggers", ["save", "transition"]))


@FUZZ
@given(mutated(RICH, WORDS) | reworded(RICH, WORDS))
def test_random_scoring_documents(document: Any) -> None:
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        write_file(base, "app/bundle.json", manifest("app"))
        write_file(base, "app/lead.json", LEAD)
        write_file(base, "app/pipeline.json", LEAD_PIPELINE)
        write_file(base, "app/scoring.json", document)
        round_trip(base / "app")


def _stored() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        write_file(base, "app/bundle.json", manifest("app"))
        write_file(base, "app/lead.json", LEAD)
        write_file(base, "app/scoring.json", RICH)
        return definitions_to_json(load_definitions(base / "app"))


STORED = _stored()


@FUZZ
@given(mutated(STORED["scorings"]["lead_quality"], WORDS))
def test_random_stored_scorings(scoring: Any) -> None:
    stored = {**STORED, "scorings": {"lead_quality": scoring}}
    try:
        definitions = definitions_from_json(stored, scorer_schemas=SCHEMAS)
    except DefinitionError as error:
        check_problems(error.problems)
        assert error.problems
        return
    again = json.loads(json.dumps(definitions_to_json(definitions)))
    assert definitions_from_json(again, scorer_schemas=SCHEMAS) == definitions


def test_every_document_kind_is_in_the_documented_table() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"
    section = docs.read_text(encoding="utf-8").split("## Documents", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` +\|", section, re.MULTILINE)
    assert documented[2:] == list(KINDS)  # after the two header keys
