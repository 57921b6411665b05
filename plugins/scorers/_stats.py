"""The little statistics the scorers need, in pure Python (no numpy)."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence


def quantile_cuts(values: Sequence[float], bins: int) -> list[float]:
    """The ``bins - 1`` inner cut points of ``values`` (linear interpolation between order
    statistics, numpy's and pandas' default), ascending, duplicates kept."""
    if not values:
        return []
    if len(values) == 1:
        return [float(values[0])] * (bins - 1)
    return [float(q) for q in statistics.quantiles(values, n=bins, method="inclusive")]


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values`` in ascending order; tied values share their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def rank_bin_cuts(values: Sequence[float], bins: int) -> list[float]:
    """Cut points for "rank cut into equal-width bins".

    Each value's average rank ``r`` among the ``n`` values gives bin ``ceil(r / n * bins)``
    (1..bins); the bin only grows with the value, so it is described by thresholds: the
    k-th returned cut is the smallest value in bin k + 2 or above (``inf`` when none is), and
    a value's bin is 1 + the number of cuts at most it.
    """
    ordered = sorted(values)
    n = len(ordered)
    cuts = [math.inf] * (bins - 1)
    i = 0
    while i < n:
        j = bisect.bisect_right(ordered, ordered[i]) - 1
        rank = (i + j) / 2 + 1
        level = min(max(math.ceil(rank / n * bins - 1e-9), 1), bins)
        for k in range(level - 1):  # cuts for bins 2..level
            if cuts[k] == math.inf:
                cuts[k] = ordered[i]
        i = j + 1
    return cuts


def bin_of(value: float, cuts: Sequence[float], *, inclusive: bool) -> int:
    """1 + the number of cuts below ``value`` (``inclusive``: at most ``value``)."""
    if inclusive:
        return 1 + bisect.bisect_right(cuts, value)
    return 1 + bisect.bisect_left(cuts, value)


def auc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Area under the ROC curve as the Mann-Whitney U statistic over average ranks: the
    chance that a random positive scores above a random negative (ties count half)."""
    n_pos = sum(1 for p in positives if p)
    n_neg = len(positives) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = average_ranks(scores)
    rank_sum = sum(r for r, p in zip(ranks, positives, strict=True) if p)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def unit(value: float, low: float, high: float) -> float:
    """``value`` scaled to [0, 1] over ``[low, high]`` and clipped; 1 when the range is empty
    (every record has the same value: none is below the best)."""
    if high <= low:
        return 1.0
    return min(max((value - low) / (high - low), 0.0), 1.0)
