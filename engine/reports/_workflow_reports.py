"""The report types over a workflow: ``funnel``, ``forecast``, ``time_in_state``, ``rate``.

Funnels, rates and stays are read from ``crm_workflow_history``, which has a row for every
state a record entered (creation included): the records the report counts (its ``where``
over the entity, with the group columns) are joined to their history rows. Everything is
counted in SQL; only the divisions between a few totals happen here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from engine.metadata import ForecastSpec, FunnelSpec, Label, RateSpec, TimeInStateSpec
from engine.storage import workflow_history

from ._context import ReportRun
from ._learned import learned_probabilities, open_states
from ._result import Column, ColumnType, field_column
from ._sql import Grouping, now_value, seconds_between

_STATE = Column("state", Label("State", "状态"), "state")
_UNIT_SECONDS = {"day": 86400.0, "hour": 3600.0}
_UNIT_LABELS = {"day": ("days", "天"), "hour": ("hours", "小时")}


def _records(run: ReportRun, group: Grouping) -> Subquery:
    """The report's records: ``rid`` and the group columns ``g0``, ``g1``..."""
    columns = [e.label(f"g{i}") for i, e in enumerate(group.expressions)]
    query = sa.select(run.table.c.id.label("rid"), *columns).select_from(group.source).where(run.where())
    return query.subquery("records")


def _history_of(run: ReportRun, records: Subquery) -> Any:
    h = workflow_history
    on = sa.and_(h.c.record_id == records.c.rid, h.c.entity == run.report.entity, h.c.workflow == run.workflow.name)
    return records.join(h, on)


def _group_refs(source: Subquery, group: Grouping) -> list[ColumnElement[Any]]:
    return [source.c[f"g{i}"] for i in range(len(group.columns))]


def _ordered(refs: list[ColumnElement[Any]]) -> list[Any]:
    return [r.asc().nulls_last() for r in refs]


def _group_values(row: Any, group: Grouping) -> dict[str, Any]:
    return {c.name: row[f"g{i}"] for i, c in enumerate(group.columns)}


