"""The figures a report should show, computed independently of the report engine: plain
rows read from the tables and the workflow history, filtered, grouped and counted in
Python. The preset report tests compare each report's result with these."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.metadata import (
    AggregateSpec,
    DistributionSpec,
    ForecastSpec,
    FunnelSpec,
    GroupKey,
    RankingSpec,
    RateSpec,
    ReportDef,
    TimeInStateSpec,
    thaw_json,
)
from engine.runtime import CrmEngine
from engine.storage import scores, workflow_history

Row = dict[str, Any]
Group = tuple[Any, ...]


# -- reading ------------------------------------------------------------------------------------
def records(engine: CrmEngine, entity: str, where: Any = None) -> list[Row]:
    """Every record of ``entity`` that ``where`` (a report filter without parameters) keeps."""
    table = engine.model.table(entity)
    with engine.db.read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
    test = matcher(thaw_json(where) if where is not None else None)
    return [r for r in rows if test(r)]


def history(engine: CrmEngine, entity: str, workflow: str) -> dict[int, list[Row]]:
    """Record id → its history rows of ``workflow``, in order."""
    h = workflow_history
    query = sa.select(h).where(h.c.entity == entity, h.c.workflow == workflow).order_by(h.c.id)
    found: dict[int, list[Row]] = defaultdict(list)
    with engine.db.read() as conn:
        for row in conn.execute(query).mappings():
            found[int(row["record_id"])].append(dict(row))
    return found


def score_of(engine: CrmEngine, scoring: str) -> dict[int, tuple[float | None, str | None]]:
    """Record id → (value, grade) of ``scoring``, a user's override first."""
    s = scores
    with engine.db.read() as conn:
        rows = conn.execute(
            sa.select(s.c.record_id, s.c.value, s.c.grade, s.c.override_value, s.c.override_grade).where(
                s.c.scoring == scoring
            )
        ).all()
    return {
        int(r.record_id): (
            float(r.override_value) if r.override_value is not None else (None if r.value is None else float(r.value)),
            r.override_grade if r.override_grade is not None else r.grade,
        )
        for r in rows
    }


# -- filters --------------------------------------------------------------------------------------
def matcher(where: Mapping[str, Any] | None) -> Callable[[Row], bool]:
    """The record filter language (the part reports use) as a Python predicate; SQL's
    rules for empty values: a comparison with an empty value fails, ``ne`` keeps them."""
    if not where:
        return lambda row: True
    tests: list[Callable[[Row], bool]] = []
    for key, value in where.items():
        if key == "and":
            parts = [matcher(item) for item in value]
            tests.append(lambda row, parts=parts: all(p(row) for p in parts))
        elif key == "or":
            parts = [matcher(item) for item in value]
            tests.append(lambda row, parts=parts: any(p(row) for p in parts))
        elif key == "not":
            inner = matcher(value)
            tests.append(lambda row, inner=inner: not inner(row))
        elif isinstance(value, dict):
            for op, operand in value.items():
                tests.append(_comparison(key, op, operand))
        else:
            tests.append(_comparison(key, "eq", value))
    return lambda row: all(t(row) for t in tests)


def _comparison(field: str, op: str, operand: Any) -> Callable[[Row], bool]:
    def test(row: Row) -> bool:
        value = row.get(field)
        if op == "is_null":
            return (value is None) == bool(operand)
        if op == "eq":
            return value is None if operand is None else value is not None and _same(value, operand)
        if op == "ne":
            return value is not None if operand is None else value is None or not _same(value, operand)
        if op == "in":
            return value is not None and any(_same(value, o) for o in operand)
        if value is None:
            return False
        left, right = _comparable(value, operand)
        return {"lt": left < right, "lte": left <= right, "gt": left > right, "gte": left >= right}[op]

    return test


def _same(value: Any, operand: Any) -> bool:
    left, right = _comparable(value, operand)
    return bool(left == right)


def _comparable(value: Any, operand: Any) -> tuple[Any, Any]:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return Decimal(str(value)), Decimal(str(operand))
    if isinstance(value, datetime):
        return _utc(value), _utc(datetime.fromisoformat(str(operand)))
    if isinstance(value, date):
        return value, date.fromisoformat(str(operand))
    return value, operand


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- groups ---------------------------------------------------------------------------------------
def group_value(row: Row, key: GroupKey) -> Any:
    value = row.get(key.field)
    if key.bands and value is not None:  # the band's name: how many bounds the value reached
        return key.band_labels()[sum(1 for bound in key.bands if Decimal(str(value)) >= bound)]
    if key.period is None or value is None:
        return value
    day = _utc(value).date() if isinstance(value, datetime) else value
    if key.period == "day":
        return day.isoformat()
    if key.period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if key.period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def group_of(row: Row, keys: Sequence[GroupKey]) -> Group:
    return tuple(group_value(row, k) for k in keys)


