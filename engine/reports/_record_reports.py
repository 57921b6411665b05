"""The report types over an entity's records: ``aggregate``, ``ranking``, ``distribution``.

Related records (an aggregate's ``related``) are measured per record in a subquery grouped
by their reference, then left-joined to the records: a record without any keeps its row
(counts of 0), and no measure of the records themselves is multiplied by the join. Only
the related rows the asking user may read are measured (their read scope of the related
entity); a user from whom a field of the related entity is hidden is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engine.compile import plain_number
from engine.metadata import AggregateSpec, DistributionSpec, GroupKey, Label, MeasureDef, RankingSpec, ValueSource
from engine.storage import scores

from ._context import ReportRun, read_scope
from ._params import having_value
from ._result import Column, field_column
from ._sql import field_of, record_filter

_RECORDS = Column("records", Label("Records", "记录数"), "integer")
_SHARE = Column("share", Label("Share", "占比"), "ratio")
_COMPARISONS = {
    "eq": lambda e, v: e == v, "ne": lambda e, v: e != v, "lt": lambda e, v: e < v,
    "lte": lambda e, v: e <= v, "gt": lambda e, v: e > v, "gte": lambda e, v: e >= v,
}  # fmt: skip


def aggregate(run: ReportRun, spec: AggregateSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """Per group: every measure; groups kept by ``having``, sorted and limited."""
    group = run.grouping(spec.by)
    source = group.source
    related: Any = None
    if spec.related is not None:
        related = _related_subquery(run, spec)
        source = source.outerjoin(related, related.c.ref == run.table.c.id)
    expressions = {
        name: _measure(run, measure, related) for name, measure in spec.measures.items() if measure.op != "ratio"
    }
    for name, measure in spec.measures.items():
        if measure.op == "ratio":
            # measures of decimal fields are scaled integers on SQLite: divide the numbers
            numerator = sa.cast(plain_number(expressions[str(measure.numerator)]), sa.Float)
            denominator = sa.cast(plain_number(expressions[str(measure.denominator)]), sa.Float)
            expressions[name] = numerator / sa.func.nullif(denominator, 0)
    columns = [_measure_column(run, spec, measure) for measure in spec.measures.values()]
    query = sa.select(*group.labelled(), *(expressions[c.name].label(c.name) for c in columns))
    query = query.select_from(source).where(run.where())
    if group.expressions:
        query = query.group_by(*group.expressions)
    conditions = _having(spec, expressions, run.values)
    if conditions:
        query = query.having(sa.and_(*conditions))
    by_name = {**dict(zip((c.name for c in group.columns), group.expressions, strict=True)), **expressions}
    sort = [(key.removeprefix("-"), key.startswith("-")) for key in spec.sort] or [
        (c.name, False) for c in group.columns
    ]
    clauses = [(by_name[n].desc() if down else by_name[n].asc()).nulls_last() for n, down in sort]
    query = query.order_by(*clauses)
    if spec.limit is not None:
        query = query.limit(spec.limit)
    return [*group.columns, *columns], run.fetch(query)


def _related_subquery(run: ReportRun, spec: AggregateSpec) -> Any:
    assert spec.related is not None
    entity = run.model.entity(spec.related.entity)
    table = run.model.table(spec.related.entity)
    ref = table.c[spec.related.field]
    parts: list[ColumnElement[Any]] = [ref.label("ref")]
    for name, m in spec.measures.items():
        if m.of != "related":
            continue
        column = table.c[m.field] if m.field is not None else table.c.id
        if m.op == "count":
            parts.append(sa.func.count(column).label(name))
        elif m.op == "avg":
            parts.append(sa.func.sum(column).label(f"{name}_sum"))
            parts.append(sa.func.count(column).label(f"{name}_count"))
        else:
            parts.append(_aggregate(m.op, column).label(name))
    where = record_filter(
        run.report, entity, table, spec.related.where, run.values, dialect=run.dialect, pointer="/related/where"
    )
    # only the related rows the asking user may read are measured (refused when a field is hidden)
    scope = read_scope(run.engine, run.report, run.actor, spec.related.entity)
    scoped = run.engine.permissions.scope_condition(run.actor, table, scope)
    conditions = [where, ref.is_not(None)] if scoped is None else [where, scoped, ref.is_not(None)]
    return sa.select(*parts).where(*conditions).group_by(ref).subquery("related")


def _measure(run: ReportRun, m: MeasureDef, related: Any) -> ColumnElement[Any]:
    if m.of == "related":
        if m.op in ("count", "sum"):
            return sa.func.coalesce(sa.func.sum(related.c[m.name]), 0)
        if m.op == "avg":
            return plain_number(sa.func.sum(related.c[f"{m.name}_sum"])) / sa.func.nullif(
                sa.cast(sa.func.sum(related.c[f"{m.name}_count"]), sa.Float), 0
            )
        return _aggregate(m.op, related.c[m.name])
    column = run.table.c[m.field] if m.field is not None else run.table.c.id
    if m.op == "count":
        return sa.func.count(column)
    if m.op == "count_distinct":
        return sa.func.count(sa.distinct(column))
    return _aggregate(m.op, column)


def _aggregate(op: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``sum``, ``avg``, ``min`` or ``max`` of ``column``."""
    if op == "sum":
        return sa.func.sum(column)
    if op == "avg":
        # a REAL on SQLite, whose decimal columns hold scaled integers
        return sa.func.avg(plain_number(column))
    if op == "min":
        return sa.func.min(column)
    return sa.func.max(column)