def _ratio(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def funnel(run: ReportRun, spec: FunnelSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """Per group and stage: records that ever entered it, reached it (or a later stage),
    and the conversions."""
    h = workflow_history
    group = run.grouping(spec.by)
    records = _records(run, group)
    refs = _group_refs(records, group)
    stage = sa.case({s: i for i, s in enumerate(spec.states)}, value=h.c.to_state)
    per_record = (
        sa.select(
            *refs,
            sa.func.max(stage).label("furthest"),
            *(sa.func.max(sa.case((h.c.to_state == s, 1), else_=0)).label(f"e{i}") for i, s in enumerate(spec.states)),
        )
        .select_from(_history_of(run, records))
        .where(h.c.to_state.in_(spec.states))
        .group_by(records.c.rid, *refs)
        .subquery("per_record")
    )
    per_refs = _group_refs(per_record, group)
    query = sa.select(
        *per_refs,
        *(sa.func.sum(per_record.c[f"e{i}"]).label(f"entered{i}") for i in range(len(spec.states))),
        *(
            sa.func.sum(sa.case((per_record.c.furthest >= i, 1), else_=0)).label(f"reached{i}")
            for i in range(len(spec.states))
        ),
    )
    if per_refs:
        query = query.group_by(*per_refs).order_by(*_ordered(per_refs))
    rows: list[dict[str, Any]] = []
    for row in run.fetch(query):
        reached = [int(row[f"reached{i}"] or 0) for i in range(len(spec.states))]
        for i, state in enumerate(spec.states):
            rows.append({
                **_group_values(row, group),
                "state": state,
                "entered": int(row[f"entered{i}"] or 0),
                "reached": reached[i],
                "conversion": _ratio(reached[i], reached[i - 1]) if i else None,
                "overall": _ratio(reached[i], reached[0]),
            })  # fmt: skip
    columns = [
        *group.columns,
        _STATE,
        Column("entered", Label("Entered", "进入数"), "integer"),
        Column("reached", Label("Reached", "到达数"), "integer"),
        Column("conversion", Label("Conversion", "转化率"), "ratio"),
        Column("overall", Label("Overall conversion", "总转化率"), "ratio"),
    ]
    return columns, rows


def forecast(run: ReportRun, spec: ForecastSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """Per group: records in the listed states, their amount, and the amount weighted by
    the probability of each record's state (fixed, or learned from the history: then with
    the row's probability and the fewest closed records one of its states was learned from)."""
    if spec.learned:
        learned = learned_probabilities(run, spec)
        probabilities = {s: v.probability for s, v in learned.items()}
    else:
        probabilities = {s: Decimal(str(p)) for s, p in spec.probabilities.items()}
    group = run.grouping(spec.by)
    amount = run.table.c[spec.amount]
    state = run.table.c[run.workflow.field]
    known = {s: p for s, p in probabilities.items() if p is not None}
    # no state with a probability: nothing is weighted
    probability: ColumnElement[Any] = (
        sa.case({s: sa.literal(p, sa.Numeric(9, 4)) for s, p in known.items()}, value=state) if known else sa.null()
    )
    measures = [
        sa.func.count(run.table.c.id).label("records"),
        sa.func.sum(amount).label("amount"),
        (sa.func.sum(amount * probability) / 100).label("weighted"),
    ]
    if spec.learned:
        samples = {s: v.sample for s, v in learned.items()}
        measures += [
            sa.func.sum(sa.case((state.in_(list(known)), amount), else_=None)).label("known_amount"),
            sa.func.min(sa.case(samples, value=state) if samples else sa.null()).label("sample"),
        ]
    query = (
        sa.select(*group.labelled(), *measures)
        .select_from(group.source)
        .where(run.where(), state.in_(list(probabilities)))
    )
    if group.expressions:
        query = query.group_by(*group.expressions).order_by(*_ordered(group.expressions))
    field = run.entity.fields[spec.amount]
    weighted_type: ColumnType = "money" if field.type == "money" else "decimal"
    columns = [
        *group.columns,
        Column("records", Label("Records", "记录数"), "integer"),
        field_column("amount", field, Label("Amount", "金额")),
        Column("weighted", Label("Weighted amount", "加权金额"), weighted_type, field.scale or 2),
    ]
    rows = run.fetch(query)
    if not group.expressions and rows and not rows[0]["records"]:
        rows = [{**rows[0], "amount": 0, "weighted": 0}]
    if spec.learned:
        columns += [
            Column("probability", Label("Probability", "赢率"), "ratio"),
            Column("sample", Label("Closed records learned from", "学习样本数"), "integer"),
        ]
        rows = [_with_probability(row) for row in rows]
    return columns, rows


def _with_probability(row: dict[str, Any]) -> dict[str, Any]:
    """The row's probability: its weighted amount over the amount of its records whose state
    has a probability (for a row of one state, that state's learned share)."""
    out = {k: v for k, v in row.items() if k != "known_amount"}
    known, weighted = row.get("known_amount"), row.get("weighted")
    out["probability"] = float(weighted) / float(known) if known and weighted is not None else None
    return out


def time_in_state(run: ReportRun, spec: TimeInStateSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """Per group and state: stays, open stays, and the average, median and longest stay."""
    states = spec.states or open_states(run)
    group = run.grouping(spec.by)
    ranked = _ranked_stays(run, group, states)
    ranked_refs = _group_refs(ranked, group)
    middle = sa.or_(ranked.c.position == (ranked.c.stays + 1) // 2, ranked.c.position == (ranked.c.stays + 2) // 2)
    query = (
        sa.select(
            *ranked_refs,
            ranked.c.state,
            sa.func.count().label("entries"),
            sa.func.sum(sa.case((ranked.c.left.is_(None), 1), else_=0)).label("current"),
            sa.func.avg(ranked.c.seconds).label("average"),
            sa.func.avg(sa.case((middle, ranked.c.seconds))).label("median"),
            sa.func.max(ranked.c.seconds).label("longest"),
        )
        .group_by(*ranked_refs, ranked.c.state)
        .order_by(*_ordered(ranked_refs))
    )
    unit = _UNIT_SECONDS[spec.unit]
    order = {s: i for i, s in enumerate(states)}
    rows = [
        {
            **_group_values(row, group),
            "state": row["state"],
            "entries": row["entries"],
            "current": row["current"] or 0,
            **{key: float(row[key]) / unit for key in ("average", "median", "longest")},
        }
        for row in run.fetch(query)
    ]
    # groups keep the database's order; within a group, states follow the report's order
    groups = {tuple(r[c.name] for c in group.columns): i for i, r in reversed(list(enumerate(rows)))}
    rows.sort(key=lambda r: (groups[tuple(r[c.name] for c in group.columns)], order[r["state"]]))
    return _time_columns(spec, group), rows


def _ranked_stays(run: ReportRun, group: Grouping, states: Sequence[str]) -> Subquery:
    """Every stay in one of ``states`` with its length in seconds, ranked by length within its
    group and state (an open stay lasts until the report's now)."""
    h = workflow_history
    records = _records(run, group)
    refs = _group_refs(records, group)
    left = sa.func.lead(h.c.at).over(partition_by=h.c.record_id, order_by=h.c.id)
    stays = (
        sa.select(*refs, h.c.to_state.label("state"), h.c.at.label("entered"), left.label("left"))
        .select_from(_history_of(run, records))
        .subquery("stays")
    )
    stay_refs = _group_refs(stays, group)
    end = sa.func.coalesce(stays.c.left, now_value(run.now, dialect=run.dialect))
    seconds = seconds_between(stays.c.entered, end, dialect=run.dialect)
    partition = [*stay_refs, stays.c.state]
    return (
        sa.select(
            *stay_refs,
            stays.c.state,
            stays.c.left,
            seconds.label("seconds"),
            sa.func.row_number().over(partition_by=partition, order_by=seconds).label("position"),
            sa.func.count().over(partition_by=partition).label("stays"),
        )
        .where(stays.c.state.in_(states))
        .subquery("ranked")
    )


def _time_columns(spec: TimeInStateSpec, group: Grouping) -> list[Column]:
    """The columns of a time-in-state report, durations in the report's unit."""
    en, zh = _UNIT_LABELS[spec.unit]
    return [
        *group.columns,
        _STATE,
        Column("entries", Label("Entries", "进入次数"), "integer"),
        Column("current", Label("Now in state", "当前数"), "integer"),
        Column("average", Label(f"Average ({en})", f"平均({zh})"), "duration"),
        Column("median", Label(f"Median ({en})", f"中位数({zh})"), "duration"),
        Column("longest", Label(f"Longest ({en})", f"最长({zh})"), "duration"),
    ]


def rate(run: ReportRun, spec: RateSpec) -> tuple[list[Column], list[dict[str, Any]]]:
    """Per group: records that reached a base state, and how many of them reached a
    passed state."""
    h = workflow_history
    group = run.grouping(spec.by)
    records = _records(run, group)
    refs = _group_refs(records, group)
    per_record = (
        sa.select(
            *refs,
            sa.func.max(sa.case((h.c.to_state.in_(spec.base), 1), else_=0)).label("based"),
            sa.func.max(sa.case((h.c.to_state.in_(spec.passed), 1), else_=0)).label("passed"),
        )
        .select_from(_history_of(run, records))
        .where(h.c.to_state.in_([*spec.base, *spec.passed]))
        .group_by(records.c.rid, *refs)
        .subquery("per_record")
    )
    per_refs = _group_refs(per_record, group)
    both = sa.and_(per_record.c.based == 1, per_record.c.passed == 1)
    query = sa.select(
        *per_refs,
        sa.func.sum(per_record.c.based).label("records"),
        sa.func.sum(sa.case((both, 1), else_=0)).label("passed"),
    ).where(per_record.c.based == 1)
    if per_refs:
        query = query.group_by(*per_refs).order_by(*_ordered(per_refs))
    rows = []
    for row in run.fetch(query):
        base, passed = int(row["records"] or 0), int(row["passed"] or 0)
        rows.append({**_group_values(row, group), "records": base, "passed": passed, "rate": _ratio(passed, base)})
    columns = [
        *group.columns,
        Column("records", Label("Records", "记录数"), "integer"),
        Column("passed", Label("Passed", "通过数"), "integer"),
        Column("rate", Label("Rate", "比率"), "ratio"),
    ]
    return columns, rows
