"""Every preset migrates a fresh SQLite and PostgreSQL database and stores the definitions
it was given (the stored form reads back to the same digest); more modes and industry
variants migrate a database without losing data."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.metadata import definitions_digest, load_definitions
from engine.presets import MODES
from engine.runtime import CrmEngine
from tests.presets.presets_support import PRESETS, VARIANTS, PresetEngines, load_preset, union_bundle
from tests.support import SYSTEM, acting_for


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_applies(preset: str, backend: str, preset_engines: PresetEngines) -> None:
    engine = preset_engines(preset, backend)
    definitions = load_preset(preset)
    assert definitions_digest(engine.model.definitions) == definitions_digest(definitions)
    with engine.db.read() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert set(definitions.entities) <= tables


@pytest.mark.parametrize("variant", [v for m in MODES for v in VARIANTS[m]])
def test_switching_a_mode_to_its_industry_keeps_the_data(variant: str, preset_engines: PresetEngines) -> None:
    mode = next(m for m in MODES if variant.startswith(m + "_"))
    plan = preset_engines(mode, "sqlite").plan(load_preset(variant))
    assert plan.has_changes
    assert [s.to_json() for s in plan.destructive] == [] and [s.to_json() for s in plan.blocking] == []


def test_a_database_takes_more_modes_then_industries(tmp_path: Path) -> None:
    # what `crm preset load` does over time: each load migrates the database to the union of
    # the presets loaded so far (new tables, and new fields and indexes on core's tables),
    # and an industry replaces its mode; nothing is dropped and the records stay
    engine = CrmEngine(f"sqlite:///{tmp_path / 'crm.db'}")
    engine.apply(load_preset("standard_product"))
    account = engine.records.create("account", {"name": "上海汽车集团"}, actor=acting_for("rita"))
    industries = [VARIANTS[m][0] for m in MODES]
    for loaded in (list(MODES), industries):
        _version, plan = engine.apply(load_definitions(union_bundle(tmp_path, loaded)))
        assert plan.has_changes and plan.destructive == ()
    assert engine.records.get("account", account["id"], actor=SYSTEM)["name"] == "上海汽车集团"
    assert set(industries) <= set(engine.model.definitions.bundles)
    engine.close()
