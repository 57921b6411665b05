"""``lead_grade``: fit × engagement, as a grade like ``A1`` and a value 0-100.

Seed 001 (SMB customers): many leads, short cycles, one or two decision makers; reps must
know which leads to call first. Fit says whether the lead is the kind of customer we win
(profile rules with points, graded A-D); engagement says whether it is warm now (activity
count in a window and recency of the last activity, aggregated in SQL from the related
activity entity, levels 1-4, 1 the warmest). ``A1`` is a good fit that is active now;
``D4`` neither.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.compile import SqlBool
from engine.metadata import Label
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext

from . import _binding
from ._config import (
    NAME,
    POSITIVE,
    RULE,
    WEIGHT,
    Band,
    bands,
    bands_schema,
    grade_for,
    strict,
    top_schema,
)
from ._rules import RULES_SCHEMA, WeightedRule, bind_rules, by_importance, match
from ._weighted_rules import limit

DEFAULT_FIT_GRADES = (
    {"grade": "A", "min": 75},
    {"grade": "B", "min": 50},
    {"grade": "C", "min": 25},
    {"grade": "D", "min": 0},
)
DEFAULT_LEVELS = (
    {"level": 1, "min": 75},
    {"level": 2, "min": 50},
    {"level": 3, "min": 25},
    {"level": 4, "min": 0},
)
DEFAULTS: Mapping[str, Any] = {
    "window_days": 90,
    "target_count": 10,
    "half_life_days": 14,
    "count_weight": 0.5,
    "recency_weight": 0.5,
}

CONFIG_SCHEMA = top_schema(
    {
        "fit": strict(
            {"rules": RULES_SCHEMA, "grades": bands_schema(default=DEFAULT_FIT_GRADES)},
            ["rules"],
            description="profile rules; their points (capped to 0-100) are the fit value",
        ),
        "engagement": strict(
            {
                "activities": NAME,
                "reference": NAME,
                "date": NAME,
                "filter": RULE,
                "window_days": {**POSITIVE, "default": 90},
                "target_count": {**POSITIVE, "default": 10},
                "half_life_days": {**POSITIVE, "default": 14},
                "count_weight": {**WEIGHT, "default": 0.5},
                "recency_weight": {**WEIGHT, "default": 0.5},
                "levels": bands_schema("level", default=DEFAULT_LEVELS),
            },
            ["activities", "reference", "date"],
        ),
        "weights": strict(
            {"fit": {**WEIGHT, "default": 0.5}, "engagement": {**WEIGHT, "default": 0.5}},
            default={"fit": 0.5, "engagement": 0.5},
        ),
    },
    ["fit", "engagement"],
)


@dataclass(frozen=True)
class _Bound:
    rules: tuple[WeightedRule, ...]
    fit_grades: tuple[Band, ...]
    levels: tuple[Band, ...]
    settings: Mapping[str, Any]
    fit_weight: float
    engagement_weight: float


def _bind(context: ScoringContext) -> _Bound:
    config = context.spec.config
    engagement = config["engagement"]
    settings = {**DEFAULTS, **engagement}
    _binding.entity(context, engagement["activities"], "/engagement/activities")
    _binding.reference(
        context,
        engagement["activities"],
        engagement["reference"],
        context.spec.entity,
        "/engagement/reference",
    )
    _binding.column(
        context,
        engagement["activities"],
        engagement["date"],
        "/engagement/date",
        kinds=("date", "datetime"),
    )
    if "filter" in engagement:
        _binding.sql_filter(context, engagement["activities"], engagement["filter"], "/engagement/filter")
    weights = config.get("weights", {})
    fit_weight, engagement_weight = (
        float(weights.get("fit", 0.5)),
        float(weights.get("engagement", 0.5)),
    )
    if fit_weight + engagement_weight <= 0:
        fit_weight = engagement_weight = 0.5
    total = fit_weight + engagement_weight
    return _Bound(
        bind_rules(config["fit"]["rules"], "/fit/rules"),
        bands(config["fit"].get("grades"), DEFAULT_FIT_GRADES),
        bands(engagement.get("levels"), DEFAULT_LEVELS, key="level"),
        settings,
        fit_weight / total,
        engagement_weight / total,
    )


def _activity(context: ScoringContext, ids: Sequence[int]) -> dict[int, tuple[int, Any]]:
    """``{lead id: (activities in the window, date of the last activity)}``, one GROUP BY."""
    engagement = context.spec.config["engagement"]
    table = context.table(engagement["activities"])
    key, when = table.c[engagement["reference"]], table.c[engagement["date"]]
    start = _now(context) - timedelta(days=float(engagement.get("window_days", 90)))
    kind = _binding.column(context, engagement["activities"], engagement["date"], "/engagement/date").kind
    since: date | datetime = start.date() if kind == "date" else start
    recent = sa.func.count(sa.case((when >= since, 1)))
    query = sa.select(key, recent, sa.func.max(when)).where(key.in_(list(ids))).group_by(key)
    if "filter" in engagement:
        condition: SqlBool = _binding.sql_filter(
            context, engagement["activities"], engagement["filter"], "/engagement/filter"
        )
        query = query.where(condition)
    return {int(row[0]): (int(row[1]), row[2]) for row in context.conn.execute(query)}


def _now(context: ScoringContext) -> datetime:
    now = context.now
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def days_since(value: date | datetime | None, now: datetime) -> float | None:
    """Days from ``value`` to ``now``, never negative: whole days for a date (so a grade
    stays the same all day), exact for a datetime."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        today = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(UTC).date()
        return float(max((today - value).days, 0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return max((now - value).total_seconds() / 86400.0, 0.0)


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """Grade each lead ``<fit grade><engagement level>`` with a weighted value 0-100."""
    bound = _bind(context)
    settings = bound.settings
    now = _now(context)
    activity = _activity(context, [int(r["id"]) for r in records])
    weights = float(settings["count_weight"]) + float(settings["recency_weight"]) or 1.0
    count_share, recency_share = (
        float(settings["count_weight"]) / weights,
        float(settings["recency_weight"]) / weights,
    )
    out = []
    for record in records:
        found = match(bound.rules, record, context.now)
        fit = limit(found.total, 0, 100)
        count, last = activity.get(int(record["id"]), (0, None))
        count_points = min(count / float(settings["target_count"]), 1.0) * 100
        age = days_since(last, now)
        recency_points = 0.0 if age is None else 100 * math.pow(0.5, age / float(settings["half_life_days"]))
        engagement = count_share * count_points + recency_share * recency_points
        value = bound.fit_weight * fit + bound.engagement_weight * engagement
        fit_grade = grade_for(fit, bound.fit_grades) or bound.fit_grades[-1].grade
        level = grade_for(engagement, bound.levels) or bound.levels[-1].grade
        factors = [Factor(f.name, bound.fit_weight * f.contribution, f.label, fields=f.fields) for f in found.factors]
        factors.append(
            Factor(
                "activity_count",
                bound.engagement_weight * count_share * count_points,
                Label("Recent activities", "近期活动数"),
                Label(f"{count} in {settings['window_days']} days", f"{settings['window_days']} 天内 {count} 次"),
                fields=(),
            )
        )
        factors.append(
            Factor(
                "activity_recency",
                bound.engagement_weight * recency_share * recency_points,
                Label("Last activity", "最近一次活动"),
                Label("none", "无") if age is None else Label(f"{age:.1f} days ago", f"{age:.1f} 天前"),
                fields=(),
            )
        )
        extra: dict[str, Any] = {
            "fit": fit,
            "fit_grade": fit_grade,
            "engagement": engagement,
            "engagement_level": level,
            "activities": count,
            "days_since_activity": age,
        }
        if found.errors:
            extra["errors"] = list(found.errors)
        out.append(ScoreResult(int(record["id"]), value, f"{fit_grade}{level}", by_importance(factors), extra))
    return out


LEAD_GRADE = Scorer(
    name="lead_grade",
    label=Label("Lead grade (fit × engagement)", "线索分级(匹配度×活跃度)"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    entities=("lead",),
    description=(
        "Fit from profile rules (A-D) times engagement from related activities counted in SQL "
        "(1-4, 1 the warmest): grades A1..D4 and a weighted value 0-100 (seed 001, SMB leads)."
    ),
)