def row_group(row: Mapping[str, Any], keys: Sequence[GroupKey]) -> Group:
    """The group of a report's result row."""
    return tuple(row[k.column] for k in keys)


# -- the report types -----------------------------------------------------------------------------
def funnel(engine: CrmEngine, report: ReportDef, spec: FunnelSpec) -> dict[tuple[Group, str], tuple[int, int]]:
    """(group, stage) → (entered, reached) for every group with a record in the funnel."""
    assert report.workflow is not None
    steps = history(engine, report.entity, report.workflow)
    index = {s: i for i, s in enumerate(spec.states)}
    out: dict[tuple[Group, str], list[int]] = {}
    for row in records(engine, report.entity, spec.where):
        entered = {h["to_state"] for h in steps.get(row["id"], []) if h["to_state"] in index}
        if not entered:
            continue
        group = group_of(row, spec.by)
        furthest = max(index[s] for s in entered)
        for i, state in enumerate(spec.states):
            counts = out.setdefault((group, state), [0, 0])
            counts[0] += state in entered
            counts[1] += furthest >= i
    return {k: (v[0], v[1]) for k, v in out.items()}


def forecast(
    engine: CrmEngine, report: ReportDef, spec: ForecastSpec, now: datetime
) -> dict[Group, tuple[int, Decimal | None, Decimal | None]]:
    """Group → (records, Σ amount, Σ amount × probability ÷ 100) of the records in the listed
    states (every open state for learned probabilities, learned as of ``now``); the sums are
    empty (as SQL's) for a group none of whose records has an amount."""
    assert report.workflow is not None
    field = engine.model.definitions.workflows[report.workflow].field
    if spec.learned:
        probabilities = {s: p for s, (p, _) in learned(engine, report, spec, now).items()}
    else:
        probabilities = {s: Decimal(str(p)) for s, p in spec.probabilities.items()}
    out: dict[Group, list[Any]] = {}
    for row in records(engine, report.entity, spec.where):
        state = row[field]
        if state not in probabilities:
            continue
        totals = out.setdefault(group_of(row, spec.by), [0, None, None])
        totals[0] += 1
        if row[spec.amount] is not None:
            amount = Decimal(str(row[spec.amount]))
            totals[1] = (totals[1] or Decimal(0)) + amount
            if probabilities[state] is not None:
                totals[2] = (totals[2] or Decimal(0)) + amount * probabilities[state] / 100
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def learned(
    engine: CrmEngine, report: ReportDef, spec: ForecastSpec, now: datetime
) -> dict[str, tuple[Decimal | None, int]]:
    """Open state → (percent won of the closed records that entered it, rounded to 4 places
    as the report keeps it; the closed records it was learned from). Too few: the pool of
    those that entered it or a later open state; still too few: unknown."""
    from engine.workspace import won_states

    assert report.workflow is not None
    workflow = engine.model.definitions.workflows[report.workflow]
    entity = engine.model.definitions.entities[report.entity]
    field = workflow.field
    order = [c.value for c in entity.fields[field].choices if c.value in workflow.states]
    open_ = [s for s in order if not workflow.states[s].final]
    won = set(won_states(workflow))
    steps = history(engine, report.entity, workflow.name)
    since = None
    if spec.learned_since is not None and spec.learned_since.days is not None:
        since = now - timedelta(days=spec.learned_since.days)
    closed: list[tuple[bool, set[str]]] = []
    for row in records(engine, report.entity, spec.where):
        state = row[field]
        if not workflow.states[state].final:
            continue
        rows = steps[int(row["id"])]
        if since is not None and not any(h["to_state"] == state and _aware(h["at"]) >= since for h in rows):
            continue
        closed.append((state in won, {h["to_state"] for h in rows}))
    out: dict[str, tuple[Decimal | None, int]] = {}
    for i, state in enumerate(open_):
        entered = [w for w, seen in closed if state in seen]
        pooled = [w for w, seen in closed if seen & set(open_[i:])]
        for sample in (entered, pooled):
            if len(sample) >= spec.min_sample:
                share = (Decimal(100 * sum(sample)) / len(sample)).quantize(Decimal("0.0001"))
                out[state] = (share, len(sample))
                break
        else:
            out[state] = (None, len(entered))
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def rate(engine: CrmEngine, report: ReportDef, spec: RateSpec) -> dict[Group, tuple[int, int]]:
    """Group → (records that reached a base state, of them those that reached a passed one)."""
    assert report.workflow is not None
    steps = history(engine, report.entity, report.workflow)
    out: dict[Group, list[int]] = {}
    for row in records(engine, report.entity, spec.where):
        reached = {h["to_state"] for h in steps.get(row["id"], [])}
        if not reached & set(spec.base):
            continue
        counts = out.setdefault(group_of(row, spec.by), [0, 0])
        counts[0] += 1
        counts[1] += bool(reached & set(spec.passed))
    return {k: (v[0], v[1]) for k, v in out.items()}


