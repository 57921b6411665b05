"""Naive Bayes over categorical levels, as JSON: counting, binning, scoring, the split.

The model is frequency tables (``{feature: {level: [positives, negatives]}}``) plus class
counts; Laplace smoothing is applied when scoring, so the stored model is plain counts an
admin can read. Numbers are binned by quantiles of the training rows (right-closed
intervals, duplicate cuts dropped); a missing value is its own level; a level never seen in
training gets the smoothed share of an empty cell.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._stats import quantile_cuts

MISSING = "(missing)"


def level_of(value: Any, cuts: Sequence[float] | None) -> str:
    """The level a value falls in: its text for categories, its interval for numbers."""
    if value is None:
        return MISSING
    if cuts is None:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    i = bisect.bisect_left(cuts, float(value))
    if not cuts:
        return "all"
    if i == 0:
        return f"≤{cuts[0]:g}"
    if i == len(cuts):
        return f">{cuts[-1]:g}"
    return f"({cuts[i - 1]:g}, {cuts[i]:g}]"


def numeric_cuts(values: Iterable[Any], bins: int, distinct_levels: int = 0) -> list[float]:
    """Cut points of the non-null values: one interval per value when there are at most
    ``distinct_levels`` distinct ones (a code-like number keeps its meaning), otherwise
    quantile cuts without duplicates."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return []
    distinct = sorted(set(present))
    if len(distinct) <= distinct_levels:
        return distinct[:-1]
    return sorted(set(quantile_cuts(present, bins)))


def count_tables(rows: Iterable[tuple[bool, Sequence[str]]], features: Sequence[str]) -> dict[str, Any]:
    """Class counts and per-feature level counts of ``(positive, levels)`` rows."""
    tables: list[dict[str, list[int]]] = [{} for _ in features]
    positives = negatives = 0
    for positive, levels in rows:
        column = 0 if positive else 1
        if positive:
            positives += 1
        else:
            negatives += 1
        for table, level in zip(tables, levels, strict=True):
            cell = table.get(level)
            if cell is None:
                cell = table[level] = [0, 0]
            cell[column] += 1
    return {
        "rows": positives + negatives,
        "positive": positives,
        "negative": negatives,
        "tables": {name: table for name, table in zip(features, tables, strict=True)},
    }


@dataclass(frozen=True)
class LogTables:
    """A count model turned into log-likelihood ratios under smoothing ``alpha``."""

    prior: float
    ratios: Mapping[str, Mapping[str, float]]
    unseen: Mapping[str, float]

    @classmethod
    def of(cls, counts: Mapping[str, Any], alpha: float) -> LogTables:
        pos, neg = int(counts["positive"]), int(counts["negative"])
        prior = math.log((pos + alpha) / (neg + alpha))
        ratios: dict[str, dict[str, float]] = {}
        unseen: dict[str, float] = {}
        for name, table in counts["tables"].items():
            k = len(table) + 1  # one more level for values training never saw
            pos_total, neg_total = pos + alpha * k, neg + alpha * k
            ratios[name] = {
                level: math.log((cell[0] + alpha) / pos_total) - math.log((cell[1] + alpha) / neg_total)
                for level, cell in table.items()
            }
            unseen[name] = math.log(alpha / pos_total) - math.log(alpha / neg_total)
        return cls(prior, ratios, unseen)

    def contributions(self, levels: Mapping[str, str]) -> dict[str, float]:
        """Each feature's log-likelihood ratio for the record's level."""
        return {
            name: self.ratios[name].get(level, self.unseen[name])
            for name, level in levels.items()
            if name in self.ratios
        }


def probability(log_odds: float) -> float:
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    e = math.exp(log_odds)
    return e / (1.0 + e)


def holdout_split(ids: Iterable[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(training ids, holdout ids)``: the ids sorted, shuffled by ``random.Random(seed)``,
    the first ``round(n × fraction)`` held out. The same ids give the same split anywhere."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    cut = round(len(order) * fraction)
    return sorted(order[cut:]), sorted(order[:cut])
