"""``predictive``: the chance to win, learned from won and lost history (naive Bayes).

Seed 001 (funnel analysis and forecasting from the funnel) and the BUSINESS.md churn-risk
and win-probability scores: ``train`` counts, for every feature level, how often records
with it were won and lost (numbers binned by quantiles of the training rows), evaluates on
a fixed seeded holdout (AUC), and stores the counts as JSON. Scoring adds the features'
log-likelihood ratios to the prior log-odds: value = 100 × P(win), and the factors are the
ratios themselves ("job=student: +0.80"), so every score explains itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.metadata import Label
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext, TrainReport

from . import _binding, _sources
from ._config import FIELD_PATH, NAME, RULE, config_error, not_trained, strict, top_schema
from ._naive_bayes import (
    LogTables,
    count_tables,
    holdout_split,
    level_of,
    numeric_cuts,
    probability,
)
from ._rules import by_importance
from ._sources import AGGREGATE_SCHEMA, Source
from ._stats import auc

MODEL_FORMAT = 1
DISTINCT_LEVELS = 30
_FEATURE = {
    "oneOf": [
        FIELD_PATH,
        {
            **strict(
                {
                    "name": NAME,
                    "field": FIELD_PATH,
                    "aggregate": AGGREGATE_SCHEMA,
                    "kind": {
                        "enum": ["categorical", "numeric"],
                        "description": "default: numeric for number fields",
                    },
                    "bins": {"type": "integer", "minimum": 2, "maximum": 50},
                    "distinct_levels": {"type": "integer", "minimum": 0, "maximum": 1000},
                }
            ),
            "oneOf": [{"required": ["field"]}, {"required": ["aggregate", "name"]}],
        },
    ]
}
CONFIG_SCHEMA = top_schema(
    {
        "outcome": {**FIELD_PATH, "description": "the field that says won or lost"},
        "positive": {
            "type": "array",
            "minItems": 1,
            "items": {"type": ["string", "boolean", "number"]},
        },
        "negative": {
            "type": "array",
            "minItems": 1,
            "items": {"type": ["string", "boolean", "number"]},
            "description": "default: every other non-null outcome",
        },
        "features": {"type": "array", "minItems": 1, "maxItems": 100, "items": _FEATURE},
        "bins": {"type": "integer", "minimum": 2, "maximum": 50, "default": 10},
        "distinct_levels": {
            "type": "integer",
            "minimum": 0,
            "maximum": 1000,
            "default": 30,
            "description": "numbers with at most this many distinct training values: a level each",
        },
        "smoothing": {"type": "number", "exclusiveMinimum": 0, "default": 1},
        "segment": {**FIELD_PATH, "description": "train one model per value of this field"},
        "min_segment_rows": {"type": "integer", "minimum": 1, "default": 200},
        "filter": {
            **RULE,
            "description": "which records are history (SQL-compilable); default: all",
        },
        "holdout": {"type": "number", "minimum": 0, "maximum": 0.9, "default": 0.2},
        "seed": {"type": "integer", "default": 42},
        "refit": {
            "type": "boolean",
            "default": True,
            "description": "store a model refit on all rows after evaluating",
        },
        "top_factors": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5},
    },
    ["outcome", "positive", "features"],
)


@dataclass(frozen=True)
class _Feature:
    source: Source
    numeric: bool
    bins: int
    distinct_levels: int


@dataclass(frozen=True)
class _Bound:
    features: tuple[_Feature, ...]
    outcome: Source
    segment: Source | None


def _bind(context: ScoringContext) -> _Bound:
    config, scored = context.spec.config, context.spec.entity
    features = []
    names: set[str] = set()
    for i, item in enumerate(config["features"]):
        item = {"field": item} if isinstance(item, str) else item
        name = item.get("name") or item["field"]
        at = f"/features/{i}"
        if name in names:
            raise config_error("duplicate_name", f'two features are called "{name}"; give one a "name"', at)
        names.add(name)
        source = _sources.bind(context, scored, item, at, name=name, kinds=("text", "boolean", "number"))
        numeric = source.kind == "number" and item.get("kind", "numeric") == "numeric"
        bins = int(item.get("bins", config.get("bins", 10)))
        distinct = int(item.get("distinct_levels", config.get("distinct_levels", DISTINCT_LEVELS)))
        features.append(_Feature(source, numeric, bins, distinct))
    outcome = _sources.bind(
        context,
        scored,
        {"field": config["outcome"]},
        "/outcome",
        name="outcome",
        kinds=("text", "boolean", "number"),
    )
    segment = (
        _sources.bind(
            context,
            scored,
            {"field": config["segment"]},
            "/segment",
            name="segment",
            kinds=("text", "boolean", "number"),
        )
        if "segment" in config
        else None
    )
    if "filter" in config:
        _binding.sql_filter(context, scored, config["filter"], "/filter")
    return _Bound(tuple(features), outcome, segment)


def _history(context: ScoringContext, bound: _Bound) -> dict[int, tuple[bool, Any, tuple[Any, ...]]]:
    """``{id: (won, segment, feature values)}`` for every record with a known outcome."""
    config = context.spec.config
    sources = [
        bound.outcome,
        *([bound.segment] if bound.segment else []),
        *(f.source for f in bound.features),
    ]
    rows = _sources.values(context, context.spec.entity, sources, where=config.get("filter"))
    positive = {_key(v) for v in config["positive"]}
    negative = {_key(v) for v in config["negative"]} if "negative" in config else None
    out = {}
    offset = 2 if bound.segment else 1
    for record_id, row in rows.items():
        outcome = row[0]
        if outcome is None:
            continue
        key = _key(outcome)
        if key not in positive and negative is not None and key not in negative:
            continue
        segment = row[1] if bound.segment else None
        out[record_id] = (key in positive, segment, row[offset:])
    return out


def _key(value: Any) -> str:
    """Outcome values compared as text (a JSON 1 matches a stored 1.0)."""
    return level_of(value, None)


def _fit(bound: _Bound, rows: Sequence[tuple[bool, Any, tuple[Any, ...]]], min_segment_rows: int) -> dict[str, Any]:
    features = []
    for i, feature in enumerate(bound.features):
        entry: dict[str, Any] = {"name": feature.source.name, "numeric": feature.numeric}
        if feature.numeric:
            entry["cuts"] = numeric_cuts((r[2][i] for r in rows), feature.bins, feature.distinct_levels)
        features.append(entry)
    names = [f["name"] for f in features]

    def levelled(
        subset: Sequence[tuple[bool, Any, tuple[Any, ...]]],
    ) -> list[tuple[bool, list[str]]]:
        return [
            (won, [level_of(v, f.get("cuts")) for v, f in zip(values, features, strict=True)])
            for won, _s, values in subset
        ]

    model: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "features": features,
        "global": count_tables(levelled(rows), names),
    }
    if bound.segment is not None:
        groups: dict[str, list[tuple[bool, Any, tuple[Any, ...]]]] = {}
        for row in rows:
            groups.setdefault(level_of(row[1], None), []).append(row)
        model["segments"] = {
            key: count_tables(levelled(group), names)
            for key, group in sorted(groups.items())
            if len(group) >= min_segment_rows
        }
    return model


def _score_rows(
    model: Mapping[str, Any], alpha: float, rows: Sequence[tuple[Any, tuple[Any, ...]]]
) -> list[tuple[float, dict[str, float], str | None]]:
    """``(log-odds, contributions, segment used)`` of ``(segment, values)`` rows."""
    tables = {"": LogTables.of(model["global"], alpha)}
    for key, counts in model.get("segments", {}).items():
        tables[key] = LogTables.of(counts, alpha)
    features = model["features"]
    out = []
    for segment, values in rows:
        key = level_of(segment, None) if "segments" in model else ""
        used = key if key in tables else ""
        table = tables[used]
        levels = {f["name"]: level_of(v, f.get("cuts")) for v, f in zip(values, features, strict=True)}
        parts = table.contributions(levels)
        out.append((table.prior + sum(parts.values()), parts, used or None))
    return out


def train(context: ScoringContext) -> TrainReport:
    """Count the frequency tables on the training part, report the holdout AUC, and store
    the model (refit on every row unless ``refit`` is false)."""
    config = context.spec.config
    bound = _bind(context)
    history = _history(context, bound)
    if not history:
        raise config_error("no_history", "no record has an outcome to learn from", "/outcome")
    alpha = float(config.get("smoothing", 1))
    min_rows = int(config.get("min_segment_rows", 200))
    fraction = float(config.get("holdout", 0.2))
    train_ids, holdout_ids = holdout_split(history, fraction, int(config.get("seed", 42)))
    model = _fit(bound, [history[i] for i in train_ids], min_rows)
    metrics: dict[str, Any] = {
        "rows": len(history),
        "train_rows": len(train_ids),
        "holdout_rows": len(holdout_ids),
        "positive_rate": sum(1 for won, _s, _v in history.values() if won) / len(history),
        "train_auc": _auc(model, alpha, [history[i] for i in train_ids]),
        "auc": _auc(model, alpha, [history[i] for i in holdout_ids]) if holdout_ids else None,
        "segments": sorted(model.get("segments", {})),
    }
    if config.get("refit", True) and holdout_ids:
        model = _fit(bound, list(history.values()), min_rows)
    model["trained_rows"] = len(train_ids) if not config.get("refit", True) or not holdout_ids else len(history)
    return TrainReport(model=model, metrics=metrics)


def _auc(model: Mapping[str, Any], alpha: float, rows: Sequence[tuple[bool, Any, tuple[Any, ...]]]) -> float | None:
    scored = _score_rows(model, alpha, [(segment, values) for _won, segment, values in rows])
    return auc([s[0] for s in scored], [won for won, _s, _v in rows])


def score_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """100 × P(win) under the trained model, with the strongest feature levels as factors."""
    config = context.spec.config
    trained = context.trained
    if not trained:
        raise not_trained(context.spec.name)
    if trained.get("format") != MODEL_FORMAT:
        raise not_trained(context.spec.name)
    bound = _bind(context)
    names = [f["name"] for f in trained["features"]]
    if names != [f.source.name for f in bound.features]:
        raise not_trained(context.spec.name)  # the features changed since training
    sources = [*([bound.segment] if bound.segment else []), *(f.source for f in bound.features)]
    ids = [int(r["id"]) for r in records]
    rows = _sources.values(context, context.spec.entity, sources, ids=ids)
    offset = 1 if bound.segment else 0
    missing = (None,) * len(sources)  # a record deleted since the batch was read
    found = [(rows.get(i, missing)[0] if bound.segment else None, rows.get(i, missing)[offset:]) for i in ids]
    scored = _score_rows(trained, float(config.get("smoothing", 1)), found)
    labels = {f.source.name: f.source.label for f in bound.features}
    top = int(config.get("top_factors", 5))
    out = []
    for record_id, (log_odds, parts, segment), (_seg, values) in zip(ids, scored, found, strict=True):
        levels = {f["name"]: level_of(v, f.get("cuts")) for v, f in zip(values, trained["features"], strict=True)}
        factors = by_importance(
            [
                Factor(
                    f"{name}={levels[name]}",
                    ratio,
                    _level_label(labels[name], levels[name]),
                    f"{name}={levels[name]}: {ratio:+.2f}",
                )
                for name, ratio in parts.items()
            ]
        )[:top]
        p = probability(log_odds)
        extra = {"probability": p, "log_odds": log_odds, "segment": segment}
        out.append(ScoreResult(record_id, 100.0 * p, None, factors, extra))
    return out


def _level_label(label: Label, level: str) -> Label:
    return Label(f"{label.en}={level}", f"{label.zh}={level}" if label.zh else None)


PREDICTIVE = Scorer(
    name="predictive",
    label=Label("Win probability (naive Bayes)", "赢单概率(朴素贝叶斯)"),
    config_schema=CONFIG_SCHEMA,
    score_batch=score_batch,
    train=train,
    entities=("opportunity", "lead"),
    description=(
        "Naive Bayes frequency tables trained on won/lost history (numbers binned by training "
        "quantiles, Laplace smoothing, optional per-segment models), evaluated by holdout AUC; "
        "value = 100 × P(win), factors = the log-likelihood ratios of the record's features."
    ),
    sources=_sources.aggregate_sources,
)
