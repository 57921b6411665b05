"""A user's day: the tasks and activities due today or overdue, the deals that have no next
step or have stayed past their stage's time limit, and what was handed to them since
yesterday. Only what the user may read: every list is a :meth:`RecordService.list` as them.

Which records are work to do is read from the definitions by their fields: an entity with a
due date (``due``, ``due_date`` or ``due_on``, a date or datetime) and a completion time
(``done_at`` or ``completed_at``) holds work items; its ``assignee`` field (else ``owner``)
says whose they are. The core preset's ``task`` and ``activity`` are such entities, and so
is any an admin defines the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import NotFoundError, PermissionDeniedError
from engine.metadata import EntityDef, WorkflowDef
from engine.storage import audit_log
from engine.users import User

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: The names a work item's fields may have, in the order they are looked for.
WORK_ITEM_FIELDS = {
    "due": ("due", "due_date", "due_on"),
    "done": ("done_at", "completed_at"),
    "assignee": ("assignee", "owner"),
}
#: How many items each list of the day shows.
LIMIT = 50


@dataclass(frozen=True)
class WorkItem:
    entity: EntityDef
    record: Mapping[str, Any]
    #: why it is on the list: ``overdue``, ``today``, ``no_next_step``, ``overdue_stage``, ``handed_over``
    reason: str
    due: date | None = None


@dataclass(frozen=True)
class MyDay:
    user: User
    today: date
    overdue: list[WorkItem] = field(default_factory=list)
    due_today: list[WorkItem] = field(default_factory=list)
    stalled: list[WorkItem] = field(default_factory=list)
    handed_over: list[WorkItem] = field(default_factory=list)


def work_fields(entity: EntityDef) -> dict[str, str] | None:
    """The due, done and assignee fields of a work-item entity; ``None`` if it is not one."""
    found: dict[str, str] = {}
    for role, names in WORK_ITEM_FIELDS.items():
        for name in names:
            f = entity.fields.get(name)
            if name == "owner" or (f is not None and _fits(role, f.type)):
                found[role] = name
                break
    return found if {"due", "done"} <= found.keys() else None


def is_work_entity(entity: EntityDef) -> bool:
    return work_fields(entity) is not None


def _fits(role: str, kind: str) -> bool:
    return {"due": kind in ("date", "datetime"), "done": kind == "datetime", "assignee": kind == "string"}[role]


def my_day(engine: CrmEngine, user: User, *, now: datetime | None = None) -> MyDay:
    """``user``'s day as of ``now`` (default: the engine's clock), in UTC days."""
    now = now or utcnow()
    today = now.date()
    day = MyDay(user, today)
    definitions = engine.model.definitions
    for entity in definitions.entities.values():
        fields = work_fields(entity)
        if fields is None or not engine.permissions.access(user, entity.name).allows("read"):
            continue
        _work_items(engine, user, entity, fields, now, day)
    for workflow in definitions.workflows.values():
        if engine.permissions.access(user, workflow.entity).allows("read"):
            _stalled(engine, user, workflow, day)
    _handed_over(engine, user, now - timedelta(days=1), day)
    return day


def _work_items(
    engine: CrmEngine, user: User, entity: EntityDef, fields: Mapping[str, str], now: datetime, day: MyDay
) -> None:
    due, done, assignee = fields["due"], fields["done"], fields.get("assignee", "owner")
    end_of_day: date | datetime = day.today
    if entity.fields[due].type == "datetime":
        end_of_day = datetime.combine(day.today, time.max, tzinfo=now.tzinfo)
    mine: dict[str, Any] = {assignee: user.name}
    if assignee != "owner":  # an item nobody was assigned is its owner's
        mine = {"or": [mine, {"and": [{assignee: {"is_null": True}}, {"owner": user.name}]}]}
    where = {"and": [mine, {done: {"is_null": True}}, {due: {"lte": _text(end_of_day)}}]}
    page = engine.records.list(entity.name, where=where, sort=due, limit=LIMIT, with_total=False, actor=user)
    for record in page.items:
        when = record.get(due)
        on = when.date() if isinstance(when, datetime) else when
        if on is None:
            continue
        item = WorkItem(entity, record, "overdue" if on < day.today else "today", on)
        (day.overdue if on < day.today else day.due_today).append(item)


def _stalled(engine: CrmEngine, user: User, workflow: WorkflowDef, day: MyDay) -> None:
    """The user's open records of ``workflow`` without a next step, or past their stage's
    time limit (as the board counts it)."""
    from engine.workflow import board

    entity = engine.model.entity(workflow.entity)
    seen: set[int] = set()
    if "next_step" in entity.fields:
        open_states = [s.name for s in workflow.states.values() if not s.final]
        where = {"and": [{"owner": user.name}, {workflow.field: {"in": open_states}}, {"next_step": {"is_null": True}}]}
        page = engine.records.list(entity.name, where=where, sort="-updated_at", limit=LIMIT, actor=user)
        for record in page.items:
            seen.add(int(record["id"]))
            day.stalled.append(WorkItem(entity, record, "no_next_step"))
    for column in board(engine, workflow.name, actor=user, owner=user.name).columns:
        for card in column.cards:
            if card.breached and int(card.record["id"]) not in seen:
                day.stalled.append(WorkItem(entity, card.record, "overdue_stage"))


def _handed_over(engine: CrmEngine, user: User, since: datetime, day: MyDay) -> None:
    """Records whose owner became the user since ``since``, by someone else."""
    query = (
        sa.select(audit_log.c.entity, audit_log.c.record_id, audit_log.c.new_value, audit_log.c.actor)
        .where(audit_log.c.field == "owner", audit_log.c.at >= since)
        .order_by(audit_log.c.id.desc())
        .limit(1000)
    )
    with engine.db.read() as conn:
        rows = [r for r in conn.execute(query) if r.new_value == user.name and r.actor != user.name]
    seen: set[tuple[str, int]] = set()
    for entity_name, record_id, _value, _actor in rows:
        key = (entity_name, int(record_id))
        if key in seen or entity_name not in engine.model.definitions.entities:
            continue
        seen.add(key)
        try:
            record = engine.records.get(entity_name, int(record_id), actor=user)
        except (NotFoundError, PermissionDeniedError):  # deleted since, or no longer theirs to read
            continue
        if record.get("owner") == user.name:
            day.handed_over.append(WorkItem(engine.model.entity(entity_name), record, "handed_over"))


def _text(value: date | datetime) -> str:
    return value.isoformat()
