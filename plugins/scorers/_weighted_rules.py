"""``weighted_rules``: points for each JSON Logic rule a record matches, capped, graded,
optionally decayed by the age of a date.

The general lead or account score every CRM has (seed 001: lead quality "from chosen
dimensions"): admins write the dimensions as rules and weigh them with points. Rules that
stay inside the SQL subset compile to one expression (:func:`weighted_rules_sql`) so the
service can score a million records with one ``UPDATE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engine.compile import condition_sql
from engine.metadata import Label
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext, ScoringSpec

from . import _binding
from ._config import NAME, POSITIVE, Band, bands, bands_schema, grade_for, strict, top_schema
from ._rules import RULES_SCHEMA, WeightedRule, bind_rules, by_importance, match
from ._sql import clamp, number

DEFAULT_CAP = {"min": 0, "max": 100}
DEFAULT_GRADES = (
    {"grade": "A", "min": 80},
    {"grade": "B", "min": 60},
    {"grade": "C", "min": 40},
    {"grade": "D", "min": 0},
)

CAP_SCHEMA: dict[str, Any] = strict(
    {"min": {"type": "number", "default": 0}, "max": {"type": "number", "default": 100}},
    description="the total is limited to [min, max]; null turns the limit off",
    default=DEFAULT_CAP,
)
CONFIG_SCHEMA = top_schema(
    {
        "rules": RULES_SCHEMA,
        "cap": {"oneOf": [CAP_SCHEMA, {"type": "null"}], "default": DEFAULT_CAP},
        "grades": bands_schema(default=DEFAULT_GRADES),
        "decay": strict(
            {"field": NAME, "half_life_days": POSITIVE},
            ["field", "half_life_days"],
            description="total × 0.5^(days from the date field to now / half_life_days)",
        ),
    },
    ["rules"],
)


@dataclass(frozen=True)
class _Bound:
    rules: tuple[WeightedRule, ...]
    low: float | None
    high: float | None
    grades: tuple[Band, ...]
    decay_field: str | None
    half_life: float


def _bind(context: ScoringContext) -> _Bound:
    config = context.spec.config
    rules = bind_rules(config["rules"], "/rules")
    low, high = _cap(config)
    decay = config.get("decay")
    if decay is not None:
        _binding.column(context, context.spec.entity, decay["field"], "/decay/field", kinds=("date", "datetime"))
    return _Bound(
        rules,
        low,
        high,
        bands(config.get("grades"), DEFAULT_GRADES),
        decay["field"] if decay else None,
        float(decay["half_life_days"]) if decay else 1.0,
    )


def _cap(config: Mapping[str, Any]) -> tuple[float | None, float | None]:
    cap = config.get("cap", DEFAULT_CAP)
    if cap is None:
        return None, None
    return cap.get("min", 0), cap.get("max", 100)


def limit(value: float, low: float | None, high: float | None) -> float:
    if low is not None and value < low:
        return float(low)
    if high is not None and value > high:
        return float(high)
    return value


def decay_factor(value: Any, now: datetime, half_life_days: float) -> float | None:
    """0.5 ** (age / half-life) for a date or datetime ``value``; None when it is null.

    A date's age is whole days (today's UTC date minus the date), so a score decayed by a
    date field stays the same all day and a rerun rewrites nothing; a datetime's age is
    exact to the second."""
    if value is None:
        return None
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if not isinstance(value, datetime) and isinstance(value, date):
        age = float(max((now.astimezone(UTC).date() - value).days, 0))
        return float(0.5 ** (age / half_life_days))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    age = max((now - value).total_seconds() / 86400.0, 0.0)
    return float(0.5 ** (age / half_life_days))


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """Score each record: Σ points of the rules it matches, decayed, capped, graded."""
    bound = _bind(context)
    out = []
    for record in records:
        found = match(bound.rules, record, context.now)
        total = found.total
        factors = list(found.factors)
        extra: dict[str, Any] = {"points": total}
        if bound.decay_field is not None:
            factor = decay_factor(record.get(bound.decay_field), context.now, bound.half_life)
            if factor is not None and total:
                decayed = total * factor
                factors.append(
                    Factor(
                        "decay",
                        decayed - total,
                        Label("Decay by age", "随时间衰减"),
                        f"×{factor:.4f}",
                        fields=(bound.decay_field,),
                    )
                )
                total = decayed
            extra["decay"] = factor
        value = limit(total, bound.low, bound.high)
        if found.errors:
            extra["errors"] = list(found.errors)
        out.append(
            ScoreResult(
                int(record["id"]),
                value,
                grade_for(value, bound.grades),
                by_importance(factors),
                extra,
            )
        )
    return out


def weighted_rules_sql(spec: ScoringSpec, table: sa.Table) -> ColumnElement[float] | None:
    """The score of a ``weighted_rules`` scoring as one SQL expression over ``table``.

    ``Σ CASE WHEN <rule> THEN <points> ELSE 0 END``, limited to the cap, for
    ``UPDATE table SET score = <expression>`` over any number of rows in one statement. It
    gives the same value as :func:`score_batch` for every row. None when a rule is outside
    the SQL subset (see ``plugins.scorers._sql``: comparisons of ``record.FIELD`` with
    literals, ``in``, ``and``, ``or``, ``!``) or when ``decay`` is configured (the age of a
    date needs date arithmetic, which differs between databases).
    """
    config = spec.config
    if config.get("decay") is not None:
        return None
    terms: list[ColumnElement[Any]] = []
    ceiling = floor = 0.0
    for item in config["rules"]:
        condition = condition_sql(item["when"], table)
        if condition is None:
            return None
        points = item["points"]
        terms.append(sa.case((condition, number(points)), else_=number(0)))
        ceiling += max(points, 0)
        floor += min(points, 0)
    total: ColumnElement[Any] = sa.cast(sum(terms[1:], terms[0]), sa.Float()) if terms else number(0.0)
    low, high = _cap(config)
    # a limit the points can never reach need not be written (nor evaluated per row)
    if low is not None and floor >= low:
        low = None
    if high is not None and ceiling <= high:
        high = None
    if low is None and high is None:
        return total
    return clamp(
        total,
        number(float(low if low is not None else floor)),
        number(float(high if high is not None else ceiling)),
    )


def compile_sql(spec: ScoringSpec, table: sa.Table) -> tuple[ColumnElement[float], ColumnElement[str] | None] | None:
    """``(value, grade)`` expressions for a set-based run (``Scorer.compile_sql``), or None
    when :func:`weighted_rules_sql` is None."""
    value = weighted_rules_sql(spec, table)
    if value is None:
        return None
    return value, bands_sql(value, bands(spec.config.get("grades"), DEFAULT_GRADES))


def bands_sql(value: ColumnElement[Any], table: Sequence[Band]) -> ColumnElement[str]:
    """``CASE WHEN value >= min THEN grade ... END``: the grade of :func:`grade_for` in SQL
    (null below every band)."""
    return sa.case(
        *((value >= number(band.min), sa.literal(band.grade, sa.String())) for band in table),
        else_=sa.null(),
    )


WEIGHTED_RULES = Scorer(
    name="weighted_rules",
    label=Label("Weighted rules", "规则加权评分"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    compile_sql=compile_sql,
    description=(
        "Points for each JSON Logic rule a record matches, summed, optionally decayed by the "
        "age of a date field, capped and graded by bands. Rules that only compare fields with "
        "literals also compile to one SQL expression for bulk rescoring."
    ),
)
