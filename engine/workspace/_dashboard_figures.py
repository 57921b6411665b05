"""The figures of a dashboard, read from the definitions (not from preset names) and counted
as the asking user may read them: every count and sum goes through the record service
(:meth:`RecordService.list`, :func:`engine.records.group_totals`) with ``actor=user``.

Each :class:`Figure` carries the filter that selects exactly the records it counts, written
as the simple conditions an entity's list filters understand (``{field: {operator: value}}``,
operators ``eq``, ``ne``, ``gte``, ``lte``, ``is_null``), so a page can link every figure to
the list that shows those records.

What the figures mean, per workflow the user may read:

- **Open pipeline**: the records in a state that is not final, their count and the sum of
  the entity's amount field (the board's, :func:`engine.workflow.amount_field`).
- **Won**: the workflow's final states that mean a success. Workflow definitions mark states
  ``final`` but not won or lost, so a final state counts as won when its name is one of
  :data:`WON_STATES` (``won``, ``converted``, ``collected``, ``paid``…); a workflow with none
  of them has no won figure. A record was won in a period when the datetime field named after
  its state (``won_at``, ``converted_at``, ``collected_at``…, which the presets' transitions
  set) falls in it; without such a field, when it was last changed in it (``updated_at``).
- **Funnel**: the open states in their defined order with counts and amounts; the final
  states apart, with theirs. The conversion from a stage to the next is the share of the
  records that reached the stage that also reached the next one (from the last open stage:
  a won state), read from the workflow history as the ``funnel`` report reads it, so a deal
  lost on the way counts against the stage it got to.
- **Trend**: the won count and amount per week (a period up to 92 days) or month.
- **SLA breaches**: records past their state's ``max_duration``
  (:func:`engine.workflow.breach_counts`, as the board marks them).

Across entities: **new records** in the period of the lead-like entities (an entity named
in :data:`LEAD_ENTITIES`, or driven by a workflow with a ``converted`` state; else the main
workflow's entity), and **overdue work**: the work items (My day's rule,
:func:`engine.workspace.work_fields`) not done whose due day is before today, whoever they are
assigned to, among those the user may read.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.clock import utcnow
from engine.errors import CrmError
from engine.metadata import EntityDef, FunnelSpec, ReportDef, StateDef, WorkflowDef
from engine.records import group_totals
from engine.reports import run_definition
from engine.users import User
from engine.workflow import amount_field, breach_counts

from ._my_day import work_fields
from ._periods import Period

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Final states that mean a success, in the order they are looked for.
WON_STATES = ("won", "closed_won", "converted", "collected", "paid", "accepted", "completed", "finished", "approved")
#: Entities whose new records a dashboard counts, when the definitions have them.
LEAD_ENTITIES = ("lead", "prospect", "inquiry", "enquiry")

Condition = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Figure:
    """How many records of ``entity`` match ``conditions`` (all of them), and the sum of
    ``amount`` over them (``None`` without an amount field, or when none has a value)."""

    entity: str
    conditions: tuple[Condition, ...]
    count: int
    total: Decimal | None = None
    amount: str | None = None


@dataclass(frozen=True)
class Stage:
    state: StateDef
    figure: Figure
    #: share of the records that reached this stage which reached the next (None: last or none reached)
    conversion: float | None = None


@dataclass(frozen=True)
class Pipeline:
    """The figures of one workflow."""

    workflow: WorkflowDef
    amount: str | None
    open: Figure
    stages: tuple[Stage, ...]
    finals: tuple[Stage, ...]
    won_states: tuple[str, ...] = ()
    #: the field whose time says when a record was won (None: no won figure)
    won_date: str | None = None
    won: Figure | None = None
    won_before: Figure | None = None
    #: (step, won in it)
    trend: tuple[tuple[Period, Figure], ...] = ()
    #: state → records past its time limit
    breaches: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Dashboard:
    user: User
    period: Period
    previous: Period
    today: date
    pipelines: tuple[Pipeline, ...]
    #: the workflow drawn in full (funnel, trend), if any
    main: Pipeline | None
    #: (new in the period, new in the period before) per lead-like entity
    new_records: tuple[tuple[Figure, Figure], ...]
    overdue: tuple[Figure, ...]

    @property
    def breaches(self) -> int:
        return sum(sum((p.breaches or {}).values()) for p in self.pipelines)


def won_states(workflow: WorkflowDef) -> tuple[str, ...]:
    """The final states of ``workflow`` that count as won (see :data:`WON_STATES`)."""
    return tuple(s.name for s in workflow.states.values() if s.final and s.name in WON_STATES)


def won_date(entity: EntityDef, states: Sequence[str]) -> str:
    """The datetime field that says when a record entered one of ``states``: ``<state>_at``
    when the entity has it, else ``updated_at``."""
    for state in states:
        found = entity.fields.get(f"{state}_at")
        if found is not None and found.type == "datetime":
            return found.name
    return "updated_at"


def main_workflow(
    workflows: Sequence[WorkflowDef], entities: Mapping[str, EntityDef], wanted: str | None = None
) -> WorkflowDef | None:
    """``wanted`` if listed, else the first workflow with a state named ``won``, else the first
    with a won state and an amount field, else with a won state, else the first."""
    by_name = {w.name: w for w in workflows}
    if wanted in by_name:
        return by_name[wanted]
    return next(
        (w for w in workflows if "won" in won_states(w)),
        next(
            (w for w in workflows if won_states(w) and amount_field(entities[w.entity]) is not None),
            next((w for w in workflows if won_states(w)), workflows[0] if workflows else None),
        ),
    )


def dashboard(
    engine: CrmEngine, user: User, period: Period, *, workflow: str | None = None, now: datetime | None = None
) -> Dashboard:
    """The figures of ``user``'s dashboard over ``period``; ``workflow`` names the one drawn
    in full (default: :func:`main_workflow`)."""
    now = now or utcnow()
    definitions = engine.model.definitions
    readable = [w for w in definitions.workflows.values() if _reads(engine, user, w.entity, w.field)]
    chosen = main_workflow(readable, definitions.entities, workflow)
    pipelines = tuple(_pipeline(engine, user, w, period, full=w is chosen) for w in readable)
    main = next((p for p in pipelines if p.workflow is chosen), None)
    leads = _lead_entities(engine, user, readable, chosen)
    new_records = tuple(
        (_new(engine, user, entity, period), _new(engine, user, entity, period.previous())) for entity in leads
    )
    return Dashboard(
        user, period, period.previous(), now.date(), pipelines, main, new_records, _overdue(engine, user, now)
    )


def _reads(engine: CrmEngine, user: User, entity: str, field: str | None = None) -> bool:
    access = engine.permissions.access(user, entity)
    return access.allows("read") and (field is None or field not in access.hidden)


def _amount(engine: CrmEngine, user: User, entity: EntityDef) -> str | None:
    name = amount_field(entity)
    return name if name is not None and name not in engine.permissions.access(user, entity.name).hidden else None


def _pipeline(engine: CrmEngine, user: User, workflow: WorkflowDef, period: Period, *, full: bool) -> Pipeline:
    entity = engine.model.entity(workflow.entity)
    amount = _amount(engine, user, entity)
    field = workflow.field
    totals = group_totals(engine.records, entity.name, by=field, sum_of=amount, actor=user)
    finals = [s for s in workflow.states.values() if s.final]
    open_figure = _sum_of(entity.name, amount, tuple({field: {"ne": s.name}} for s in finals), totals, finals, True)
    stages = [
        Stage(s, Figure(entity.name, ({field: {"eq": s.name}},), *_of(totals, s.name), amount))
        for s in workflow.states.values()
    ]
    won = won_states(workflow)
    open_stages = _converted(engine, user, workflow, [s for s in stages if not s.state.final], won)
    pipeline = Pipeline(workflow, amount, open_figure, tuple(open_stages), tuple(s for s in stages if s.state.final))
    breaches = breach_counts(engine, workflow, actor=user)
    when = won_date(entity, won)
    if not won or when in engine.permissions.access(user, entity.name).hidden:
        return dataclasses.replace(pipeline, breaches=breaches)
    steps = period.steps() if full else []
    return dataclasses.replace(
        pipeline,
        won_states=won,
        won_date=when,
        won=_won(engine, user, workflow, won, when, amount, period),
        won_before=_won(engine, user, workflow, won, when, amount, period.previous()),
        trend=tuple((step, _won(engine, user, workflow, won, when, amount, step)) for step in steps),
        breaches=breaches,
    )


def _of(totals: Mapping[Any, Any], state: str) -> tuple[int, Decimal | None]:
    found = totals.get(state)
    return (found.count, found.total) if found is not None else (0, None)


def _sum_of(
    entity: str,
    amount: str | None,
    conditions: tuple[Condition, ...],
    totals: Mapping[Any, Any],
    states: Sequence[StateDef],
    exclude: bool,
) -> Figure:
    """The records of the groups of ``totals`` outside (``exclude``) or inside ``states``."""
    names = {s.name for s in states}
    picked = [t for value, t in totals.items() if value is not None and (value not in names) == exclude]
    sums = [t.total for t in picked if t.total is not None]
    return Figure(entity, conditions, sum(t.count for t in picked), sum(sums, Decimal(0)) if sums else None, amount)


def _converted(
    engine: CrmEngine, user: User, workflow: WorkflowDef, stages: list[Stage], won: Sequence[str]
) -> list[Stage]:
    """The open stages with the share of the records that reached each one which reached the
    next (the last open stage: a won state), from the workflow history as the ``funnel``
    report reads it: a record reached a stage when it entered it or a later one, so a deal
    lost in the proposal reached the proposal and counts against its conversion. Over every
    record the user may read; none when a field of the entity is hidden from them (as the
    reports refuse) or nothing has entered the first stage."""
    if not stages:
        return stages
    states = (*(s.state.name for s in stages), *won[:1])
    report = ReportDef(
        name=f"dashboard_{workflow.name}_conversion",
        type="funnel",
        label=workflow.label,
        entity=workflow.entity,
        workflow=workflow.name,
        spec=FunnelSpec(states=states),
    )
    try:
        rows = run_definition(engine, report, actor=user).rows
    except CrmError:
        return stages
    conversion = {r["state"]: r["conversion"] for r in rows}
    following = dict(itertools.pairwise(states))
    return [Stage(s.state, s.figure, conversion.get(following.get(s.state.name, ""))) for s in stages]


def _won(
    engine: CrmEngine,
    user: User,
    workflow: WorkflowDef,
    states: Sequence[str],
    when: str,
    amount: str | None,
    period: Period,
) -> Figure:
    entity, field = workflow.entity, workflow.field
    dated = _between(when, period)
    if len(states) == 1:
        conditions: tuple[Condition, ...] = ({field: {"eq": states[0]}}, *dated)
    else:  # none of the other states: a list filter has no "in"
        conditions = (*({field: {"ne": s}} for s in workflow.states if s not in states), *dated)
    totals = group_totals(engine.records, entity, by=field, sum_of=amount, where={"and": list(conditions)}, actor=user)
    sums = [t.total for t in totals.values() if t.total is not None]
    return Figure(
        entity, conditions, sum(t.count for t in totals.values()), sum(sums, Decimal(0)) if sums else None, amount
    )


def _lead_entities(
    engine: CrmEngine, user: User, workflows: Sequence[WorkflowDef], chosen: WorkflowDef | None
) -> list[str]:
    definitions = engine.model.definitions
    named = [n for n in LEAD_ENTITIES if n in definitions.entities]
    converting = [w.entity for w in workflows if "converted" in w.states]
    found = [e for e in dict.fromkeys([*named, *converting]) if _reads(engine, user, e)]
    if not found and chosen is not None:
        found = [chosen.entity]
    return found


def _new(engine: CrmEngine, user: User, entity: str, period: Period) -> Figure:
    conditions = _between("created_at", period)
    total = engine.records.list(entity, where={"and": list(conditions)}, limit=0, actor=user).total
    return Figure(entity, conditions, total or 0)


def _overdue(engine: CrmEngine, user: User, now: datetime) -> tuple[Figure, ...]:
    """Per work-item entity the user may read: the items not done, due before today."""
    out = []
    today = now.date()
    for entity in engine.model.definitions.entities.values():
        fields = work_fields(entity)
        if fields is None or not _reads(engine, user, entity.name):
            continue
        hidden = engine.permissions.access(user, entity.name).hidden
        due, done = fields["due"], fields["done"]
        if due in hidden or done in hidden:
            continue
        before: date | datetime = today - timedelta(days=1)
        if entity.fields[due].type == "datetime":
            before = datetime.combine(today, time.min, tzinfo=now.tzinfo) - timedelta(microseconds=1)
        conditions: tuple[Condition, ...] = ({done: {"is_null": True}}, {due: {"lte": before.isoformat()}})
        total = engine.records.list(entity.name, where={"and": list(conditions)}, limit=0, actor=user).total
        out.append(Figure(entity.name, conditions, total or 0))
    return tuple(out)


def _between(field: str, period: Period) -> tuple[Condition, ...]:
    return ({field: {"gte": period.start.isoformat()}}, {field: {"lte": period.end.isoformat()}})
