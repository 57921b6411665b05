"""``relationship_closeness``: how close we are to an account and to each of its people.

Seed 002 (CRM 3.0 value assessment, figures 4 and 5): the first indicator of account
management is relationship closeness, assessed for the company as a whole and for
individuals. ``level: "individual"`` scores a contact (stakeholder) by its relationship
level (an enum mapped to points, or a number on a scale). ``level: "company"`` scores an
account by the influence-weighted average of its contacts' levels: weight = role weight ×
influence weight, ``Σ weight × level / Σ weight``, aggregated in SQL per account and role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.metadata import Label
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext

from . import _binding
from ._config import (
    NAME,
    POINTS_MAP,
    RULE,
    WEIGHT,
    bands,
    bands_schema,
    grade_for,
    strict,
    top_schema,
)
from ._rules import by_importance
from ._sql import as_float, clamp, mapped, number
from ._stats import unit

DEFAULT_GRADES = (
    {"grade": "close", "min": 75},
    {"grade": "good", "min": 50},
    {"grade": "weak", "min": 25},
    {"grade": "none", "min": 0},
)
_WEIGHTS = {"type": "object", "minProperties": 1, "additionalProperties": WEIGHT}

CONFIG_SCHEMA = top_schema(
    {
        "level": {"enum": ["company", "individual"], "default": "company"},
        "contacts": {**NAME, "description": "company level: the entity of the account's people"},
        "reference": {
            **NAME,
            "description": "company level: reference field of the contacts to the account",
        },
        "relationship": {**NAME, "description": "the field holding a person's relationship level"},
        "levels": {**POINTS_MAP, "description": "text levels to points 0-100"},
        "scale": strict(
            {"min": {"type": "number"}, "max": {"type": "number"}},
            ["min", "max"],
            description="numeric levels: min is 0 points, max 100",
        ),
        "missing_level": {"type": "number", "minimum": 0, "maximum": 100, "default": 0},
        "role": NAME,
        "role_weights": _WEIGHTS,
        "default_role_weight": {**WEIGHT, "default": 1},
        "influence": NAME,
        "influence_weights": {
            **_WEIGHTS,
            "description": "text influence to weights; a number field is its own weight",
        },
        "default_influence_weight": {**WEIGHT, "default": 1},
        "filter": RULE,
        "grades": bands_schema(default=DEFAULT_GRADES),
    },
    ["relationship"],
    oneOf=[{"required": ["levels"]}, {"required": ["scale"]}],
    **{
        "if": {"required": ["level"], "properties": {"level": {"const": "individual"}}},
        "then": {
            "not": {
                "anyOf": [
                    {"required": ["contacts"]},
                    {"required": ["reference"]},
                    {"required": ["filter"]},
                ]
            }
        },
        "else": {"required": ["contacts", "reference"]},
    },
)


@dataclass(frozen=True)
class _Bound:
    people: str
    relationship: _binding.Column
    role: _binding.Column | None
    influence: _binding.Column | None


def _bind(context: ScoringContext) -> _Bound:
    config = context.spec.config
    company = config.get("level", "company") == "company"
    people = config["contacts"] if company else context.spec.entity
    if company:
        _binding.entity(context, people, "/contacts")
        _binding.reference(context, people, config["reference"], context.spec.entity, "/reference")
        if "filter" in config:
            _binding.sql_filter(context, people, config["filter"], "/filter")
    kind = "text" if "levels" in config else "number"
    relationship = _binding.column(context, people, config["relationship"], "/relationship", kinds=(kind,))
    role = _binding.column(context, people, config["role"], "/role", kinds=("text",)) if "role" in config else None
    influence = (
        _binding.column(context, people, config["influence"], "/influence", kinds=("text", "number"))
        if "influence" in config
        else None
    )
    return _Bound(people, relationship, role, influence)


def level_points(config: Mapping[str, Any], value: Any) -> float:
    """A person's relationship level as points 0-100."""
    missing = float(config.get("missing_level", 0))
    if value is None:
        return missing
    if "levels" in config:
        return float(config["levels"].get(str(value), missing))
    scale = config["scale"]
    return 100.0 * unit(float(value), float(scale["min"]), float(scale["max"]))


def weight_of(config: Mapping[str, Any], role: Any, influence: Any) -> float:
    """How much a person counts: role weight × influence weight."""
    role_weight = float(config.get("default_role_weight", 1))
    if role is not None and str(role) in config.get("role_weights", {}):
        role_weight = float(config["role_weights"][str(role)])
    influence_weight = float(config.get("default_influence_weight", 1))
    if influence is not None:
        if isinstance(influence, str):
            influence_weight = float(config.get("influence_weights", {}).get(influence, influence_weight))
        else:
            influence_weight = float(influence)
    return role_weight * influence_weight


