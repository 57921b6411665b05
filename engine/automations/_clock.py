"""The clock's triggers: date triggers and schedules, planned by the tick and run once.

**Date triggers** (``{"event": "date", "field": F, "offset": "-P60D"}``): an occurrence of
a record is due when the date of ``F`` plus the offset has come (a ``date`` field at
midnight UTC). Its *occurrence key* is the date it counts from (with ``yearly``: that year's
anniversary), so the unique key (automation, record, occurrence) of the run table makes it
fire once however often, however late and however many ticks run; a record whose date
changes gets a new key, and so is planned again. A tick fires what is due and not older
than the trigger's ``catch_up`` (unbounded, or seven days for ``yearly``); the ``when``
rule is asked at the tick, and an occurrence whose rule does not hold is asked again at the
next tick.

**Schedules** (``{"event": "schedule", "cron": "0 8 * * 1"}``, UTC): the latest cron slot
that has come is claimed once (a row in ``crm_automation_slots``); the claiming tick plans
one run for each record for which ``when`` holds. A schedule's first slot is fired only if
it came within the last hour, so defining a weekly schedule does not fire last week's.

The planned runs are pending rows, run by :meth:`AutomationService.run_pending` (retried,
visible), in the same tick.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.metadata import YEARLY_CATCH_UP
from engine.storage import automation_runs, automation_slots, to_jsonable

from ._compiled import CompiledAutomation

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Ids asked about at once when looking up which occurrences already fired.
_CHUNK = 500
#: A schedule's very first slot fires only if it came this recently.
FIRST_SLOT = timedelta(hours=1)
#: The claim under which the daily refresh of derived fields runs once a day.
DAILY_REFRESH = "__daily_refresh"


@dataclass
class TickReport:
    """What one tick did."""

    planned: dict[str, int] = field(default_factory=dict)
    ran: int = 0
    escalations: int = 0
    refreshed: dict[str, int] | None = None
    #: webhook deliveries sent (delivered or not)
    webhooks: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": dict(self.planned),
            "ran": self.ran,
            "escalations": self.escalations,
            "refreshed": self.refreshed,
            "webhooks": self.webhooks,
        }


def tick(engine: CrmEngine, *, now: datetime | None = None) -> TickReport:
    """Everything due once: date and schedule triggers, the runs waiting, SLA escalations,
    (once a day) the refresh of derived fields that read the clock, and the webhook
    deliveries due (the embedded default needs no queue). Idempotent."""
    from engine.workflow import tick as escalate

    now = now or utcnow()
    report = TickReport()
    service = engine.automations
    for automation in service.compiled().on_clock:
        planned = plan(engine, automation, now)
        if planned:
            report.planned[automation.name] = planned
    report.ran = service.run_pending(now=now)
    report.escalations = len(escalate(engine, engine.workflows, now=now))
    if _claim(engine, DAILY_REFRESH, datetime(now.year, now.month, now.day, tzinfo=UTC), now):
        model = engine.model
        derived = engine.derived.plan(model)
        daily = [n for n in derived.entities_with_derived() if derived.entity(n).daily]
        report.refreshed = engine.derived.refresh_entities(model, daily, actor="system:daily refresh", now=now)
    report.webhooks = engine.webhooks.work(now=now)
    return report


def catch_up(engine: CrmEngine, now: datetime) -> int:
    """The date and schedule automations due at ``now`` planned and run, as of ``now`` (for
    data written in bulk "as of" a moment: demo data whose agreements ended a month ago are
    expired as the tick would have done). Returns how many runs ran."""
    from engine.clock import frozen

    if not engine.has_definitions:
        return 0
    service = engine.automations
    with frozen(now):
        for automation in service.compiled().on_clock:
            plan(engine, automation, now)
        return service.run_pending(now=now)


def plan(engine: CrmEngine, automation: CompiledAutomation, now: datetime) -> int:
    """Write the pending runs of a clock automation that are due at ``now``; how many."""
    if automation.definition.trigger.event == "date":
        return _plan_dates(engine, automation, now)
    return _plan_schedule(engine, automation, now)


def _anniversary(value: date, year: int) -> date:
    day = min(value.day, calendar.monthrange(year, value.month)[1])  # 29 February → 28th
    return date(year, value.month, day)


def _due(automation: CompiledAutomation, value: date | datetime, now: datetime) -> str | None:
    """The occurrence key of ``value`` if an occurrence is due at ``now``, else ``None``."""
    trigger = automation.definition.trigger
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day, tzinfo=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    catch_up = trigger.catch_up if trigger.catch_up is not None else (YEARLY_CATCH_UP if trigger.yearly else None)
    candidates: list[tuple[datetime, str]] = []
    if trigger.yearly:
        for year in (now.year - 1, now.year, now.year + 1):
            day = _anniversary(moment.date(), year)
            at = moment.replace(year=day.year, month=day.month, day=day.day) + trigger.offset
            candidates.append((at, day.isoformat()))
    else:
        candidates.append((moment + trigger.offset, value.isoformat()))
    for at, key in candidates:
        if at <= now and (catch_up is None or at >= now - catch_up):
            return key
    return None


def _plan_dates(engine: CrmEngine, automation: CompiledAutomation, now: datetime) -> int:
    definition = automation.definition
    trigger = definition.trigger
    assert trigger.field is not None
    table = engine.model.table(definition.entity)
    column = table.c[trigger.field]
    query = sa.select(table).where(column.is_not(None)).order_by(table.c.id)
    if not trigger.yearly:
        # only what can be due: the date plus the offset has come (and not too long ago)
        is_date = not isinstance(column.type, sa.DateTime)
        latest = now - trigger.offset
        query = query.where(column <= (latest.date() if is_date else latest))
        if trigger.catch_up is not None:
            earliest = now - trigger.offset - trigger.catch_up
            query = query.where(column >= (earliest.date() if is_date else earliest))
    planned = 0
    with engine.db.write() as conn:
        for rows in _chunks(conn.execute(query).mappings().all()):
            due = {row["id"]: (row, key) for row in rows if (key := _due(automation, row[trigger.field], now))}
            if not due:
                continue
            fired = _fired(conn, definition.name, list(due))
            for record_id, (row, key) in due.items():
                if (record_id, key) in fired:
                    continue
                if _holds(automation, dict(row), now):
                    planned += _insert_run(conn, automation, dict(row), key, now)
    return planned


def _plan_schedule(engine: CrmEngine, automation: CompiledAutomation, now: datetime) -> int:
    from croniter import croniter

    definition = automation.definition
    assert definition.trigger.cron is not None
    slot = croniter(definition.trigger.cron, now).get_prev(datetime)
    slot = slot if slot.tzinfo else slot.replace(tzinfo=UTC)
    runs = automation_slots.c
    with engine.db.read() as conn:
        first = conn.execute(sa.select(sa.func.count()).where(runs.automation == definition.name)).scalar() == 0
    if not _claim(engine, definition.name, slot, now) or (first and slot < now - FIRST_SLOT):
        return 0
    table = engine.model.table(definition.entity)
    planned = 0
    with engine.db.write() as conn:
        for rows in _chunks(conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()):
            for row in rows:
                if _holds(automation, dict(row), now):
                    planned += _insert_run(conn, automation, dict(row), f"cron:{slot.isoformat()}", now)
    return planned


def _claim(engine: CrmEngine, name: str, slot: datetime, now: datetime) -> bool:
    """Claim ``slot`` of ``name`` for this tick; False when another tick has it."""
    with engine.db.write() as conn:
        return _inserted(conn, automation_slots, {"automation": name, "slot": slot, "claimed_at": now})


def _holds(automation: CompiledAutomation, record: dict[str, Any], now: datetime) -> bool:
    if automation.when is None:
        return True
    data: dict[str, Any] = {"record": record, "before": record, "changes": {}, "now": now, "created": {}}
    data |= {"event": {"type": automation.definition.trigger.event}, "user": {"name": None, "roles": [], "team": None}}
    return bool(automation.when.evaluate(data))


def _insert_run(
    conn: Connection, automation: CompiledAutomation, record: Mapping[str, Any], key: str, now: datetime
) -> int:
    definition = automation.definition
    row = {
        "automation": definition.name,
        "entity": definition.entity,
        "record_id": record["id"],
        "trigger": definition.trigger.event,
        "occurrence": key,
        "status": "pending",
        "mode": "background",
        "attempts": 0,
        "next_attempt_at": now,
        "context": {
            "record_id": record["id"],
            "event": {"type": definition.trigger.event, "occurrence": key},
            "before": to_jsonable(dict(record)),
            "actor": None,
            "chain": [definition.name],
        },
        "created_at": now,
    }
    return int(_inserted(conn, automation_runs, row))


def _inserted(conn: Connection, table: sa.Table, row: Mapping[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``: the unique key decides who claims a row; True
    for the one who inserted it. (PostgreSQL reports no row count for it through psycopg, so
    it is asked with ``RETURNING``; SQLite cannot finish a ``RETURNING`` that returned nothing
    before its commit, so there the row count answers.)"""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        key = next(iter(table.primary_key.columns))
        return conn.execute(pg_insert(table).values(row).on_conflict_do_nothing().returning(key)).first() is not None
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return conn.execute(sqlite_insert(table).values(row).on_conflict_do_nothing()).rowcount == 1


def _fired(conn: Connection, automation: str, ids: list[int]) -> set[tuple[int, str]]:
    runs = automation_runs.c
    query = sa.select(runs.record_id, runs.occurrence).where(runs.automation == automation, runs.record_id.in_(ids))
    return {(r, o) for r, o in conn.execute(query)}


def _chunks(rows: Any) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
