"""Every preset validates on its own, speaks English and Chinese, follows the naming the
preset CLI relies on, and loads together with the other modes and their industries."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from engine.metadata import Label, load_definitions, validate_path
from engine.presets import MODES
from tests.presets.presets_support import (
    FAMILIES,
    PRESETS,
    PRESETS_DIR,
    VARIANTS,
    load_preset,
    mode_of,
    pairwise_cover,
    union_bundle,
)

ROLES = {"rep", "secretary", "finance", "manager", "marketing", "service", "admin"}

#: The scorers each mode's bottlenecks call for (BUSINESS.md, "Scoring models").
MODE_SCORERS = {
    "standard_product": {"weighted_rules", "lead_grade"},
    "promotion": {"weighted_rules"},
    "complex_sale": {"project_evaluation", "relationship_closeness"},
    "membership": {"rfm", "weighted_rules"},
    "key_account": {"key_account_value", "customer_tier", "weighted_rules"},
}


def manifest(preset: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PRESETS_DIR / preset / "bundle.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_validates_with_the_builtin_scorers(preset: str) -> None:
    definitions = load_preset(preset)  # raises DefinitionError listing every problem
    assert definitions.name == preset and definitions.bundles[-1] == preset


@pytest.mark.parametrize("preset", PRESETS)
def test_manifest_names_the_mode_a_variant_refines(preset: str) -> None:
    data = manifest(preset)
    label = data["label"]
    assert isinstance(label, dict) and label.get("en") and label.get("zh")
    assert isinstance(data.get("description"), str) and len(data["description"]) > 80
    mode = mode_of(preset)
    if mode is None:
        assert preset == "core" and not data.get("extends")
    elif preset == mode:
        assert data["extends"] == ["core"]
    else:
        assert data["extends"] == [mode]
        assert str(data["description"]).startswith(f"Industry variant of {mode} ")


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_has_two_industries(mode: str) -> None:
    assert len(VARIANTS[mode]) >= 2


def labels_of(preset: str) -> list[tuple[str, Label | None]]:
    """Every label and description users read, with where it is."""
    definitions = load_preset(preset)
    out: list[tuple[str, Label | None]] = []
    for entity in definitions.entities.values():
        out.append((entity.name, entity.label))
        if entity.description is not None:
            out.append((f"{entity.name} description", entity.description))
        for field in entity.fields.values():
            out.append((f"{entity.name}.{field.name}", field.label))
            if field.description is not None:
                out.append((f"{entity.name}.{field.name} description", field.description))
            out.extend((f"{entity.name}.{field.name}={c.value}", c.label) for c in field.choices)
    for workflow in definitions.workflows.values():
        out.append((workflow.name, workflow.label))
        out.extend((f"{workflow.name} state {name}", state.label) for name, state in workflow.states.items())
        for name, transition in workflow.transitions.items():
            out.append((f"{workflow.name}.{name}", transition.label))
            out.extend((f"{workflow.name}.{name} input {i.name}", i.label) for i in transition.inputs.values())
    out.extend((scoring.name, scoring.label) for scoring in definitions.scorings.values())
    for view in definitions.views.values():
        out.append((f"view {view.name}", view.label))
        if view.description is not None:
            out.append((f"view {view.name} description", view.description))
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_everything_users_read_is_in_english_and_chinese(preset: str) -> None:
    missing = [where for where, label in labels_of(preset) if label is None or not label.en or not label.zh]
    assert missing == []


@pytest.mark.parametrize("preset", PRESETS)
def test_workflows_use_the_house_roles(preset: str) -> None:
    definitions = load_preset(preset)
    named = {role for w in definitions.workflows.values() for t in w.transitions.values() for role in t.roles}
    assert named <= ROLES


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_scores_what_its_bottlenecks_need(mode: str) -> None:
    definitions = load_preset(mode)
    assert {s.scorer for s in definitions.scorings.values()} == MODE_SCORERS[mode]
    for scoring in definitions.scorings.values():
        fields = definitions.entity(scoring.entity).fields
        for target in (scoring.target_value, scoring.target_grade):
            assert target is None or fields[target].read_only


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(MODES, 2)), ids="+".join)
def test_two_modes_load_together(first: str, second: str, tmp_path: Path) -> None:
    # scoring configurations are checked per preset; composing checks names, overlays and clashes
    union = load_definitions(union_bundle(tmp_path, [first, second]))
    assert union.bundles.count("core") == 1
    for mode in (first, second):
        alone = load_preset(mode)
        assert set(alone.entities) <= set(union.entities)
        assert set(alone.workflows) <= set(union.workflows)
        assert set(alone.scorings) <= set(union.scorings)


@pytest.mark.parametrize("row", pairwise_cover([FAMILIES[m] for m in MODES]), ids="+".join)
def test_industries_of_different_modes_load_together(row: tuple[str, ...], tmp_path: Path) -> None:
    # the rows cover every pair of presets of two different modes (mode or industry), so a
    # database may hold any industry of one mode next to any industry of another
    assert validate_path(union_bundle(tmp_path, row)) == []