def _level_sql(config: Mapping[str, Any], column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    missing = float(config.get("missing_level", 0))
    if "levels" in config:
        return mapped(column, config["levels"], missing)
    low, high = float(config["scale"]["min"]), float(config["scale"]["max"])
    if high <= low:
        return sa.case((column.is_(None), number(missing)), else_=number(100.0))
    scaled = (as_float(column) - number(low)) * number(100.0 / (high - low))
    return sa.case((column.is_(None), number(missing)), else_=clamp(scaled, number(0.0), number(100.0)))


def _weight_sql(config: Mapping[str, Any], bound: _Bound) -> sa.ColumnElement[Any]:
    role: sa.ColumnElement[Any] = number(float(config.get("default_role_weight", 1)))
    if bound.role is not None:
        role = mapped(
            bound.role.column,
            config.get("role_weights", {}),
            float(config.get("default_role_weight", 1)),
        )
    default_influence = float(config.get("default_influence_weight", 1))
    influence: sa.ColumnElement[Any] = number(default_influence)
    if bound.influence is not None:
        column = bound.influence.column
        if bound.influence.kind == "text":
            influence = mapped(column, config.get("influence_weights", {}), default_influence)
        else:
            influence = sa.func.coalesce(as_float(column), number(default_influence))
    return role * influence


def _company(
    context: ScoringContext, bound: _Bound, ids: Sequence[int]
) -> dict[int, list[tuple[Any, float, float, int]]]:
    """``{account: [(role, Σ weight × level, Σ weight, people), ...]}``: GROUP BY account, role."""
    config = context.spec.config
    table = context.table(bound.people)
    key = table.c[config["reference"]]
    weight = _weight_sql(config, bound)
    level = _level_sql(config, bound.relationship.column)
    role = bound.role.column if bound.role is not None else sa.literal(None, sa.String())
    query = sa.select(key, role, sa.func.sum(weight * level), sa.func.sum(weight), sa.func.count())
    query = query.where(key.in_(list(ids)))
    if "filter" in config:
        query = query.where(_binding.sql_filter(context, bound.people, config["filter"], "/filter"))
    query = query.group_by(key, role) if bound.role is not None else query.group_by(key)
    out: dict[int, list[tuple[Any, float, float, int]]] = {}
    for account, found_role, weighted, weights, people in context.conn.execute(query):
        out.setdefault(int(account), []).append((found_role, float(weighted or 0), float(weights or 0), int(people)))
    return out


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """Company level: weighted average level of the account's people; individual level: the
    person's own level (and in ``extra`` the weight it carries in its company's figure)."""
    bound = _bind(context)
    config = context.spec.config
    grades = bands(config.get("grades"), DEFAULT_GRADES)
    out = []
    if config.get("level", "company") == "individual":
        for record in records:
            raw = record.get(bound.relationship.name)
            value = level_points(config, raw)
            role = record.get(bound.role.name) if bound.role else None
            weight = weight_of(config, role, record.get(bound.influence.name) if bound.influence else None)
            label = bound.relationship.choice_label(str(raw)) if raw is not None else Label("unknown", "未知")
            factor = Factor("relationship", value, bound.relationship.label, label.en)
            extra = {"relationship": raw, "weight": weight, "role": role}
            out.append(ScoreResult(int(record["id"]), value, grade_for(value, grades), (factor,), extra))
        return out
    groups = _company(context, bound, [int(r["id"]) for r in records])
    for record in records:
        record_id = int(record["id"])
        parts = groups.get(record_id, [])
        weights = sum(p[2] for p in parts)
        people = sum(p[3] for p in parts)
        value = sum(p[1] for p in parts) / weights if weights > 0 else 0.0
        factors = []
        for role, weighted, _weights, count in parts:
            name = str(role) if role is not None else "contacts"
            label = (
                bound.role.choice_label(str(role))
                if bound.role is not None and role is not None
                else Label("Contacts", "联系人")
            )
            factors.append(
                Factor(name, weighted / weights if weights > 0 else 0.0, label, Label(f"{count} people", f"{count} 人"))
            )
        extra = {"people": people, "weight": weights}
        out.append(ScoreResult(record_id, value, grade_for(value, grades), by_importance(factors), extra))
    return out


RELATIONSHIP_CLOSENESS = Scorer(
    name="relationship_closeness",
    label=Label("Relationship closeness", "关系紧密度"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    entities=("account", "contact", "stakeholder"),
    description=(
        "Company level: influence-weighted average relationship level of an account's contacts "
        "(role and influence weights, aggregated in SQL); individual level: each contact's own "
        "level (seed 002, figures 4 and 5)."
    ),
)
