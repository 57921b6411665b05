"""``/health`` and the live definitions: ``/entities``, ``/workflows``, ``/scorings``, ``/presets``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response

from engine.metadata import EntityDef
from engine.presets import MODES, catalog, installed_presets
from engine.runtime import CrmEngine

from .._responses import json_response
from .._users import current_user
from ._lookup import resolved
from ._metadata_json import entity_json, entity_summary, scoring_json, workflow_json


@resolved()
def health(engine: CrmEngine) -> Response:
    """The database answers, and which definitions version this process serves."""
    with engine.db.read() as conn:
        conn.execute(sa.text("SELECT 1"))
    return json_response(
        {
            "status": "ok",
            "database": "ok",
            "dialect": engine.db.dialect,
            "definitions_version": engine.version,
            "definitions": engine.model.definitions.name if engine.has_definitions else None,
        }
    )


@resolved()
def list_entities(engine: CrmEngine) -> Response:
    entities = engine.model.definitions.entities.values() if engine.has_definitions else ()
    return json_response({"version": engine.version, "items": [entity_summary(e) for e in entities]})


@resolved()
def get_entity(engine: CrmEngine, entity: EntityDef) -> Response:
    # the fields hidden from the caller are not described either
    visible = engine.permissions.visible_entity(current_user(), entity)
    return json_response({"version": engine.version, **entity_json(visible, engine.model.definitions)})


@resolved()
def list_workflows(engine: CrmEngine) -> Response:
    entities = engine.model.definitions.entities if engine.has_definitions else {}
    # as the caller may see them: no hidden fields, no guard that reads one
    views = [v for name in entities for v in engine.workflows.views(name, current_user())]
    return json_response({"version": engine.version, "items": [workflow_json(v) for v in views]})


@resolved()
def list_scorings(engine: CrmEngine) -> Response:
    scorings = engine.model.definitions.scorings.values() if engine.has_definitions else ()
    return json_response({"version": engine.version, "items": [scoring_json(s) for s in scorings]})


@resolved()
def list_presets(engine: CrmEngine) -> Response:
    """The presets that ship with the engine (core, the modes and their industries), and
    which are loaded into this database."""
    presets = catalog()
    shown = ([presets["core"]] if "core" in presets else []) + [presets[m] for m in MODES if m in presets]
    loaded = installed_presets(engine)
    return json_response(
        {
            "items": [p.to_json() for p in shown],
            "installed": [{"mode": mode, "preset": bundle} for mode, bundle in loaded.items()],
        }
    )


ROUTES = (
    ("/health", health, ("GET",)),
    ("/entities", list_entities, ("GET",)),
    ("/entities/<entity>", get_entity, ("GET",)),
    ("/workflows", list_workflows, ("GET",)),
    ("/scorings", list_scorings, ("GET",)),
    ("/presets", list_presets, ("GET",)),
)