def time_in_state(
    engine: CrmEngine, report: ReportDef, spec: TimeInStateSpec, states: Sequence[str], now: datetime
) -> dict[tuple[Group, str], dict[str, float]]:
    """(group, state) → entries, current, average, median, longest (in the report's unit)."""
    assert report.workflow is not None
    unit = 86400.0 if spec.unit == "day" else 3600.0
    steps = history(engine, report.entity, report.workflow)
    stays: dict[tuple[Group, str], list[tuple[float, bool]]] = defaultdict(list)
    for row in records(engine, report.entity, spec.where):
        rows = steps.get(row["id"], [])
        group = group_of(row, spec.by)
        for i, h in enumerate(rows):
            if h["to_state"] not in states:
                continue
            left = rows[i + 1]["at"] if i + 1 < len(rows) else None
            seconds = ((_utc(left) if left else now) - _utc(h["at"])).total_seconds()
            stays[(group, h["to_state"])].append((seconds / unit, left is None))
    return {
        key: {
            "entries": len(values),
            "current": sum(open_ for _, open_ in values),
            "average": statistics.fmean(v for v, _ in values),
            "median": statistics.median(v for v, _ in values),
            "longest": max(v for v, _ in values),
        }
        for key, values in stays.items()
    }


def aggregate(engine: CrmEngine, report: ReportDef, spec: AggregateSpec) -> dict[Group, dict[str, Any]]:
    """Group → measure name → value."""
    assert spec.having is None, "having is not used by the presets; compute it here when it is"
    related: dict[int, list[Row]] = defaultdict(list)
    if spec.related is not None:
        for row in records(engine, spec.related.entity, spec.related.where):
            if row[spec.related.field] is not None:
                related[int(row[spec.related.field])].append(row)
    groups: dict[Group, list[Row]] = defaultdict(list)
    for row in records(engine, report.entity, spec.where):
        groups[group_of(row, spec.by)].append(row)
    out: dict[Group, dict[str, Any]] = {}
    for group, rows in groups.items():
        values: dict[str, Any] = {}
        for name, m in spec.measures.items():
            if m.op == "ratio":
                continue
            source = [r for row in rows for r in related[row["id"]]] if m.of == "related" else rows
            values[name] = _measure(m.op, m.field, source, related=m.of == "related")
        for name, m in spec.measures.items():
            if m.op == "ratio":
                num, den = values[str(m.numerator)], values[str(m.denominator)]
                values[name] = None if num is None or not den else float(num) / float(den)
        out[group] = values
    return out


def _measure(op: str, field: str | None, rows: Iterable[Row], *, related: bool) -> Any:
    rows = list(rows)
    if op == "count":
        return sum(1 for r in rows if field is None or r[field] is not None)
    present = [r[str(field)] for r in rows if r[str(field)] is not None]
    if op == "count_distinct":
        return len(set(present))
    if op == "sum":
        return sum((Decimal(str(v)) for v in present), Decimal(0)) if present or related else None
    if not present:
        return None
    if op == "avg":
        return float(sum(Decimal(str(v)) for v in present) / len(present))
    return min(present) if op == "min" else max(present)


def ranking(engine: CrmEngine, report: ReportDef, spec: RankingSpec) -> list[tuple[int, int, float]]:
    """(rank, id, value) of the top records, highest first (ties share a rank)."""
    if spec.rank_by.scoring is not None:
        found = score_of(engine, spec.rank_by.scoring)
        values = {r["id"]: found.get(r["id"], (None, None))[0] for r in records(engine, report.entity, spec.where)}
    else:
        field = str(spec.rank_by.field)
        values = {r["id"]: r[field] for r in records(engine, report.entity, spec.where)}
    scored = [(float(v), i) for i, v in values.items() if v is not None]
    descending = spec.order == "desc"
    scored.sort(key=lambda p: ((-p[0] if descending else p[0]), p[1]))
    everything = [v for v, _ in scored]
    return [(1 + sum(1 for o in everything if (o > v if descending else o < v)), i, v) for v, i in scored[: spec.limit]]


def grades(engine: CrmEngine, report: ReportDef, spec: DistributionSpec) -> dict[str, int]:
    """Grade → records of the report's records with that grade of the scoring."""
    assert spec.grades_of is not None
    found = score_of(engine, spec.grades_of)
    counts: dict[str, int] = defaultdict(int)
    for row in records(engine, report.entity, spec.where):
        grade = found.get(row["id"], (None, None))[1]
        if grade is not None:
            counts[grade] += 1
    return dict(counts)
