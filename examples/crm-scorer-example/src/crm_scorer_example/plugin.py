"""Urgency of a service request: how long it has waited, weighted by the customer's tier.

A complete third-party scorer: a config schema (validated when admins apply their
definitions), a batch function (many records in, results with explanations out), and the
``crm_register_scorers`` hook that hands it to the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.hooks import hookimpl
from engine.metadata import Label
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["opened_field"],
    "properties": {
        "opened_field": {"type": "string", "description": "datetime field: when the request was opened"},
        "tier_field": {"type": "string", "description": "enum field with the customer's tier"},
        "tier_weights": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "hours_to_max": {"type": "number", "exclusiveMinimum": 0, "default": 72},
        "grades": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["grade", "min"],
                "additionalProperties": False,
                "properties": {"grade": {"type": "string"}, "min": {"type": "number"}},
            },
        },
    },
}


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    config = context.spec.config
    hours_to_max = float(config.get("hours_to_max", 72))
    weights = config.get("tier_weights", {})
    grades = sorted(config.get("grades", []), key=lambda g: g["min"], reverse=True)
    results = []
    for record in records:
        opened: datetime | None = record.get(config["opened_field"])
        waited = 0.0 if opened is None else max((context.now - opened).total_seconds() / 3600, 0.0)
        wait_points = min(waited / hours_to_max, 1.0) * 100
        tier = record.get(config.get("tier_field", "")) if config.get("tier_field") else None
        weight = float(weights.get(tier, 1.0)) if tier is not None else 1.0
        value = min(wait_points * weight, 100.0)
        grade = next((g["grade"] for g in grades if value >= g["min"]), None)
        factors = [Factor("waiting", wait_points, Label("Hours waiting", "等待时长"), f"{waited:.1f} h")]
        if tier is not None:
            label = Label("Customer tier", "客户等级")
            factors.append(Factor("tier", value - wait_points, label, f"{tier} ×{weight:g}"))
        factors.sort(key=lambda f: abs(f.contribution), reverse=True)
        details = {"hours_waiting": round(waited, 2)}
        results.append(ScoreResult(record["id"], round(value, 2), grade, tuple(factors), details))
    return results


URGENCY = Scorer(
    name="request_urgency",
    label=Label("Request urgency", "服务请求紧急度"),
    entities=("service_request",),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    description="How urgent a service request is: hours waiting, weighted by the customer's tier.",
)


@hookimpl
def crm_register_scorers() -> list[Scorer]:
    return [URGENCY]
