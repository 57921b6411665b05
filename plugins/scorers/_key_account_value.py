"""``key_account_value``: a composite of several indicators, normalized, ranked.

Seed 003 (key-account mode, the Tsinghua Tongfang case): the group's executives ask
whether the ranking of its 62 group VIP customers, "computed from multiple indicators",
has changed, and whether receivables were collected. Indicators are fields or SQL
aggregates of related entities (consumption sum, overdue receivables...), each "higher is
better" or "lower is better" with a weight; they are normalized over all ranked accounts
(min-max, or z-score through the normal curve), combined into 0-100 and ranked.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from engine.metadata import Label
from engine.scoring import Scorer, ScoreResult, ScoringContext

from . import _binding, _criteria, _sources
from ._config import RULE, bands, bands_schema, grade_for, prepared, strict, top_schema
from ._rules import by_importance

CONFIG_SCHEMA = top_schema(
    {
        "indicators": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": _criteria.criterion_schema(normalizations=True),
        },
        "normalization": {"enum": ["minmax", "zscore"], "default": "minmax"},
        "population": {
            **RULE,
            "description": "which records are ranked (SQL-compilable rule); default: all",
        },
        "grades": bands_schema(),
        "rank_grades": {
            "type": "array",
            "minItems": 1,
            "items": strict(
                {
                    "grade": {"type": ["string", "integer"]},
                    "max_rank": {"type": "integer", "minimum": 1},
                },
                ["grade", "max_rank"],
            ),
            "description": "grade by rank: the first band whose max_rank is at least the rank",
        },
    },
    ["indicators"],
    **{"not": {"required": ["grades", "rank_grades"]}},
)

# composites are compared after rounding so that one value computed twice ranks the same
_DIGITS = 9


def _bind(context: ScoringContext) -> tuple[_criteria.Criterion, ...]:
    config = context.spec.config
    if "population" in config:
        _binding.sql_filter(context, context.spec.entity, config["population"], "/population")
    return _criteria.bind(
        context,
        config["indicators"],
        "/indicators",
        normalization=config.get("normalization", "minmax"),
    )


def prepare(context: ScoringContext) -> dict[str, Any]:
    """Each indicator's spread over the ranked accounts (SQL), and every account's composite
    value, sorted, to rank against."""
    criteria = _bind(context)
    where = context.spec.config.get("population")
    spreads = _criteria.population(context, criteria, where=where)
    rows = _sources.values(context, context.spec.entity, [c.source for c in criteria], where=where)
    composites = sorted(round(_criteria.composite(criteria, row, spreads)[0], _DIGITS) for row in rows.values())
    return {"spreads": spreads, "composites": composites}


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """Composite value 0-100, rank among the ranked accounts (1 = best), grade."""
    criteria = _bind(context)
    config = context.spec.config
    state = prepared(context, prepare)
    composites: list[float] = state["composites"]
    ids = [int(r["id"]) for r in records]
    rows = _sources.values(
        context,
        context.spec.entity,
        [c.source for c in criteria],
        ids=ids,
        where=config.get("population"),
    )
    value_bands = bands(config.get("grades"), ()) if "grades" in config else ()
    rank_bands = sorted(config.get("rank_grades", ()), key=lambda b: b["max_rank"])
    out = []
    for record_id in ids:
        row = rows.get(record_id)
        if row is None:  # outside the population
            out.append(ScoreResult(record_id, None, None, (), {"ranked": False}))
            continue
        value, factors, figures = _criteria.composite(criteria, row, state["spreads"])
        key = round(value, _DIGITS)
        rank = 1 + len(composites) - bisect.bisect_right(composites, key)
        if rank_bands:
            grade = next((str(b["grade"]) for b in rank_bands if rank <= b["max_rank"]), None)
        elif value_bands:
            grade = grade_for(value, value_bands)
        else:
            grade = str(rank)
        extra = {"rank": rank, "of": len(composites), "indicators": figures}
        out.append(ScoreResult(record_id, value, grade, by_importance(factors), extra))
    return out


KEY_ACCOUNT_VALUE = Scorer(
    name="key_account_value",
    label=Label("Key account value ranking", "大客户价值排名"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    prepare=prepare,
    entities=("key_account", "account"),
    description=(
        "Several indicators (fields or SQL aggregates of related records, higher or lower is "
        "better, weighted) normalized over all ranked accounts by min-max or z-score, combined "
        "into 0-100 and ranked (seed 003: 62 group VIP customers)."
    ),
    sources=_sources.aggregate_sources,
)
