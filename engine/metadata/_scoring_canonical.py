"""Scorings in the canonical stored form: each one a scoring document with only
non-default keys, in a stable order, that reads back into an equal scoring."""

from __future__ import annotations

import copy
from typing import Any

from engine.metadata._names import derive_label
from engine.metadata._scoring_model import ScoringDef
from engine.metadata._scorings import DEFAULT_TRIGGERS

SCHEMA_VERSION = 1


def scoring_to_json(scoring: ScoringDef) -> dict[str, Any]:
    """One scoring as a scoring document with only non-default keys."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "scoring",
        "name": scoring.name,
        "entity": scoring.entity,
        "scorer": scoring.scorer,
    }
    if scoring.label != derive_label(scoring.name):
        out["label"] = scoring.label.to_json()
    if scoring.config:
        out["config"] = copy.deepcopy(dict(scoring.config))
    target = {
        key: value
        for key, value in (("value", scoring.target_value), ("grade", scoring.target_grade))
        if value is not None
    }
    if target:
        out["target"] = target
    if scoring.triggers != DEFAULT_TRIGGERS:
        out["triggers"] = list(scoring.triggers)
    return out
