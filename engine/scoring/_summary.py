"""How a scoring's stored scores spread: records per grade, and a histogram of the values.

Read from ``crm_scores`` in SQL (a few grouped queries, whatever the number of records),
with a user's override standing in for the computed score, as on the record and in reports.
Scores of records since deleted are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.metadata import ScoringDef
from engine.storage import scores

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


@dataclass(frozen=True)
class ScoreBin:
    """Records whose value is in ``[lower, upper)`` (the last bin holds its upper bound too)."""

    lower: float
    upper: float
    records: int


@dataclass(frozen=True)
class ScoreSummary:
    """The spread of one scoring's current scores.

    :param scored: records with a value or a grade.
    :param grades: grade → records, the grades found, sorted; empty when the scorer gives none.
    :param bins: ``bins`` equal slices of the values found, lowest first; empty without values.
    """

    scoring: str
    scored: int
    grades: dict[str, int]
    bins: list[ScoreBin]


def summarize(engine: CrmEngine, definition: ScoringDef, bins: int) -> ScoreSummary:
    table = engine.model.table(definition.entity)
    value = sa.func.coalesce(scores.c.override_value, scores.c.value)
    grade = sa.func.coalesce(scores.c.override_grade, scores.c.grade)
    source = scores.join(table, table.c.id == scores.c.record_id)
    mine = scores.c.scoring == definition.name
    with engine.db.read() as conn:
        totals = conn.execute(
            sa.select(sa.func.count(), sa.func.min(value), sa.func.max(value))
            .select_from(source)
            .where(mine, sa.or_(value.is_not(None), grade.is_not(None)))
        ).one()
        grade_rows = conn.execute(
            sa.select(grade, sa.func.count()).select_from(source).where(mine, grade.is_not(None)).group_by(grade)
        ).all()
        low, high = totals[1], totals[2]
        histogram: list[ScoreBin] = []
        if low is not None and high is not None:
            histogram = _histogram(conn, source, mine, value, float(low), float(high), max(bins, 1))
    return ScoreSummary(
        scoring=definition.name,
        scored=int(totals[0]),
        grades={str(g): int(n) for g, n in sorted(grade_rows, key=lambda r: str(r[0]))},
        bins=histogram,
    )


def _histogram(conn: Any, source: Any, mine: Any, value: Any, low: float, high: float, bins: int) -> list[ScoreBin]:
    step = (high - low) / bins if high > low else 1.0
    # the slice of each value, computed in the database; the highest value closes the last
    # slice instead of opening one of its own
    index = sa.case(
        *((value < low + step * (i + 1), i) for i in range(bins - 1)),
        else_=bins - 1,
    )
    per_record = sa.select(index.label("slice")).select_from(source).where(mine, value.is_not(None)).subquery()
    counts = {
        int(s): int(n)
        for s, n in conn.execute(sa.select(per_record.c.slice, sa.func.count()).group_by(per_record.c.slice))
    }
    width = bins if high > low else 1
    return [ScoreBin(_tidy(low + step * i), _tidy(low + step * (i + 1)), counts.get(i, 0)) for i in range(width)]


def _tidy(number: float) -> float:
    return round(number, 6) if math.isfinite(number) else number
