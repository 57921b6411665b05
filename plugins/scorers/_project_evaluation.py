"""``project_evaluation`` (立项评估): pursue, review or drop a complex-sale project.

Seed 003 (complex-sale mode): projects are costly to pursue, so the decision to start one
(立项) needs a scientific basis: complete project information, a decision tree (决策树)
that covers the customer's key roles, and relationships with them (seed 002 adds the
completeness of decision-chain data as a control indicator). Three parts, each 0-100:

- checklist: the share of configured project fields that are filled;
- decision tree: the share of key roles identified among the project's stakeholders and
  the share of stakeholders whose relationship strength reaches a threshold (one SQL
  ``GROUP BY project, role`` over the stakeholder entity);
- competition: the competitive position (an enum) mapped to points.

Weighted into 0-100 and graded pursue / review / drop by thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    config_error,
    grade_for,
    strict,
    top_schema,
)
from ._rules import by_importance

DEFAULT_GRADES = (
    {"grade": "pursue", "min": 70},
    {"grade": "review", "min": 40},
    {"grade": "drop", "min": 0},
)

CONFIG_SCHEMA = top_schema(
    {
        "checklist": strict(
            {
                "fields": {"type": "array", "minItems": 1, "uniqueItems": True, "items": NAME},
                "weight": {**WEIGHT, "default": 1},
            },
            ["fields"],
        ),
        "decision_tree": strict(
            {
                "stakeholders": NAME,
                "reference": {
                    **NAME,
                    "description": "reference field of the stakeholders to the project",
                },
                "role": NAME,
                "key_roles": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string"},
                },
                "strength": NAME,
                "strong": {
                    "oneOf": [
                        strict({"min": {"type": "number"}}, ["min"]),
                        strict(
                            {
                                "values": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"type": "string"},
                                }
                            },
                            ["values"],
                        ),
                    ],
                    "description": "a strong relationship: a number at least min, or one of values",
                },
                "coverage_weight": {**WEIGHT, "default": 1},
                "strength_weight": {**WEIGHT, "default": 1},
                "filter": RULE,
                "weight": {**WEIGHT, "default": 1},
            },
            ["stakeholders", "reference", "role", "key_roles"],
            dependentRequired={"strength": ["strong"], "strong": ["strength"]},
        ),
        "competition": strict(
            {
                "field": NAME,
                "points": POINTS_MAP,
                "default_points": {"type": "number", "minimum": 0, "maximum": 100, "default": 0},
                "weight": {**WEIGHT, "default": 1},
            },
            ["field", "points"],
        ),
        "grades": bands_schema(default=DEFAULT_GRADES),
    },
    anyOf=[
        {"required": ["checklist"]},
        {"required": ["decision_tree"]},
        {"required": ["competition"]},
    ],
)

_LABELS = {
    "checklist": Label("Project information complete", "项目信息完整度"),
    "key_roles": Label("Key roles identified", "关键角色识别"),
    "relationship_strength": Label("Strong relationships", "关系强度"),
    "competition": Label("Competitive position", "竞争态势"),
}


def _bind(context: ScoringContext) -> None:
    config, scored = context.spec.config, context.spec.entity
    for i, name in enumerate(config.get("checklist", {}).get("fields", ())):
        _binding.column(context, scored, name, f"/checklist/fields/{i}")
    tree = config.get("decision_tree")
    if tree is not None:
        _binding.entity(context, tree["stakeholders"], "/decision_tree/stakeholders")
        _binding.reference(context, tree["stakeholders"], tree["reference"], scored, "/decision_tree/reference")
        _binding.column(context, tree["stakeholders"], tree["role"], "/decision_tree/role", kinds=("text",))
        if "strength" in tree:
            kind = "number" if "min" in tree["strong"] else "text"
            _binding.column(
                context,
                tree["stakeholders"],
                tree["strength"],
                "/decision_tree/strength",
                kinds=(kind,),
            )
        if "filter" in tree:
            _binding.sql_filter(context, tree["stakeholders"], tree["filter"], "/decision_tree/filter")
    competition = config.get("competition")
    if competition is not None:
        _binding.column(context, scored, competition["field"], "/competition/field", kinds=("text", "boolean"))
    if not any(config.get(k) for k in ("checklist", "decision_tree", "competition")):
        raise config_error("required", "configure at least one of checklist, decision_tree, competition", "")


def _stakeholders(context: ScoringContext, ids: Sequence[int]) -> dict[int, dict[Any, tuple[int, int]]]:
    """``{project: {role: (stakeholders, strong ones)}}`` from one GROUP BY project, role."""
    tree = context.spec.config["decision_tree"]
    table = context.table(tree["stakeholders"])
    key, role = table.c[tree["reference"]], table.c[tree["role"]]
    if "strength" in tree:
        strength = table.c[tree["strength"]]
        strong = tree["strong"]
        test = strength >= strong["min"] if "min" in strong else strength.in_(list(strong["values"]))
        strong_count: sa.ColumnElement[Any] = sa.func.sum(sa.case((test, 1), else_=0))
    else:
        strong_count = sa.literal(0)
    query = sa.select(key, role, sa.func.count(), strong_count).where(key.in_(list(ids))).group_by(key, role)
    if "filter" in tree:
        query = query.where(_binding.sql_filter(context, tree["stakeholders"], tree["filter"], "/decision_tree/filter"))
    out: dict[int, dict[Any, tuple[int, int]]] = {}
    for project, found_role, count, strong_found in context.conn.execute(query):
        out.setdefault(int(project), {})[found_role] = (int(count), int(strong_found or 0))
    return out


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, tuple, dict)):
        return len(value) > 0
    return True


def _points(competition: Mapping[str, Any], position: Any) -> float:
    default = float(competition.get("default_points", 0))
    if position is None:
        return default
    key = ("true" if position else "false") if isinstance(position, bool) else str(position)
    return float(competition["points"].get(key, default))


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """Checklist, decision-tree and competition points, weighted, and a recommendation."""
    _bind(context)
    config = context.spec.config
    grades = bands(config.get("grades"), DEFAULT_GRADES)
    checklist, tree, competition = (
        config.get("checklist"),
        config.get("decision_tree"),
        config.get("competition"),
    )
    weights = {
        "checklist": float(checklist.get("weight", 1)) if checklist else 0.0,
        "decision_tree": float(tree.get("weight", 1)) if tree else 0.0,
        "competition": float(competition.get("weight", 1)) if competition else 0.0,
    }
    total_weight = sum(weights.values()) or 1.0
    stakeholders = _stakeholders(context, [int(r["id"]) for r in records]) if tree else {}
    out = []
    for record in records:
        record_id = int(record["id"])
        factors: list[Factor] = []
        extra: dict[str, Any] = {}
        if checklist:
            _checklist(factors, extra, checklist, record, weights["checklist"], total_weight)
        if tree:
            roles = stakeholders.get(record_id, {})
            _decision_tree(factors, extra, tree, roles, weights["decision_tree"], total_weight)
        if competition:
            _competition(factors, extra, competition, record, weights["competition"], total_weight)
        value = sum(f.contribution for f in factors)
        out.append(ScoreResult(record_id, value, grade_for(value, grades), by_importance(factors), extra))
    return out


def _checklist(
    factors: list[Factor],
    extra: dict[str, Any],
    checklist: Mapping[str, Any],
    record: Mapping[str, Any],
    weight: float,
    total_weight: float,
) -> None:
    """The share of the checklist's fields that are filled."""
    missing = [name for name in checklist["fields"] if not _filled(record.get(name))]
    share = 1 - len(missing) / len(checklist["fields"])
    factors.append(
        Factor(
            "checklist",
            weight * 100 * share / total_weight,
            _LABELS["checklist"],
            "missing: " + ", ".join(missing) if missing else "complete",
        )
    )
    extra.update(checklist=share, missing_fields=missing)


