"""Stage probabilities learned from the workflow history, for ``"probabilities": "learned"``.

An open state's probability is, of the report's records that ever entered it and are now
closed (in a final state), the share that is now in a won state (the workflow's final states
named in :data:`engine.workspace.WON_STATES`). A state learned from fewer than ``min_sample``
closed records takes the pooled share of the closed records that entered it or any open state
after it (in the order of the driven field's choices); when even that pool is too small, the
probability is unknown (``None``) and its records count in the amount but not in the weighted
amount. Counting happens in SQL, over the report's records within the asking user's read scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.metadata import ForecastSpec
from engine.storage import workflow_history

from ._context import ReportRun
from ._sql import now_value


@dataclass(frozen=True)
class Learned:
    """One open state's probability (percent; ``None`` when unknown) and the closed records
    it was learned from."""

    probability: Decimal | None
    sample: int


def open_states(run: ReportRun) -> tuple[str, ...]:
    """The states that are not final, in the order of the driven field's choices."""
    field = run.entity.fields[run.workflow.field]
    states = run.workflow.states
    return tuple(c.value for c in field.choices if c.value in states and not states[c.value].final)


def _won_states(run: ReportRun) -> tuple[str, ...]:
    # engine.workspace reads reports itself: imported here, once both are loaded
    from engine.workspace import won_states

    return won_states(run.workflow)


def _since(run: ReportRun, spec: ForecastSpec) -> datetime | None:
    since = spec.learned_since
    if since is None:
        return None
    if since.days is not None:
        return run.now - timedelta(days=since.days)
    value = run.values.get(since.param or "")
    if isinstance(value, str):  # parameters arrive in their ISO 8601 form
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=run.now.tzinfo)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=run.now.tzinfo)
    return None


def learned_probabilities(run: ReportRun, spec: ForecastSpec) -> dict[str, Learned]:
    """Every open state's learned probability, in the order of the field's choices."""
    states = open_states(run)
    if not states:
        return {}
    h = workflow_history
    table = run.table
    current = table.c[run.workflow.field]
    finals = [s.name for s in run.workflow.states.values() if s.final]
    won = sa.case((current.in_(_won_states(run)), 1), else_=0)
    closed = sa.select(table.c.id.label("rid"), won.label("won")).where(run.where(), current.in_(finals))
    since = _since(run, spec)
    if since is not None:
        closing = h.alias("closing")
        closed = closed.where(
            sa.exists().where(
                closing.c.record_id == table.c.id,
                closing.c.entity == run.report.entity,
                closing.c.workflow == run.workflow.name,
                closing.c.to_state == current,
                closing.c.at >= now_value(since, dialect=run.dialect),
            )
        )
    records = closed.subquery("closed")
    on = sa.and_(h.c.record_id == records.c.rid, h.c.entity == run.report.entity, h.c.workflow == run.workflow.name)
    stage = sa.case({s: i for i, s in enumerate(states)}, value=h.c.to_state)
    per_record = (
        sa.select(
            records.c.won,
            sa.func.max(stage).label("furthest"),
            *(sa.func.max(sa.case((h.c.to_state == s, 1), else_=0)).label(f"e{i}") for i, s in enumerate(states)),
        )
        .select_from(records.join(h, on))
        .where(h.c.to_state.in_(states))
        .group_by(records.c.rid, records.c.won)
        .subquery("per_record")
    )
    p = per_record.c
    sums: list[Any] = []
    for i in range(len(states)):
        pooled = p.furthest >= i
        sums += [
            sa.func.sum(p[f"e{i}"]).label(f"sample{i}"),
            sa.func.sum(p[f"e{i}"] * p.won).label(f"won{i}"),
            sa.func.sum(sa.case((pooled, 1), else_=0)).label(f"pool{i}"),
            sa.func.sum(sa.case((pooled, p.won), else_=0)).label(f"pool_won{i}"),
        ]
    row = run.fetch(sa.select(*sums))[0]
    out: dict[str, Learned] = {}
    for i, state in enumerate(states):
        sample, wins = int(row[f"sample{i}"] or 0), int(row[f"won{i}"] or 0)
        pool, pool_wins = int(row[f"pool{i}"] or 0), int(row[f"pool_won{i}"] or 0)
        if sample >= spec.min_sample:
            out[state] = Learned(_percent(wins, sample), sample)
        elif pool >= spec.min_sample:
            out[state] = Learned(_percent(pool_wins, pool), pool)
        else:
            out[state] = Learned(None, sample)
    return out


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.0001"))
