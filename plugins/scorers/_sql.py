"""SQL the scorers build: clamped numbers, mapped values, floats of stored numbers. The
conditions of their rules compile through :func:`engine.compile.condition_sql`, the one
compiler of conditions to SQL (rollups' ``where`` uses it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.compile import plain_number


class clamp(FunctionElement[float]):  # lower case, as SQL functions are
    """``value`` limited to ``[low, high]``; SQLite's scalar ``max``/``min``, PostgreSQL's
    ``GREATEST``/``LEAST`` (each evaluates the value once), a CASE elsewhere."""

    name = "crm_clamp"
    inherit_cache = True
    type = sa.Float()


@compiles(clamp)
def _clamp_default(element: clamp, compiler: SQLCompiler, **kw: Any) -> str:
    value, low, high = (compiler.process(c, **kw) for c in element.clauses)
    return f"CASE WHEN {value} < {low} THEN {low} WHEN {value} > {high} THEN {high} ELSE {value} END"


@compiles(clamp, "sqlite")
def _clamp_sqlite(element: clamp, compiler: SQLCompiler, **kw: Any) -> str:
    value, low, high = (compiler.process(c, **kw) for c in element.clauses)
    return f"max({low}, min({high}, {value}))"


@compiles(clamp, "postgresql")
def _clamp_postgresql(element: clamp, compiler: SQLCompiler, **kw: Any) -> str:
    value, low, high = (compiler.process(c, **kw) for c in element.clauses)
    return f"GREATEST({low}, LEAST({high}, {value}))"


def number(value: float | int | Decimal) -> sa.ColumnElement[Any]:
    """A numeric literal bound with a type that keeps PostgreSQL from integer division."""
    if isinstance(value, int) and not isinstance(value, bool):
        return sa.literal(value, sa.Integer())
    return sa.literal(float(value), sa.Float())


def as_float(expression: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
    """The number ``expression`` stands for, as a float (a decimal column unscaled on SQLite)."""
    return sa.cast(plain_number(expression), sa.Float())


def mapped(expression: sa.ColumnElement[Any], mapping: Mapping[str, float], default: float) -> sa.ColumnElement[float]:
    """``CASE expression WHEN 'a' THEN 1.0 ... ELSE default END`` (text to number)."""
    if not mapping:
        return number(float(default))
    return sa.case(
        {key: number(float(points)) for key, points in mapping.items()},
        value=expression,
        else_=number(float(default)),
    )
