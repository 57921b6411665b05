"""SLA escalations (``crm workflow tick``, run from cron) and time-in-state analytics.

A record entered a state at the time of the history row that put it there. When a state
has ``max_duration`` and the record is still in it after that long, the escalation fires
once for that entry: the ``crm_escalations`` row keyed by the history row is written in
the same transaction as the escalation, so running tick twice (or twice at once) fires
nothing twice. A refused escalation transition is recorded as such and not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import CrmError
from engine.storage import escalations, unit_of, workflow_history
from engine.users import SYSTEM_USER, Actor, SystemActor, user_of

from ._actions import ActionRunner
from ._checks import TransitionRefusedError

if TYPE_CHECKING:
    from engine.metadata import StateDef, WorkflowDef
    from engine.runtime import CrmEngine

    from ._service import WorkflowService


@dataclass(frozen=True)
class Escalation:
    entity: str
    record_id: int
    workflow: str
    state: str
    outcome: str
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def due_entries(engine: CrmEngine, now: datetime) -> list[tuple[Any, ...]]:
    """(workflow, state, history id, record id) of every state entry whose SLA has run out."""
    out: list[tuple[Any, ...]] = []
    definitions = engine.model.definitions
    h = workflow_history
    for workflow in definitions.workflows.values():
        for state in workflow.states.values():
            if state.escalation is None:
                continue
            latest = (
                sa.select(sa.func.max(h.c.id).label("hid"))
                .where(h.c.entity == workflow.entity, h.c.workflow == workflow.name)
                .group_by(h.c.record_id)
                .subquery()
            )
            query = (
                sa.select(h.c.id, h.c.record_id)
                .join(latest, h.c.id == latest.c.hid)
                .where(h.c.to_state == state.name, h.c.at <= now - state.escalation.after)
                .where(~sa.exists().where(escalations.c.history_id == h.c.id))
                .order_by(h.c.id)
            )
            with engine.db.read() as conn:
                out.extend((workflow, state, hid, rid) for hid, rid in conn.execute(query))
    return out


def tick(engine: CrmEngine, service: WorkflowService, *, now: datetime | None = None) -> list[Escalation]:
    """Fire every due escalation once; returns what was fired."""
    now = now or utcnow()
    fired = []
    for workflow, state, history_id, record_id in due_entries(engine, now):
        try:
            with engine.db.write() as tx:
                _claim(tx, workflow, state, history_id, record_id, now)
                outcome, detail = _escalate(engine, service, tx, workflow, state, record_id, now)
                tx.execute(
                    escalations.update()
                    .where(escalations.c.history_id == history_id)
                    .values(outcome=outcome, detail=detail)
                )
        except sa.exc.IntegrityError:
            continue  # a concurrent tick claimed it first
        fired.append(Escalation(workflow.entity, record_id, workflow.name, state.name, outcome, detail))
    return fired


def _claim(
    tx: sa.Connection, workflow: WorkflowDef, state: StateDef, history_id: int, record_id: int, now: datetime
) -> None:
    """Mark a state entry's escalation as running. The primary key (one escalation per state
    entry) is the claim: a second tick, or a concurrent one, fails here and fires nothing."""
    tx.execute(
        escalations.insert().values(
            history_id=history_id,
            entity=workflow.entity,
            record_id=record_id,
            workflow=workflow.name,
            state=state.name,
            fired_at=now,
            outcome="running",
        )
    )


def _escalate(
    engine: CrmEngine,
    service: WorkflowService,
    tx: sa.Connection,
    workflow: WorkflowDef,
    state: StateDef,
    record_id: int,
    now: datetime,
) -> tuple[str, str | None]:
    """Run a state's escalation (its transition, then its actions) in a savepoint; returns the
    outcome and, when refused or failed, why. A refusal undoes only the escalation."""
    escalation = state.escalation
    assert escalation is not None
    unit = unit_of(tx)
    mark = unit.mark()
    savepoint = tx.begin_nested()
    try:
        if escalation.transition:
            service.run_in(
                tx,
                workflow.entity,
                record_id,
                workflow,
                escalation.transition,
                user=SYSTEM_USER,
                inputs={},
                comment=f"escalation: {state.name} over {escalation.after}",
                expected_version=None,
                now=now,
                escalation=True,
            )
        if escalation.actions:
            compiled = service.compiled(workflow)
            record = engine.records.get(workflow.entity, record_id, actor=SystemActor("escalation"), conn=tx)
            runner = ActionRunner(engine, tx, workflow.entity, workflow, f"escalate_{state.name}", SYSTEM_USER, now)
            runner.run_set(compiled.escalation_actions[state.name], record)
        savepoint.commit()
    except (TransitionRefusedError, CrmError) as exc:
        savepoint.rollback()
        unit.rewind(mark)  # the escalation's events and hooks go with it
        return ("refused" if isinstance(exc, TransitionRefusedError) else "failed"), exc.message
    return "done", None


def time_in_states(
    engine: CrmEngine, entity: str, workflow: str, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per state: how many times records entered it, how many are in it now, and the
    average and longest stay in seconds (stays still open count up to ``now``)."""
    now = now or utcnow()
    h = workflow_history
    left = sa.func.lead(h.c.at).over(partition_by=h.c.record_id, order_by=h.c.id)
    stays = (
        sa.select(h.c.to_state.label("state"), h.c.at.label("entered"), left.label("left"))
        .where(h.c.entity == entity, h.c.workflow == workflow)
        .subquery()
    )
    if engine.db.is_sqlite:
        naive_now = now.astimezone(UTC).replace(tzinfo=None)
        end = sa.func.coalesce(stays.c.left, sa.literal(naive_now.isoformat(sep=" ")))
        seconds = (sa.func.julianday(end) - sa.func.julianday(stays.c.entered)) * 86400.0
    else:
        end = sa.func.coalesce(stays.c.left, sa.literal(now, sa.DateTime(timezone=True)))
        seconds = sa.extract("epoch", end - stays.c.entered)
    query = (
        sa.select(
            stays.c.state,
            sa.func.count().label("entries"),
            sa.func.sum(sa.case((stays.c.left.is_(None), 1), else_=0)).label("current"),
            sa.func.avg(seconds).label("avg_seconds"),
            sa.func.max(seconds).label("max_seconds"),
        )
        .group_by(stays.c.state)
        .order_by(stays.c.state)
    )
    with engine.db.read() as conn:
        return [
            {
                "state": r.state,
                "entries": int(r.entries),
                "current": int(r.current or 0),
                "avg_seconds": round(float(r.avg_seconds or 0), 3),
                "max_seconds": round(float(r.max_seconds or 0), 3),
            }
            for r in conn.execute(query)
        ]