def _measure_column(run: ReportRun, spec: AggregateSpec, m: MeasureDef) -> Column:
    if m.op == "ratio":
        return Column(m.name, m.label, "ratio")
    if m.op in ("count", "count_distinct"):
        return Column(m.name, m.label, "integer")
    if m.op == "avg":
        return Column(m.name, m.label, "number")
    entity = run.model.entity(spec.related.entity) if m.of == "related" and spec.related else run.entity
    return field_column(m.name, field_of(entity, str(m.field)), m.label)


def _having(
    spec: AggregateSpec, expressions: Mapping[str, ColumnElement[Any]], values: Mapping[str, Any]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for name, condition in (spec.having or {}).items():
        expression = expressions[name]
        if not isinstance(condition, Mapping) or set(condition) == {"param"}:
            value = having_value(condition, values)
            conditions.append(expression.is_(None) if value is None else expression == value)
            continue
        for op, operand in condition.items():
            if op == "is_null":
                conditions.append(expression.is_(None) if operand else expression.is_not(None))
            else:
                conditions.append(_COMPARISONS[op](expression, having_value(operand, values)))
    return conditions


def _value(run: ReportRun, source: ValueSource, selected: Any) -> tuple[Any, ColumnElement[Any], Any]:
    """(the FROM with the scores joined when needed, the value, the grade or None)."""
    if source.scoring is None:
        return selected, run.table.c[str(source.field)], None
    s = scores.alias("score")
    joined = selected.join(s, sa.and_(s.c.scoring == source.scoring, s.c.record_id == run.table.c.id))
    # a user's override stands in for the computed score, as everywhere else
    value = sa.func.coalesce(s.c.override_value, s.c.value)
    return joined, value, sa.func.coalesce(s.c.override_grade, s.c.grade)


def ranking(run: ReportRun, spec: RankingSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """The top records by a field or score, ranked (ties share a rank)."""
    shown = run.grouping([GroupKey(c) for c in spec.columns])
    source, value, grade = _value(run, spec.rank_by, shown.source)
    ordered = value.desc() if spec.order == "desc" else value.asc()
    selected = [
        sa.func.rank().over(order_by=ordered).label("rank"),
        run.table.c.id.label("id"),
        *shown.labelled(),
        value.label("value"),
    ]
    if grade is not None:
        selected.append(grade.label("grade"))
    query = (
        sa.select(*selected)
        .select_from(source)
        .where(run.where(), value.is_not(None))
        .order_by(ordered, run.table.c.id)
        .limit(spec.limit)
    )
    if spec.rank_by.scoring is not None:
        scoring = run.model.definitions.scorings[spec.rank_by.scoring]
        value_column = Column("value", scoring.label, "number")
    else:
        value_column = field_column("value", field_of(run.entity, str(spec.rank_by.field)))
    columns = [
        Column("rank", Label("Rank", "排名"), "integer"),
        Column("id", Label("ID", "编号"), "reference"),
        *shown.columns,
        value_column,
    ]
    if grade is not None:
        columns.append(Column("grade", Label("Grade", "等级"), "string"))
    return columns, run.fetch(query)


def distribution(run: ReportRun, spec: DistributionSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """Records per bin of a value, or per grade of a scoring."""
    if spec.grades_of is not None:
        return _grades(run, spec, spec.grades_of)
    assert spec.value is not None
    source, value, _grade = _value(run, spec.value, run.table)
    bins = list(spec.bins)
    bucket = sa.case(
        (value < bins[0], -1),
        *((value < bins[i + 1], i) for i in range(len(bins) - 1)),
        else_=len(bins) - 1,
    )
    # bucketed in a subquery and grouped outside it: PostgreSQL does not see a CASE with
    # bound bounds in SELECT and GROUP BY as one expression
    per_record = sa.select(bucket.label("bucket")).select_from(source).where(run.where(), value.is_not(None))
    buckets = per_record.subquery("buckets")
    query = sa.select(buckets.c.bucket, sa.func.count().label("records")).group_by(buckets.c.bucket)
    counts = {int(r["bucket"]): int(r["records"]) for r in run.fetch(query)}
    total = sum(counts.values())
    rows: list[dict[str, Any]] = []
    if counts.get(-1):
        rows.append({"bin": f"< {_number(bins[0])}", "lower": None, "upper": bins[0], "records": counts[-1]})
    for i, lower in enumerate(bins):
        upper = bins[i + 1] if i + 1 < len(bins) else None
        text = f"{_number(lower)}–{_number(upper)}" if upper is not None else f"≥ {_number(lower)}"
        rows.append({"bin": text, "lower": lower, "upper": upper, "records": counts.get(i, 0)})
    for row in rows:
        row["share"] = int(row["records"]) / total if total else None
    columns = [
        Column("bin", Label("Bin", "区间"), "string"),
        Column("lower", Label("From", "下限"), "number"),
        Column("upper", Label("Below", "上限(不含)"), "number"),
        _RECORDS,
        _SHARE,
    ]
    return columns, rows


def _grades(run: ReportRun, spec: DistributionSpec, scoring: str) -> tuple[list[Column], list[dict[str, Any]]]:
    source, _, grade = _value(run, ValueSource(scoring=scoring), run.table)
    query = (
        sa.select(grade.label("grade"), sa.func.count().label("records"))
        .select_from(source)
        .where(run.where(), grade.is_not(None))
        .group_by(grade)
    )
    counts = {str(r["grade"]): int(r["records"]) for r in run.fetch(query)}
    total = sum(counts.values())
    order = [*spec.grade_order, *sorted(g for g in counts if g not in spec.grade_order)]
    rows = [
        {"grade": g, "records": counts.get(g, 0), "share": counts.get(g, 0) / total if total else None} for g in order
    ]
    return [Column("grade", Label("Grade", "等级"), "string"), _RECORDS, _SHARE], rows


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
