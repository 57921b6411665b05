"""Weighted criteria normalized to 0-100: what customer_tier and key_account_value share.

A criterion reads one value per record (a field, a field through references, or an SQL
aggregate of related rows, see ``_sources``) and turns it into points 0-100: text values
through a ``points`` map, numbers by min-max over the population (or a fixed ``range``) or
by z-score (``100 × Φ(z)``), reversed for "lower is better"; a population in which every
record has the same value gives each the neutral 50 points. The composite is
``Σ weight × points / Σ weight``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.scoring import Factor, ScoringContext

from . import _sources
from ._config import LABEL, NAME, POINTS_MAP, WEIGHT, config_error, label_of, strict
from ._sources import ONE_SOURCE, SOURCE_PROPERTIES, Source, Spread
from ._stats import normal_cdf, unit

Normalization = Literal["minmax", "zscore"]


def criterion_schema(*, normalizations: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": NAME,
        "label": LABEL,
        **SOURCE_PROPERTIES,
        "weight": {**WEIGHT, "default": 1},
        "direction": {
            "enum": ["higher", "lower"],
            "default": "higher",
            "description": "which values are better",
        },
        "points": {
            **POINTS_MAP,
            "description": "text values to points 0-100; others get default_points",
        },
        "default_points": {"type": "number", "minimum": 0, "maximum": 100, "default": 0},
        "range": strict(
            {"min": {"type": "number"}, "max": {"type": "number"}},
            ["min", "max"],
            description="fixed min-max range instead of the population's",
        ),
    }
    if normalizations:
        properties["normalization"] = {"enum": ["minmax", "zscore"]}
    return {**strict(properties, ["name"]), **ONE_SOURCE}


@dataclass(frozen=True)
class Criterion:
    source: Source
    weight: float
    lower_is_better: bool
    points: Mapping[str, float] | None
    default_points: float
    fixed_range: tuple[float, float] | None
    normalization: Normalization


def bind(
    context: ScoringContext,
    items: Sequence[Mapping[str, Any]],
    pointer: str,
    *,
    normalization: Normalization = "minmax",
) -> tuple[Criterion, ...]:
    """Bind each criterion's source; a ``points`` map needs a text field, others a number."""
    out = []
    names: set[str] = set()
    for i, item in enumerate(items):
        at = f"{pointer}/{i}"
        if item["name"] in names:
            raise config_error("duplicate_name", f'two criteria are called "{item["name"]}"', at + "/name")
        names.add(item["name"])
        has_points = "points" in item
        source = _sources.bind(
            context,
            context.spec.entity,
            item,
            at,
            name=item["name"],
            label=label_of(item["label"], item["name"]) if "label" in item else None,
            kinds=("text", "boolean") if has_points else ("number",),
        )
        fixed = item.get("range")
        out.append(
            Criterion(
                source,
                float(item.get("weight", 1)),
                item.get("direction", "higher") == "lower",
                {str(k): float(v) for k, v in item["points"].items()} if has_points else None,
                float(item.get("default_points", 0)),
                (float(fixed["min"]), float(fixed["max"])) if fixed else None,
                item.get("normalization", normalization),
            )
        )
    return tuple(out)


def points(criterion: Criterion, value: Any, spread: Spread | None) -> float:
    """The criterion's points 0-100 for ``value`` (0 when the value is missing)."""
    if criterion.points is not None:
        if value is None:
            return criterion.default_points
        key = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return criterion.points.get(key, criterion.default_points)
    if value is None:
        return 0.0
    number = float(value)
    if criterion.fixed_range is not None:
        share = unit(number, *criterion.fixed_range)
    elif criterion.normalization == "zscore":
        if spread is None or not spread.std:
            share = 0.5
        else:
            assert spread.mean is not None
            share = normal_cdf((number - spread.mean) / spread.std)
    else:
        low = spread.low if spread is not None and spread.low is not None else number
        high = spread.high if spread is not None and spread.high is not None else number
        # every record alike on this criterion (all without overdue receivables, say): it
        # tells them apart in nothing, so each gets the same neutral half, whichever way is
        # better, as the z-score does; never 0 for being as good as everyone else
        share = 0.5 if high <= low else unit(number, low, high)
    return 100.0 * ((1.0 - share) if criterion.lower_is_better else share)


def spread_of(spreads: Sequence[Mapping[str, Any] | None], i: int) -> Spread | None:
    found = spreads[i] if i < len(spreads) else None
    return Spread(**found) if found is not None else None


def composite(
    criteria: Sequence[Criterion], row: Sequence[Any], spreads: Sequence[Mapping[str, Any] | None]
) -> tuple[float, list[Factor], dict[str, Any]]:
    """The weighted value 0-100 of one record, its factors and each criterion's figures."""
    total_weight = sum(c.weight for c in criteria) or 1.0
    value = 0.0
    factors: list[Factor] = []
    figures: dict[str, Any] = {}
    for i, criterion in enumerate(criteria):
        raw = row[i]
        got = points(criterion, raw, spread_of(spreads, i))
        part = criterion.weight * got / total_weight
        value += part
        detail = "missing" if raw is None else f"{_show(raw)} → {got:.1f} points"
        factors.append(Factor(criterion.source.name, part, criterion.source.label, detail, criterion.source.fields))
        figures[criterion.source.name] = {"value": _json(raw), "points": got}
    return value, factors, figures


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def population(
    context: ScoringContext, criteria: Sequence[Criterion], *, where: Any = None
) -> list[dict[str, Any] | None]:
    """Population figures (as JSON) of the criteria normalized over the population; None
    for the others. One SQL query over every record (passing ``where``)."""
    wanted = [i for i, c in enumerate(criteria) if c.points is None and c.fixed_range is None]
    out: list[dict[str, Any] | None] = [None] * len(criteria)
    if not wanted:
        return out
    found = _sources.spreads(context, context.spec.entity, [criteria[i].source for i in wanted], where=where)
    for i, spread in zip(wanted, found, strict=True):
        out[i] = {
            "count": spread.count,
            "low": spread.low,
            "high": spread.high,
            "mean": spread.mean,
            "std": spread.std,
        }
    return out
