"""Report documents: every problem at its file, pointer and code; the frozen reports; the
stored form and its round trip; the examples of docs/reports.md."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from metadata_support import (
    DELETE,
    FUZZ,
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
    AggregateSpec,
    FunnelSpec,
    GroupKey,
    Label,
    MeasureDef,
    ParamDef,
    RelatedDef,
    ReportDef,
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    freeze_json,
    load_definitions,
    validate_path,
)
from engine.metadata._schemas import schema_problems

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def _entity(name: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "entity", "name": name, "fields": fields, **extra}


ENTITIES = {
    "product": _entity("product", {"name": {"type": "string"}}, display="name"),
    "account": _entity(
        "account",
        {
            "name": {"type": "string"},
            "revenue": {"type": "money"},
            "strategic": {"type": "boolean"},
            "founded": {"type": "date"},
            "terminal_type": {"type": "enum", "choices": ["hospital", "pharmacy"]},
        },
    ),
    "deal": _entity(
        "deal",
        {
            "title": {"type": "string"},
            "amount": {"type": "money"},
            "notes": {"type": "text"},
            "product": {"type": "reference", "target": "product"},
            "account": {"type": "reference", "target": "account"},
            "stage": {"type": "enum", "choices": ["lead", "qualified", "won", "lost"]},
        },
    ),
    "visit": _entity(
        "visit",
        {
            "account": {"type": "reference", "target": "account"},
            "done_at": {"type": "datetime"},
            "minutes": {"type": "integer"},
            "deal": {"type": "reference", "target": "deal"},
        },
    ),
}
PIPELINE = {
    "schema_version": 1, "kind": "workflow", "name": "pipeline", "entity": "deal", "field": "stage",
    "states": {"lead": {"initial": True}, "qualified": {}, "won": {"final": True}, "lost": {"final": True}},
    "transitions": {"qualify": {"from": ["lead"], "to": "qualified"}, "win": {"from": ["qualified"], "to": "won"},
                    "lose": {"from": "*", "to": "lost"}},
}  # fmt: skip
SCORING = {
    "schema_version": 1, "kind": "scoring", "name": "account_value", "entity": "account", "scorer": "weighted_rules",
    "config": {"rules": [{"when": {"var": "record.strategic"}, "points": 50}]},
}  # fmt: skip


def _report(name: str, kind: str, **keys: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "report", "name": name, "type": kind, **keys}


FUNNEL = _report(
    "funnel", "funnel", workflow="pipeline", states=["lead", "qualified", "won"],
    by=["owner", "product", {"field": "created_at", "period": "quarter"}],
    where={"amount": {"gte": {"param": "min"}}, "or": [{"title": {"startswith": "A"}}, {"notes": {"is_null": True}}]},
    params={"min": {"type": "decimal", "label": {"en": "Minimum", "zh": "最低"}, "default": 0}},
    label={"en": "Funnel", "zh": "漏斗"}, chart={"type": "funnel"},
)  # fmt: skip
FORECAST = _report("forecast", "forecast", workflow="pipeline", amount="amount",
                   probabilities={"lead": 10, "qualified": 45.5}, by=["stage"])  # fmt: skip
LEARNED = _report("learned", "forecast", workflow="pipeline", amount="amount", probabilities="learned",
                  min_sample=5, learned_since={"param": "since"}, params={"since": {"type": "date"}},
                  by=[{"field": "created_at", "period": "quarter"}])  # fmt: skip
STAYS = _report("stays", "time_in_state", workflow="pipeline", unit="hour")
RATE = _report("rate", "rate", workflow="pipeline", base=["qualified"], passed=["won"],
               by=[{"field": "created_at", "period": "month"}])  # fmt: skip
COVERAGE = _report(
    "coverage", "aggregate", entity="account", where={"terminal_type": {"is_null": False}},
    params={"from": {"type": "date"}},
    related={"entity": "visit", "field": "account", "where": {"done_at": {"gte": {"param": "from"}}}},
    by=["id", "name"],
    measures=[
        {"name": "visits", "op": "count", "of": "related", "label": {"en": "Visits", "zh": "拜访次数"}},
        {"name": "minutes", "op": "sum", "field": "minutes", "of": "related"},
        {"name": "revenue", "op": "max", "field": "revenue"},
        {"name": "per_visit", "op": "ratio", "numerator": "minutes", "denominator": "visits"},
    ],
    having={"visits": {"lt": 3}}, sort=["visits", "-name"], limit=50,
)  # fmt: skip
RANKING = _report("ranking", "ranking", entity="account", rank_by={"scoring": "account_value"},
                  columns=["name", "owner"], limit=20)  # fmt: skip
BINS = _report("bins", "distribution", entity="account", value={"field": "revenue"}, bins=[0, 1000000])
TIERS = _report("tiers", "distribution", entity="account", grades={"scoring": "account_value", "order": ["A", "B"]})
REPORTS = (FUNNEL, FORECAST, LEARNED, STAYS, RATE, COVERAGE, RANKING, BINS, TIERS)


def app(write: Writer, *documents: tuple[str, Any]) -> Path:
    """A bundle ``app`` with the entities, the pipeline, the scoring and ``documents``."""
    for name, document in ENTITIES.items():
        write(f"app/{name}.json", document)
    write("app/pipeline.json", PIPELINE)
    write("app/scoring.json", SCORING)
    for file, document in documents:
        write(f"app/{file}", document)
    return write("app/bundle.json", manifest("app")).parent


def _problems(write: Writer, *documents: tuple[str, Any]) -> list[tuple[str | None, str, str | None]]:
    problems = validate_path(app(write, *documents))
    check_problems(problems)
    return located(problems)


def test_every_type_loads(write: Writer) -> None:
    root = app(write, *((f"{r['name']}.json", r) for r in REPORTS))
    reports = load_definitions(root).reports
    assert sorted(reports) == sorted(r["name"] for r in REPORTS)
    assert reports["funnel"] == ReportDef(
        name="funnel", type="funnel", label=Label("Funnel", "漏斗"), entity="deal", workflow="pipeline",
        chart="funnel",
        params={"min": ParamDef("min", "decimal", Label("Minimum", "最低"), 0)},
        spec=FunnelSpec(
            states=("lead", "qualified", "won"),
            by=(GroupKey("owner"), GroupKey("product"), GroupKey("created_at", "quarter")),
            where=freeze_json(FUNNEL["where"]),
        ),
    )  # fmt: skip
    coverage = reports["coverage"]
    assert isinstance(coverage.spec, AggregateSpec)
    assert list(coverage.spec.measures) == ["visits", "minutes", "revenue", "per_visit"]
    assert coverage.spec.measures["visits"] == MeasureDef("visits", "count", Label("Visits", "拜访次数"), of="related")
    assert coverage.spec.related == RelatedDef("visit", "account", freeze_json({"done_at": {"gte": {"param": "from"}}}))
    assert coverage.params["from"].label == Label("From") and not coverage.params["from"].has_default
    assert reports["ranking"].source is not None and reports["ranking"].source.file == "app/ranking.json"
    # frozen: the definitions do not share the document's objects
    with pytest.raises(TypeError):
        coverage.spec.where["name"] = "x"  # type: ignore[index]


def test_round_trip_through_the_stored_form(write: Writer) -> None:
    definitions = load_definitions(app(write, *((f"{r['name']}.json", r) for r in REPORTS)))
    stored = json.loads(json.dumps(definitions_to_json(definitions)))
    assert stored["reports"]["stays"] == STAYS  # only what was written
    assert stored["reports"]["coverage"] == COVERAGE
    again = definitions_from_json(stored)
    assert again == definitions
    assert definitions_digest(again) == definitions_digest(definitions)


def test_definitions_without_reports_keep_their_form(write: Writer) -> None:
    assert "reports" not in definitions_to_json(load_definitions(app(write)))


def test_stored_report_under_another_name(write: Writer) -> None:
    stored = definitions_to_json(load_definitions(app(write, ("rate.json", RATE))))
    stored["reports"] = {"other": stored["reports"]["rate"]}
    with pytest.raises(DefinitionError) as caught:
        definitions_from_json(stored)
    assert located(caught.value.problems) == [("<definitions>", "invalid", "/reports/other/name")]


def _with(base: dict[str, Any], *edits: tuple[str, Any]) -> dict[str, Any]:
    return edited(base, *edits)


CASES = [
    # names and references
    (_with(RATE, ("/workflow", "pipline")), "/workflow", "unknown_workflow"),
    (_with(FUNNEL, ("/states", ["lead", "qualifed"])), "/states/1", "unknown_state"),
    (_with(FORECAST, ("/probabilities", {"lead": 10, "wn": 90})), "/probabilities/wn", "unknown_state"),
    (_with(RATE, ("/passed", ["aproved"])), "/passed/0", "unknown_state"),
    (_with(COVERAGE, ("/entity", "acount")), "/entity", "unknown_entity"),
    (_with(COVERAGE, ("/related/entity", "visits")), "/related/entity", "unknown_entity"),
    (_with(FUNNEL, ("/by", ["ownr"])), "/by/0", "unknown_field"),
    (_with(FUNNEL, ("/where", {"amout": 5})), "/where/amout", "unknown_field"),
    (_with(FUNNEL, ("/where", {"not": {"or": [{"titel": "A"}]}})), "/where/not/or/0/titel", "unknown_field"),
    (_with(COVERAGE, ("/measures/1/field", "minuts")), "/measures/1/field", "unknown_field"),
    (_with(COVERAGE, ("/related/where", {"don_at": None})), "/related/where/don_at", "unknown_field"),
    (_with(RANKING, ("/columns", ["name", "nmae"])), "/columns/1", "unknown_field"),
    (_with(RANKING, ("/rank_by", {"field": "revenu"})), "/rank_by/field", "unknown_field"),
    (_with(FORECAST, ("/amount", "amont")), "/amount", "unknown_field"),
    (_with(LEARNED, ("/params", DELETE)), "/learned_since/param", "unknown_param"),
    (_with(FORECAST, ("/min_sample", 5)), "/min_sample", "unknown_key"),
    (_with(FORECAST, ("/learned_since", {"days": 90})), "/learned_since", "unknown_key"),
    (_with(RANKING, ("/rank_by", {"scoring": "acount_value"})), "/rank_by/scoring", "unknown_scoring"),
    (_with(TIERS, ("/entity", "deal")), "/grades/scoring", "unknown_scoring"),
    # types that do not fit
    (
        _with(COVERAGE, ("/measures/2", {"name": "revenue", "op": "sum", "field": "name"})),
        "/measures/2/field",
        "unsuitable_field",
    ),
    (_with(RATE, ("/by/0/field", "title")), "/by/0/field", "unsuitable_field"),
    (_with(FUNNEL, ("/by", ["notes"])), "/by/0", "unsuitable_field"),
    (_with(FUNNEL, ("/by", [{"field": "title", "bands": [10]}])), "/by/0/field", "unsuitable_field"),
    (_with(FUNNEL, ("/by", [{"field": "amount", "bands": [500, 100]}])), "/by/0/bands", "unsorted_bands"),
    (_with(FORECAST, ("/amount", "title")), "/amount", "unsuitable_field"),
    (_with(COVERAGE, ("/related/field", "deal")), "/related/field", "unsuitable_field"),
    (_with(RANKING, ("/rank_by", {"field": "strategic"})), "/rank_by/field", "unsuitable_field"),
    (_with(BINS, ("/value", {"field": "founded"})), "/value/field", "unsuitable_field"),
    # parameters
    (_with(FUNNEL, ("/params", DELETE)), "/where/amount/gte/param", "unknown_param"),
    (
        _with(FUNNEL, ("/where", {"stage": {"in": ["lead", {"param": "stage"}]}})),
        "/where/stage/in/1/param",
        "unknown_param",
    ),
    (_with(COVERAGE, ("/having", {"visits": {"lt": {"param": "most"}}})), "/having/visits/lt/param", "unknown_param"),
    (
        _with(COVERAGE, ("/params/from", {"type": "date", "default": "yesterday"})),
        "/params/from/default",
        "invalid_default",
    ),
    (_with(FUNNEL, ("/where", {"amount": {"param": "min", "gte": 1}})), "/where/amount", "invalid"),
    # columns
    (_with(COVERAGE, ("/sort", ["-visit"])), "/sort/0", "unknown_column"),
    (_with(COVERAGE, ("/having", {"vists": 1})), "/having/vists", "unknown_column"),
    (_with(COVERAGE, ("/measures/3/numerator", "minute")), "/measures/3/numerator", "unknown_column"),
    (_with(COVERAGE, ("/measures/3/denominator", "per_visit")), "/measures/3/denominator", "unknown_column"),
    (_with(COVERAGE, ("/measures/2/name", "name")), "/measures/2/name", "duplicate_column"),
    (
        _with(
            COVERAGE,
            ("/entity", "deal"),
            ("/related/field", "deal"),
            ("/where", DELETE),
            ("/by", ["product"]),
            ("/sort", DELETE),
            ("/measures/2", {"name": "product_display", "op": "count"}),
        ),
        "/measures/2/name",
        "duplicate_column",
    ),
    # what each type needs
    (_with(BINS, ("/bins", DELETE)), "", "required"),
    (_with(BINS, ("/value", DELETE), ("/bins", DELETE)), "", "required"),
    (_with(COVERAGE, ("/measures/1", {"name": "minutes", "op": "sum", "of": "related"})), "/measures/1", "required"),
    (_with(COVERAGE, ("/measures/3/denominator", DELETE)), "/measures/3", "required"),
    (_with(COVERAGE, ("/related", DELETE), ("/params", DELETE)), "", "required"),
    (_with(COVERAGE, ("/measures/3/field", "minutes")), "/measures/3/field", "unknown_key"),
    (_with(COVERAGE, ("/measures/1/numerator", "visits")), "/measures/1/numerator", "unknown_key"),
    (_with(TIERS, ("/bins", [0, 1])), "/bins", "unknown_key"),
    (_with(BINS, ("/bins", [0, 100, 50])), "/bins/2", "invalid"),
    (_with(BINS, ("/grades", {"scoring": "account_value"})), "/grades", "invalid"),
    (
        _with(
            COVERAGE, ("/measures/1", {"name": "minutes", "op": "count_distinct", "field": "minutes", "of": "related"})
        ),
        "/measures/1/op",
        "invalid",
    ),
    # the meta-schema
    (_with(FUNNEL, ("/bins", [0])), "/bins", "unknown_key"),
    (_with(FUNNEL, ("/states", DELETE)), "", "required"),
    (_with(FUNNEL, ("/states", ["lead"])), "/states", "too_short"),
    (_with(FUNNEL, ("/type", "funel")), "/type", "enum"),
    (_with(FUNNEL, ("/chart", {"type": "donut"})), "/chart/type", "enum"),
    (_with(RATE, ("/by/0/period", "week")), "/by/0/period", "enum"),
    (_with(STAYS, ("/unit", "minute")), "/unit", "enum"),
    (_with(FUNNEL, ("/where", {"amount": {"gtee": 5}})), "/where/amount/gtee", "unknown_key"),
    (_with(COVERAGE, ("/limit", 0)), "/limit", "out_of_range"),
    (_with(RANKING, ("/limit", "ten")), "/limit", "type"),
    (_with(FORECAST, ("/probabilities/lead", 120)), "/probabilities/lead", "out_of_range"),
    (_with(FORECAST, ("/probabilities", "learnt")), "/probabilities", "enum"),
    (_with(LEARNED, ("/min_sample", 0)), "/min_sample", "out_of_range"),
    (_with(LEARNED, ("/learned_since", {"days": 30, "param": "since"})), "/learned_since", "too_long"),
    (_with(LEARNED, ("/learned_since", {"days": 0})), "/learned_since/days", "out_of_range"),
    (_with(COVERAGE, ("/measures/0/op", "median")), "/measures/0/op", "enum"),
    (_with(RANKING, ("/rank_by", {"field": "revenue", "scoring": "account_value"})), "/rank_by", "too_long"),
]


@pytest.mark.parametrize(("document", "pointer", "code"), CASES)
def test_problems(write: Writer, document: dict[str, Any], pointer: str, code: str) -> None:
    assert _problems(write, ("report.json", document)) == [("app/report.json", code, pointer)]


def test_duplicate_report(write: Writer) -> None:
    assert _problems(write, ("a.json", RATE), ("b.json", RATE)) == [("app/b.json", "duplicate_report", "/name")]


def test_every_problem_is_reported_at_once(write: Writer) -> None:
    document = _with(COVERAGE, ("/by", ["nmae"]), ("/sort", ["-visit"]), ("/measures/1/field", "minuts"))
    assert sorted(_problems(write, ("report.json", document))) == [
        ("app/report.json", "unknown_column", "/sort/0"),
        ("app/report.json", "unknown_field", "/by/0"),
        ("app/report.json", "unknown_field", "/measures/1/field"),
    ]


def test_a_report_sees_only_its_bundle_and_bases(write: Writer) -> None:
    # "side" defines the workflow and "app" the report on it; "app" does not extend "side"
    for name, document in ENTITIES.items():
        write(f"core/{name}.json", document)
    write("core/bundle.json", manifest("core"))
    write("side/pipeline.json", PIPELINE)
    write("side/bundle.json", manifest("side", "../core"))
    write("app/rate.json", RATE)
    write("app/bundle.json", manifest("app", "../core"))
    root = write("all/bundle.json", manifest("all", "../app", "../side")).parent
    assert located(validate_path(root)) == [("app/rate.json", "unknown_workflow", "/workflow")]
    write("app/bundle.json", manifest("app", "../core", "../side"))
    assert validate_path(root) == []


def _documented() -> list[dict[str, Any]]:
    blocks = DOCS.read_text(encoding="utf-8").split("```json\n")[1:]
    return [json.loads(b.split("```", 1)[0]) for b in blocks if '"kind": "report"' in b]


def test_the_documented_reports_are_valid_documents() -> None:
    documented = _documented()
    assert {d["type"] for d in documented} >= {"funnel", "forecast", "rate", "aggregate", "ranking"}
    for document in documented:
        assert schema_problems("report.schema.json", document, "docs/reports.md") == [], document["name"]


#: Words random documents are made of: names the reports use, and near misses.
WORDS = [
    "lead", "qualified", "won", "owner", "amount", "product", "created_at", "month", "account", "visit",
    "minutes", "done_at", "revenue", "name", "visits", "per_visit", "account_value", "pipeline", "count",
    "ratio", "related", "param", "from", "min", "deal", "stage", "notes", "title", "id", "records", "gte",
]  # fmt: skip


@FUZZ
@given(st.sampled_from(REPORTS).flatmap(lambda r: mutated(r, WORDS) | reworded(r, WORDS)))
def test_random_reports(document: Any) -> None:
    # whatever is written: problems with codes and pointers, or definitions that store and
    # read back equal; never an exception
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        root = app(lambda relative, content: write_file(base, relative, content), ("report.json", document))
        try:
            definitions = load_definitions(root)
        except DefinitionError as error:
            check_problems(error.problems)
            assert error.problems
            return
    stored = json.loads(json.dumps(definitions_to_json(definitions)))
    assert definitions_from_json(stored) == definitions
