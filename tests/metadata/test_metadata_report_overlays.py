"""Report overlays: a bundle changes a report it inherits (states, probabilities, ``by``,
measures, ``where``, ``label``) by name; mistakes point at the overlay; the merged report is
checked like any report and survives the stored form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from metadata_support import Writer, located, manifest

from engine.errors import DefinitionError
from engine.metadata import Label, definitions_from_json, definitions_to_json, load_definitions

FILE = "overlay.json"


def report_overlay(report: str, **body: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "report_overlay", "report": report, **body}


def variant(write: Writer, *documents: dict[str, Any]) -> Path:
    """A bundle extending ``standard_product`` with ``documents`` (overlay.json, overlay1.json …)."""
    for index, document in enumerate(documents):
        write(f"variant/overlay{index or ''}.json", document)
    return write("variant/bundle.json", manifest("variant", "standard_product")).parent


def problems_of(root: Path) -> list[tuple[str | None, str, str | None]]:
    with pytest.raises(DefinitionError) as caught:
        load_definitions(root)
    return [(Path(f).name if f else None, code, pointer) for f, code, pointer in located(caught.value.problems)]


def test_states_probabilities_by_where_and_label_change(write: Writer) -> None:
    root = variant(
        write,
        report_overlay(
            "pipeline_funnel_by_rep",
            add_states=[{"state": "lost", "after": "qualification"}],
            by=["owner", "channel"],
            label={"en": "Funnel", "zh": "漏斗"},
        ),
        report_overlay("weighted_forecast", probabilities={"proposal": 55, "qualification": 5}),
        report_overlay("opportunity_time_in_stage", states=["proposal", "negotiation"], where={"amount": {"gte": 1}}),
    )
    reports = load_definitions(root).reports
    funnel = reports["pipeline_funnel_by_rep"]
    assert funnel.spec.states == ("qualification", "lost", "needs_analysis", "proposal", "negotiation", "won")
    assert [k.field for k in funnel.spec.by] == ["owner", "channel"]
    assert funnel.label == Label("Funnel", "漏斗")
    forecast = reports["weighted_forecast"].spec
    assert forecast.probabilities == {"qualification": 5, "needs_analysis": 25, "proposal": 55, "negotiation": 75}
    stay = reports["opportunity_time_in_stage"].spec
    assert stay.states == ("proposal", "negotiation")
    assert stay.where == {"amount": {"gte": 1}}


def test_measures_added_replaced_and_removed_by_name(write: Writer) -> None:
    root = variant(
        write,
        report_overlay(
            "activities_per_rep",
            remove_measures=["accounts"],
            replace_measures=[{"name": "activities", "op": "count", "label": {"en": "Done", "zh": "已完成"}}],
            add_measures=[{"name": "minutes", "op": "sum", "field": "duration_minutes"}],
        ),
    )
    definitions = load_definitions(root)
    measures = definitions.reports["activities_per_rep"].spec.measures
    assert list(measures) == ["activities", "minutes"]
    assert measures["activities"].label == Label("Done", "已完成")
    assert measures["minutes"].op == "sum"
    # the stored form holds the merged report and reads back into equal definitions
    stored = definitions_to_json(definitions)
    assert definitions_from_json(stored).reports == definitions.reports


def test_an_unknown_report_is_named_with_a_suggestion(write: Writer) -> None:
    root = variant(write, report_overlay("weighted_forcast", probabilities={"proposal": 55}))
    with pytest.raises(DefinitionError) as caught:
        load_definitions(root)
    (found,) = caught.value.problems
    assert (found.code, found.pointer) == ("unknown_report", "/report")
    assert "weighted_forecast" in found.message


def test_unknown_and_existing_measures_point_at_the_overlay(write: Writer) -> None:
    root = variant(
        write,
        report_overlay(
            "activities_per_rep",
            remove_measures=["acounts"],
            replace_measures=[{"name": "total", "op": "count"}],
            add_measures=[{"name": "activities", "op": "count"}],
        ),
    )
    assert problems_of(root) == [
        ("overlay.json", "unknown_measure", "/remove_measures/0"),
        ("overlay.json", "unknown_measure", "/replace_measures/0/name"),
        ("overlay.json", "measure_exists", "/add_measures/0/name"),
    ]
    with pytest.raises(DefinitionError) as caught:
        load_definitions(root)
    assert "Did you mean 'accounts'?" in caught.value.problems[0].message


def test_the_merged_report_is_checked_at_the_overlay(write: Writer) -> None:
    root = variant(
        write,
        report_overlay("pipeline_funnel_by_rep", add_states=["on_hold", {"state": "won"}]),
        report_overlay("weighted_forecast", by=["colour"]),
        report_overlay("activities_per_rep", states=["won"]),
    )
    assert problems_of(root) == [
        ("overlay.json", "state_exists", "/add_states/1"),
        ("overlay2.json", "invalid", "/states"),
        ("overlay.json", "unknown_state", "/add_states/0"),
        ("overlay1.json", "unknown_field", "/by/0"),
    ]


def test_a_state_added_after_a_missing_one(write: Writer) -> None:
    root = variant(write, report_overlay("pipeline_funnel_by_rep", add_states=[{"state": "lost", "after": "lose"}]))
    assert problems_of(root) == [("overlay.json", "unknown_state", "/add_states/0/after")]


def test_an_overlay_that_changes_nothing_is_refused(write: Writer) -> None:
    root = variant(write, report_overlay("weighted_forecast"))
    assert problems_of(root) == [("overlay.json", "required", "")]
