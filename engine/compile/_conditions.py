"""Conditions as SQL: JSON Logic rules simple enough to run inside the database, compiled
once for every reader (scorers' rules, rollups' ``where``).

A condition compiles when it is built from ``and``, ``or``, ``!``, ``!!``, ``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=`` and ``in`` over ``record.FIELD`` variables and literals of
the field's own kind (numbers for number fields, texts for text and enum fields, true or
false for booleans, ISO dates for date and datetime fields), or is a constant. Anything
else (``now``, arithmetic, text order, JSON fields) returns None and the caller falls
back to evaluating the rule in Python.

The SQL means exactly what the rule means in ``engine.logic``, nulls included: for every
comparison, what a null field gives is asked of the evaluator itself when compiling (null
is 0 against numbers, never equal to a non-empty text...), and the SQL is
``(x IS NULL AND <that>) OR (x IS NOT NULL AND x <op> literal)``, which is never NULL, so
``NOT`` keeps JSON Logic's two-valued meaning. The test suite holds the two to agreeing
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from engine.compile._types import ExactDecimal
from engine.logic import LogicError, compile_rule, evaluate, truthy

ConditionKind = Literal["number", "text", "boolean", "date", "datetime", "json"]
SqlBool = ColumnElement[bool]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_ORDERED_KINDS = frozenset({"number", "date", "datetime"})


def column_kind(column: sa.ColumnElement[Any]) -> ConditionKind:
    """What kind of value a column holds, as conditions and scorers see it."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, sa.DateTime) or isinstance(getattr(kind, "impl", None), sa.DateTime):
        return "datetime"
    if isinstance(kind, sa.Date):
        return "date"
    if isinstance(kind, (sa.Integer, sa.Numeric, ExactDecimal)):
        return "number"
    return "text"


def condition_sql(rule: Any, table: FromClause, *, prefix: str = "record.") -> SqlBool | None:
    """``rule`` as a SQL boolean over ``table`` (its ``var`` paths are ``prefix + column``),
    or None when the rule is outside the compilable subset (see the module docstring)."""
    try:
        compile_rule(rule)
    except LogicError:
        return None
    return _Compiler(table, prefix).condition(rule)


class _Compiler:
    def __init__(self, table: Any, prefix: str) -> None:
        self.table = table
        self.prefix = prefix

    def condition(self, rule: Any) -> SqlBool | None:
        if not isinstance(rule, Mapping):
            return _constant(rule)
        if len(rule) != 1:
            return None
        ((op, args),) = rule.items()
        if op == "var":
            column = self.column(rule)
            return None if column is None else _truthy(column)
        if not _uses_data(rule):
            return _constant(rule)
        items = list(args) if isinstance(args, list) else [args]
        if op in ("and", "or"):
            found = [self.condition(item) for item in items]
            parts = [p for p in found if p is not None]
            if not parts or len(parts) != len(found):
                return None
            return sa.and_(*parts) if op == "and" else sa.or_(*parts)
        if op in ("!", "!!"):
            if len(items) != 1:
                return None
            inner = self.condition(items[0])
            if inner is None:
                return None
            return sa.not_(inner) if op == "!" else inner
        if op == "in":
            return self.membership(items)
        if op in _FLIP:
            if len(items) == 3 and op in ("<", "<="):
                low = self.compare(op, items[0], items[1])
                high = self.compare(op, items[1], items[2])
                return None if low is None or high is None else sa.and_(low, high)
            if len(items) != 2:
                return None
            return self.compare(op, items[0], items[1])
        return None

    def column(self, node: Any) -> sa.ColumnElement[Any] | None:
        """The column a ``{"var": "record.x"}`` reads (no default, no deeper path)."""
        if not isinstance(node, Mapping) or len(node) != 1 or "var" not in node:
            return None
        path = node["var"]
        if isinstance(path, list):
            if len(path) != 1:
                return None
            path = path[0]
        if not isinstance(path, str) or not path.startswith(self.prefix):
            return None
        name = path[len(self.prefix) :]
        if "." in name or name not in self.table.c:
            return None
        return self.table.c[name]  # type: ignore[no-any-return]

    def compare(self, op: str, left: Any, right: Any) -> SqlBool | None:
        column = self.column(left)
        literal = right
        if column is None:
            column, literal, op = self.column(right), left, _FLIP[op]
            if column is None:
                return None
        kind = column_kind(column)
        value = _literal(kind, literal)
        if value is _NO or (op not in ("==", "!=") and kind not in _ORDERED_KINDS):
            return None
        comparison = _OPERATORS[op](column, value)
        return _null_aware(column, comparison, {op: [None, literal]})

    def membership(self, items: Sequence[Any]) -> SqlBool | None:
        if len(items) != 2 or not isinstance(items[1], list) or not items[1]:
            return None
        column = self.column(items[0])
        if column is None:
            return None
        kind = column_kind(column)
        values = [_literal(kind, item) for item in items[1]]
        if any(v is _NO for v in values):
            return None
        return _null_aware(column, column.in_(values), {"in": [None, items[1]]})


_NO: Any = object()
_OPERATORS: Mapping[str, Callable[[Any, Any], SqlBool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _literal(kind: ConditionKind, value: Any) -> Any:
    """The Python value a JSON literal compares as against a column of ``kind``, or _NO when
    the two kinds differ (a comparison across kinds converts values in ways SQL does not)."""
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _NO
    if kind == "text":
        return value if isinstance(value, str) else _NO
    if kind == "boolean":
        return value if isinstance(value, bool) else _NO
    if not isinstance(value, str):
        return _NO
    if kind == "date":
        if len(value) != 10:
            return _NO
        try:
            return date.fromisoformat(value)
        except ValueError:
            return _NO
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return _NO
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return _NO


def _null_aware(column: sa.ColumnElement[Any], comparison: SqlBool, on_null: Any) -> SqlBool:
    """``comparison`` where the column has a value; what JSON Logic says where it is null."""
    try:
        null_result = truthy(evaluate(on_null))
    except LogicError:
        null_result = False
    if null_result:
        return sa.or_(column.is_(None), comparison)
    return sa.and_(column.is_not(None), comparison)


def _truthy(column: sa.ColumnElement[Any]) -> SqlBool | None:
    kind = column_kind(column)
    present = column.is_not(None)
    if kind == "number":
        return sa.and_(present, column != 0)
    if kind == "text":
        return sa.and_(present, column != "")
    if kind == "boolean":
        return sa.and_(present, column == sa.true())
    if kind in ("date", "datetime"):
        return present
    return None  # arrays: [] is falsy, which SQL cannot tell portably


_DATA_OPERATORS = frozenset({"var", "val", "exists", "missing", "missing_some"})


def _uses_data(rule: Any) -> bool:
    """Whether any part of ``rule`` reads the data (conservative: anywhere, at any depth)."""
    if isinstance(rule, Mapping):
        return any(key in _DATA_OPERATORS or _uses_data(value) for key, value in rule.items())
    if isinstance(rule, list):
        return any(_uses_data(item) for item in rule)
    return False


def _constant(rule: Any) -> SqlBool | None:
    try:
        return sa.true() if truthy(evaluate(rule)) else sa.false()
    except LogicError:
        return None


# -- clamp: one expression evaluated once -------------------------------------------------