def _decision_tree(
    factors: list[Factor],
    extra: dict[str, Any],
    tree: Mapping[str, Any],
    roles: Mapping[Any, tuple[int, int]],
    weight: float,
    total_weight: float,
) -> None:
    """Key roles found among the project's stakeholders, and how many relationships are strong."""
    count = sum(n for n, _ in roles.values())
    strong = sum(s for _, s in roles.values())
    found = [r for r in tree["key_roles"] if roles.get(r, (0, 0))[0] > 0]
    coverage = len(found) / len(tree["key_roles"])
    strength_share = strong / count if count else 0.0
    cw = float(tree.get("coverage_weight", 1))
    sw = float(tree.get("strength_weight", 1)) if "strength" in tree else 0.0
    parts = cw + sw or 1.0
    scale = weight * 100 / total_weight / parts
    missing_roles = [r for r in tree["key_roles"] if r not in found]
    factors.append(
        Factor(
            "key_roles",
            scale * cw * coverage,
            _LABELS["key_roles"],
            "missing: " + ", ".join(missing_roles) if missing_roles else "all identified",
        )
    )
    if "strength" in tree:
        factors.append(
            Factor(
                "relationship_strength",
                scale * sw * strength_share,
                _LABELS["relationship_strength"],
                f"{strong} of {count} stakeholders",
            )
        )
    extra.update(
        stakeholders=count,
        strong=strong,
        key_roles_found=found,
        key_roles_missing=missing_roles,
        coverage=coverage,
        strength_share=strength_share,
    )


def _competition(
    factors: list[Factor],
    extra: dict[str, Any],
    competition: Mapping[str, Any],
    record: Mapping[str, Any],
    weight: float,
    total_weight: float,
) -> None:
    """The competitive position mapped to points."""
    position = record.get(competition["field"])
    got = _points(competition, position)
    factors.append(
        Factor(
            "competition",
            weight * got / total_weight,
            _LABELS["competition"],
            f"{position if position is not None else 'unknown'} → {got:g} points",
        )
    )
    extra["competition"] = position


def sources(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The stakeholders the decision tree reads, and their reference to the project."""
    tree = config.get("decision_tree")
    if not isinstance(tree, Mapping):
        return []
    return [(str(tree["stakeholders"]), str(tree["reference"]))]


PROJECT_EVALUATION = Scorer(
    name="project_evaluation",
    label=Label("Project evaluation (go / no go)", "立项评估"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    entities=("project", "opportunity"),
    description=(
        "Checklist completeness, decision-tree coverage of key roles and relationship strength "
        "(aggregated in SQL from stakeholders) and competitive position, weighted into 0-100 "
        "and graded pursue / review / drop (seed 003, complex sale)."
    ),
    sources=sources,
)
