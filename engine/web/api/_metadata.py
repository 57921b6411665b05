"""``/health`` and the live definitions: ``/entities``, ``/workflows``, ``/scorings``, ``/presets``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response

from engine.presets import MODES, catalog, installed_presets

from .._requests import check_params
from .._responses import json_response
from .._state import current_engine
from .._users import current_user
from . import _lookup
from ._metadata_json import entity_json, entity_summary, scoring_json, workflow_json


def health() -> Response:
    """The database answers, and which definitions version this process serves."""
    engine = current_engine()
    check_params(())
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


def list_entities() -> Response:
    engine = current_engine()
    check_params(())
    entities = engine.model.definitions.entities.values() if engine.has_definitions else ()
    return json_response({"version": engine.version, "items": [entity_summary(e) for e in entities]})


def get_entity(name: str) -> Response:
    engine = current_engine()
    check_params(())
    # the fields hidden from the caller are not described either
    entity = engine.permissions.visible_entity(current_user(), _lookup.entity(engine, name))
    return json_response({"version": engine.version, **entity_json(entity, engine.model.definitions)})


def list_workflows() -> Response:
    engine = current_engine()
    check_params(())
    entities = engine.model.definitions.entities if engine.has_definitions else {}
    # as the caller may see them: no hidden fields, no guard that reads one
    views = [v for name in entities for v in engine.workflows.views(name, current_user())]
    return json_response({"version": engine.version, "items": [workflow_json(v) for v in views]})


def list_scorings() -> Response:
    engine = current_engine()
    check_params(())
    scorings = engine.model.definitions.scorings.values() if engine.has_definitions else ()
    return json_response({"version": engine.version, "items": [scoring_json(s) for s in scorings]})


def list_presets() -> Response:
    """The presets that ship with the engine (core, the modes and their industries), and
    which are loaded into this database."""
    engine = current_engine()
    check_params(())
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
    ("/entities/<name>", get_entity, ("GET",)),
    ("/workflows", list_workflows, ("GET",)),
    ("/scorings", list_scorings, ("GET",)),
    ("/presets", list_presets, ("GET",)),
)
