"""``rfm``: recency, frequency and monetary value from related transactions.

The membership mode (BUSINESS.md, mode 4: RFM segmentation and churn risk) and any repeat
buyer: how recently a customer bought, how often, for how much. Each is aggregated per
customer in SQL (``max(date)``, ``count(DISTINCT order)``, ``sum(amount)`` or
``sum(quantity * price)``, ``GROUP BY customer``), scored 1..bins (recency reversed: recent
is best) by population quantiles, by rank cut into equal-width bins, or by fixed thresholds,
combined into a value 0-100, and named by the first matching segment rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.compile import plain_number
from engine.logic import CompiledRule, EvaluationError
from engine.metadata import Label
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext

from . import _binding
from ._config import LABEL, NAME, RULE, WEIGHT, config_error, label_of, prepared, strict, top_schema
from ._rules import by_importance
from ._stats import bin_of, quantile_cuts, rank_bin_cuts

DIMENSIONS = ("recency", "frequency", "monetary")
_SHORT = {"recency": "r", "frequency": "f", "monetary": "m"}
_LABELS = {
    "recency": Label("Recency", "最近购买"),
    "frequency": Label("Frequency", "购买频次"),
    "monetary": Label("Monetary", "消费金额"),
}
METHODS = ("quantile", "rank", "thresholds")
_NO_PURCHASE: Mapping[str, Any] = {
    "recency_days": None,
    "frequency": 0,
    "monetary": 0.0,
    "r": None,
    "f": None,
    "m": None,
    "segment": None,
}

_DIMENSION_SCHEMA = strict(
    {
        "method": {"enum": list(METHODS)},
        "thresholds": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 19},
    },
    description="thresholds: bins - 1 ascending numbers; recency in days (up to the first: best)",
)
CONFIG_SCHEMA = top_schema(
    {
        "transactions": NAME,
        "customer": {
            **NAME,
            "description": "reference field of the transactions to the scored entity",
        },
        "date": NAME,
        "order": {
            **NAME,
            "description": "count distinct values of this field (invoice number); default: rows",
        },
        "amount": NAME,
        "quantity": NAME,
        "price": NAME,
        "filter": RULE,
        "reference_date": {
            "type": "string",
            "format": "date",
            "description": "default: the day after the last transaction",
        },
        "bins": {"type": "integer", "minimum": 2, "maximum": 20, "default": 5},
        "method": {"enum": list(METHODS), "default": "quantile"},
        "recency": _DIMENSION_SCHEMA,
        "frequency": _DIMENSION_SCHEMA,
        "monetary": _DIMENSION_SCHEMA,
        "weights": strict(
            {
                "r": {**WEIGHT, "default": 1},
                "f": {**WEIGHT, "default": 1},
                "m": {**WEIGHT, "default": 1},
            },
            default={"r": 1, "f": 1, "m": 1},
        ),
        "segments": {
            "type": "array",
            "maxItems": 50,
            "items": strict({"name": NAME, "label": LABEL, "when": RULE}, ["name", "when"]),
            "description": "first match names the customer; rules read r, f, m, recency_days, frequency, monetary",
        },
    },
    ["transactions", "customer", "date"],
    oneOf=[{"required": ["amount"]}, {"required": ["quantity", "price"]}],
)


@dataclass(frozen=True)
class _Bound:
    bins: int
    methods: Mapping[str, str]
    thresholds: Mapping[str, list[float]]
    weights: Mapping[str, float]
    segments: tuple[tuple[str, Label, CompiledRule], ...]


def _bind(context: ScoringContext) -> _Bound:
    config = context.spec.config
    related = config["transactions"]
    _binding.entity(context, related, "/transactions")
    _binding.reference(context, related, config["customer"], context.spec.entity, "/customer")
    _binding.column(context, related, config["date"], "/date", kinds=("date", "datetime"))
    if "order" in config:
        _binding.column(context, related, config["order"], "/order")
    for key in ("amount", "quantity", "price"):
        if key in config:
            _binding.column(context, related, config[key], f"/{key}", kinds=("number",))
    if "filter" in config:
        _binding.sql_filter(context, related, config["filter"], "/filter")
    if "reference_date" in config:
        try:
            date.fromisoformat(config["reference_date"])
        except ValueError:
            raise config_error("format", "reference_date must be a date like 2011-12-10", "/reference_date") from None
    bins = int(config.get("bins", 5))
    methods: dict[str, str] = {}
    thresholds: dict[str, list[float]] = {}
    for dimension in DIMENSIONS:
        setting = config.get(dimension, {})
        methods[dimension] = setting.get("method", config.get("method", "quantile"))
        if methods[dimension] == "thresholds":
            cuts = [float(t) for t in setting.get("thresholds", [])]
            if len(cuts) != bins - 1 or cuts != sorted(cuts):
                raise config_error(
                    "wrong_thresholds",
                    f"{dimension} needs {bins - 1} ascending thresholds for {bins} bins",
                    f"/{dimension}/thresholds",
                )
            thresholds[dimension] = cuts
    weights = {**{"r": 1.0, "f": 1.0, "m": 1.0}, **config.get("weights", {})}
    segments = tuple(
        (
            s["name"],
            label_of(s.get("label"), s["name"].replace("_", " ")),
            _binding.rule(s["when"], f"/segments/{i}/when"),
        )
        for i, s in enumerate(config.get("segments", ()))
    )
    return _Bound(bins, methods, thresholds, {k: float(v) for k, v in weights.items()}, segments)


def _aggregates(context: ScoringContext, ids: Sequence[int] | None) -> sa.Select[Any]:
    """Per customer: last date, frequency, monetary (``GROUP BY`` the reference field)."""
    config = context.spec.config
    table = context.table(config["transactions"])
    key, when = table.c[config["customer"]], table.c[config["date"]]
    frequency = sa.func.count(sa.distinct(table.c[config["order"]])) if "order" in config else sa.func.count()
    if "amount" in config:
        money = sa.func.sum(table.c[config["amount"]])
    else:
        # a decimal times a decimal is in neither's units on SQLite: multiply the numbers
        money = sa.func.sum(plain_number(table.c[config["quantity"]]) * plain_number(table.c[config["price"]]))
    query = sa.select(
        key.label("key"),
        sa.func.max(when).label("last"),
        frequency.label("frequency"),
        money.label("monetary"),
    )
    query = query.where(key.is_not(None))
    if "filter" in config:
        query = query.where(_binding.sql_filter(context, config["transactions"], config["filter"], "/filter"))
    if ids is not None:
        query = query.where(key.in_(list(ids)))
    return query.group_by(key)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def prepare(context: ScoringContext) -> dict[str, Any]:
    """Population figures: the reference date and each dimension's cut points."""
    bound = _bind(context)
    config = context.spec.config
    needs_population = any(m != "thresholds" for m in bound.methods.values()) or "reference_date" not in config
    rows = list(context.conn.execute(_aggregates(context, None))) if needs_population else []
    if "reference_date" in config:
        reference = date.fromisoformat(config["reference_date"])
    elif rows:
        reference = max(_day(r.last) for r in rows) + timedelta(days=1)
    else:
        reference = _day(context.now)
    columns = {
        "recency": [float((reference - _day(r.last)).days) for r in rows],
        "frequency": [float(r.frequency) for r in rows],
        "monetary": [float(r.monetary or 0) for r in rows],
    }
    cuts: dict[str, dict[str, Any]] = {}
    for dimension in DIMENSIONS:
        method = bound.methods[dimension]
        if method == "thresholds":
            # recency: at most the first threshold is best; frequency, monetary: at least
            cuts[dimension] = {
                "cuts": bound.thresholds[dimension],
                "inclusive": dimension != "recency",
            }
        elif method == "quantile":
            cuts[dimension] = {
                "cuts": quantile_cuts(columns[dimension], bound.bins),
                "inclusive": False,
            }
        else:
            found = [c for c in rank_bin_cuts(columns[dimension], bound.bins) if c != float("inf")]
            cuts[dimension] = {"cuts": found, "inclusive": True}
    return {"reference_date": reference.isoformat(), "customers": len(rows), "cuts": cuts}


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """R, F and M scores 1..bins, a weighted value 0-100, and the segment as the grade."""
    bound = _bind(context)
    state = prepared(context, prepare)
    reference = date.fromisoformat(state["reference_date"])
    ids = [int(r["id"]) for r in records]
    found = {int(row.key): row for row in context.conn.execute(_aggregates(context, ids))}
    weight_sum = sum(bound.weights.values()) or 1.0
    out = []
    for record_id in ids:
        row = found.get(record_id)
        if row is None:  # no purchase: nothing to score
            out.append(ScoreResult(record_id, None, None, (), dict(_NO_PURCHASE)))
            continue
        figures = {
            "recency": (reference - _day(row.last)).days,
            "frequency": int(row.frequency),
            "monetary": float(row.monetary or 0),
        }
        scores = {}
        for dimension in DIMENSIONS:
            setting = state["cuts"][dimension]
            level = bin_of(float(figures[dimension]), setting["cuts"], inclusive=setting["inclusive"])
            scores[dimension] = bound.bins + 1 - level if dimension == "recency" else level
        factors = []
        value = 0.0
        for dimension in DIMENSIONS:
            weight = bound.weights[_SHORT[dimension]]
            part = 100.0 * weight * (scores[dimension] - 1) / (bound.bins - 1) / weight_sum
            value += part
            detail = (
                f"{figures[dimension]:g} → {scores[dimension]}"
                if dimension != "monetary"
                else f"{figures[dimension]:.2f} → {scores[dimension]}"
            )
            factors.append(Factor(dimension, part, _LABELS[dimension], detail))
        r, f, m = scores["recency"], scores["frequency"], scores["monetary"]
        extra: dict[str, Any] = {
            "recency_days": figures["recency"],
            "frequency": figures["frequency"],
            "monetary": figures["monetary"],
            "r": r,
            "f": f,
            "m": m,
        }
        segment = _segment(bound, extra)
        extra["segment"] = segment
        separator = "" if bound.bins < 10 else "-"
        grade = segment if segment is not None else separator.join(str(s) for s in (r, f, m))
        out.append(ScoreResult(record_id, value, grade, by_importance(factors), extra))
    return out


def _segment(bound: _Bound, data: Mapping[str, Any]) -> str | None:
    for name, _label, when in bound.segments:
        try:
            if when.matches(data):
                return name
        except EvaluationError:
            continue
    return None


RFM = Scorer(
    name="rfm",
    label=Label("RFM (recency, frequency, monetary)", "RFM 客户价值"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    prepare=prepare,
    entities=("customer", "member", "account"),
    description=(
        "Recency, frequency and monetary value aggregated in SQL from related transactions, "
        "scored 1..5 by quantiles, by rank in equal-width bins or by thresholds, combined into "
        "0-100 and named by segment rules (membership mode)."
    ),
)