def breach_counts(engine: CrmEngine, workflow: WorkflowDef, *, actor: Actor) -> dict[str, int]:
    """State → how many records ``actor`` may read are in it past its time limit (its
    ``max_duration``), as the board marks a card: since the record last entered the state
    (its workflow history), else since it was created. States without a limit are left out;
    one query per limited state."""
    user = user_of(actor)
    table = engine.model.table(workflow.entity)
    scope = None
    if user is not None:
        access = engine.permissions.require(user, workflow.entity, "read")
        if workflow.field in access.hidden:
            return {}
        scope = engine.permissions.scope_condition(user, table, access.read)
    h = workflow_history.c
    now = utcnow()
    out: dict[str, int] = {}
    for state in workflow.states.values():
        if state.escalation is None:
            continue
        entered = (
            sa.select(sa.func.max(h.at))
            .where(h.entity == workflow.entity, h.workflow == workflow.name, h.to_state == state.name)
            .where(h.record_id == table.c.id)
            .scalar_subquery()
        )
        since = sa.func.coalesce(entered, table.c.created_at)
        condition = sa.and_(table.c[workflow.field] == state.name, since < now - state.escalation.after)
        query = (
            sa.select(sa.func.count())
            .select_from(table)
            .where(condition if scope is None else sa.and_(condition, scope))
        )
        with engine.db.read() as conn:
            out[state.name] = int(conn.execute(query).scalar_one())
    return out
