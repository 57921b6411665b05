"""How precisely a scoring's values are kept: stored, compared and shown rounded, so that a
rerun which moves a value below that precision (a time decay in the ninth decimal) is no
change and writes nothing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from engine.metadata import EntityDef, ScoringDef

#: Decimal places of a scoring whose value goes to no field, or to a field without a scale.
DEFAULT_PRECISION = 2


def score_precision(definition: ScoringDef, entity: EntityDef) -> int:
    """Decimal places of ``definition``'s values: its target value field's (0 for an
    integer, the scale of a decimal or money field), else :data:`DEFAULT_PRECISION`."""
    target = entity.fields.get(definition.target_value or "")
    if target is None:
        return DEFAULT_PRECISION
    if target.type == "integer":
        return 0
    return target.scale if target.scale is not None else DEFAULT_PRECISION


def round_score(value: Any, precision: int) -> float | None:
    """``value`` rounded half away from zero, as both databases' ``round`` does."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-precision)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def round_score_sql(value: ColumnElement[Any], precision: int) -> ColumnElement[float]:
    """The SQL form of :func:`round_score` (``round`` of a numeric on PostgreSQL)."""
    return sa.cast(sa.func.round(sa.cast(value, sa.Numeric), precision), sa.Float)
