"""``customer_tier``: S / A / B / C from weighted criteria.

Seed 004 (Huawei's customer relationship process, MCR): customers are tiered S (strategic),
A (partner), B and C, and the tier decides how much resource a customer gets. The tier
comes from customer insight: the customer's position in its industry and its growth, and
its value to us: per-capita sales contribution and per-capita profit contribution. Top
customers of an industry are preferred because they rarely die, so industry position is
usually an enum worth many points. Each criterion is a field (or a related aggregate),
normalized over the population or over a fixed range, weighted into 0-100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.metadata import Label
from engine.scoring import Scorer, ScoreResult, ScoringContext

from . import _criteria, _sources
from ._config import bands, bands_schema, grade_for, prepared, top_schema
from ._rules import by_importance

DEFAULT_TIERS = (
    {"tier": "S", "min": 80},
    {"tier": "A", "min": 60},
    {"tier": "B", "min": 40},
    {"tier": "C", "min": 0},
)

CONFIG_SCHEMA = top_schema(
    {
        "criteria": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": _criteria.criterion_schema(normalizations=False),
        },
        "tiers": bands_schema("tier", default=DEFAULT_TIERS),
    },
    ["criteria"],
)


def _bind(context: ScoringContext) -> tuple[_criteria.Criterion, ...]:
    return _criteria.bind(context, context.spec.config["criteria"], "/criteria")


def prepare(context: ScoringContext) -> dict[str, Any]:
    """Minimum and maximum of each number criterion over every record (one SQL query)."""
    return {"spreads": _criteria.population(context, _bind(context))}


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """Weighted criteria points 0-100 and the tier of the first band the value reaches."""
    criteria = _bind(context)
    state = prepared(context, prepare)
    tiers = bands(context.spec.config.get("tiers"), DEFAULT_TIERS, key="tier")
    ids = [int(r["id"]) for r in records]
    rows = _sources.values(context, context.spec.entity, [c.source for c in criteria], ids=ids)
    out = []
    for record_id in ids:
        row = rows.get(record_id, (None,) * len(criteria))
        value, factors, figures = _criteria.composite(criteria, row, state["spreads"])
        out.append(
            ScoreResult(
                record_id,
                value,
                grade_for(value, tiers),
                by_importance(factors),
                {"criteria": figures},
            )
        )
    return out


CUSTOMER_TIER = Scorer(
    name="customer_tier",
    label=Label("Customer tier (S/A/B/C)", "客户分级(S/A/B/C)"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    prepare=prepare,
    entities=("account", "customer"),
    description=(
        "Weighted criteria (industry position, growth, per-capita sales and profit "
        "contribution...) normalized over the population or fixed ranges into 0-100, tiered "
        "S/A/B/C by thresholds (seed 004, MCR)."
    ),
    sources=_sources.aggregate_sources,
)
