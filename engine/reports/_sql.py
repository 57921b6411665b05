"""SQL building blocks the report types share, and the one place where SQLite and
PostgreSQL differ: period buckets and the seconds between two times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from engine.errors import Problem, UsageError
from engine.metadata import REPORT_SYSTEM_FIELDS, EntityDef, FieldDef, GroupKey, Label, ReportDef
from engine.records import compile_where

from ._params import fill_where
from ._result import Column, field_column

#: strftime (SQLite) and to_char (PostgreSQL) formats of each period's label.
_SQLITE_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
_POSTGRES_FORMATS = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}
_PERIOD_LABELS = {
    "day": ("day", "日"), "month": ("month", "月"), "quarter": ("quarter", "季度"), "year": ("year", "年"),
}  # fmt: skip


def period_bucket(column: Any, period: str, *, dialect: str, is_date: bool) -> ColumnElement[str]:
    """The label of the period ``column`` falls in, in UTC: ``2024-03-05``, ``2024-03``,
    ``2024-Q1``, ``2024``. Both databases give the same text, so groups compare and sort
    alike everywhere."""
    # Formats are written into the SQL, not bound: PostgreSQL accepts the same expression in
    # SELECT, GROUP BY and ORDER BY only when it is the same text, and two bound parameters
    # are two different expressions to it.
    if dialect == "postgresql":
        # timestamptz is shown in the session's time zone unless pinned to UTC
        value = column if is_date else sa.func.timezone(_sql_text("UTC"), column)
        return sa.func.to_char(value, _sql_text(_POSTGRES_FORMATS[period]), type_=sa.String)
    if period == "quarter":
        quarter = (sa.cast(sa.func.strftime(_sql_text("%m"), column), sa.Integer) + 2) // 3
        year = sa.func.strftime(_sql_text("%Y"), column, type_=sa.String)
        return year.concat(_sql_text("-Q")).concat(sa.cast(quarter, sa.String))
    return sa.func.strftime(_sql_text(_SQLITE_FORMATS[period]), column, type_=sa.String)


def _sql_text(value: str) -> ColumnElement[str]:
    """A constant string written into the statement (only for the fixed strings above)."""
    return sa.literal_column("'" + value.replace("'", "''") + "'", sa.String)


def now_value(now: datetime, *, dialect: str) -> ColumnElement[Any]:
    """``now`` as an SQL value comparable with stored times."""
    if dialect == "postgresql":
        return sa.literal(now, sa.DateTime(timezone=True))
    # SQLite keeps naive UTC text; julianday() reads this form
    return sa.literal(now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" "))


def seconds_between(start: Any, end: Any, *, dialect: str) -> ColumnElement[float]:
    """Seconds from ``start`` to ``end`` (both times)."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", end - start), sa.Float)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def field_of(entity: EntityDef, name: str) -> FieldDef:
    """A field or system field of ``entity``."""
    return entity.fields.get(name) or REPORT_SYSTEM_FIELDS[name]


@dataclass
class Grouping:
    """Group (or shown) columns over an entity's table: each with its SQL expression, and
    the table joined to the targets of references that show a display field."""

    source: FromClause
    columns: list[Column]
    expressions: list[ColumnElement[Any]]

    def labelled(self) -> list[ColumnElement[Any]]:
        return [e.label(c.name) for c, e in zip(self.columns, self.expressions, strict=True)]


def grouping(model: Any, entity: EntityDef, table: sa.Table, keys: Sequence[GroupKey], *, dialect: str) -> Grouping:
    """The columns of ``keys`` (group keys, or a ranking's columns as keys without periods)."""
    source: FromClause = table
    columns: list[Column] = []
    expressions: list[ColumnElement[Any]] = []
    for index, key in enumerate(keys):
        column = table.c[key.field]
        field = field_of(entity, key.field)
        if key.bands:
            labels = key.band_labels()
            columns.append(Column(key.column, _band_label(field.label), "band", bands=labels))
            expressions.append(band_index(column, key.bands))
            continue
        if key.period is not None:
            en, zh = _PERIOD_LABELS[key.period]
            label = Label(f"{field.label.en} ({en})", f"{field.label.zh}({zh})" if field.label.zh else None)
            columns.append(Column(key.column, label, "period"))
            expressions.append(period_bucket(column, key.period, dialect=dialect, is_date=field.type == "date"))
            continue
        columns.append(field_column(key.column, field))
        expressions.append(column)
        if field.type == "reference" and field.target is not None:
            target_entity = model.definitions.entities[field.target]
            if target_entity.display is not None:
                target = model.table(field.target).alias(f"display_{index}")
                source = source.outerjoin(target, target.c.id == column)
                display = target_entity.fields[target_entity.display]
                zh = f"{field.label.zh or field.label.en}({display.label.zh or display.label.en})"
                has_zh = bool(field.label.zh or display.label.zh)
                label = Label(f"{field.label.en} ({display.label.en})", zh if has_zh else None)
                columns.append(field_column(f"{key.field}_display", display, label))
                expressions.append(target.c[target_entity.display])
    return Grouping(source, columns, expressions)


def band_index(column: Any, bounds: Sequence[Decimal]) -> ColumnElement[Any]:
    """Which band ``column`` falls in (0 below the first bound, 1 from it to the next, …),
    NULL for no value. The result keeps the index, which sorts the bands in order; the
    report's column turns it into the band's name (:meth:`GroupKey.band_labels`)."""
    cases: list[tuple[Any, Any]] = [(column.is_(None), sa.null())]
    cases += [(column < bound, index) for index, bound in enumerate(bounds)]  # bound in the column's units
    return sa.case(*cases, else_=len(bounds))


def _band_label(label: Label) -> Label:
    return Label(f"{label.en} (band)", f"{label.zh}(区间)" if label.zh else None)


def record_filter(
    report: ReportDef,
    entity: EntityDef,
    table: sa.Table,
    where: Any,
    values: Mapping[str, Any],
    *,
    dialect: str,
    pointer: str = "/where",
) -> ColumnElement[bool]:
    """The SQL of a report's filter with the parameters' values in place.

    :raises UsageError: when a value does not suit its field, with the problems' pointers
        into the report (``/where/amount/gte``).
    """
    filled = fill_where(where, entity, values)
    if filled is None:
        return sa.true()
    try:
        return compile_where(entity, table, filled, dialect=dialect)
    except UsageError as error:
        problems = [
            Problem(code=p.code, message=p.message, pointer=pointer + (p.pointer or ""), field=p.field)
            for p in error.problems
        ]
        message = f'the report "{report.name}" cannot run: ' + "; ".join(p.message for p in problems)
        raise UsageError(message, problems) from None
