"""Running automations: inside the triggering change, after it as a retried run, and on the clock.

- **transaction** mode (record triggers): just before a write commits, the database hands
  its unit of work here (:meth:`AutomationService.settle`). Each record event of the unit is
  matched against the automations of its entity; the matching ones whose ``when`` holds run
  their actions in the same transaction, and the events those actions emit are matched in
  turn. A failing action refuses the whole write, naming the automation.
- **background** mode: the same matching writes a *pending* run row in the triggering
  transaction (a committed change never loses its run, a rolled-back one leaves none);
  :meth:`AutomationService.run_pending` runs it after the commit, in its own transaction,
  retried with exponential backoff and shown as failed after the last attempt.
- **date** and **schedule** triggers are planned by :meth:`AutomationService.tick` (see
  ``_clock``), which writes pending runs keyed so that each fires once, then runs them.

Loop protection: every change records which automations' actions made it (``unit.cause``).
An automation is never set off by a change its own actions made, and a chain of automations
deeper than :data:`MAX_DEPTH` stops with a logged error and a failed run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, CrmError, NotFoundError, PermissionDeniedError, Problem
from engine.metadata import automation_to_json
from engine.storage import (
    RECORD_CREATED,
    RECORD_DELETED,
    RECORD_TRANSITIONED,
    RECORD_UPDATED,
    DomainEvent,
    UnitOfWork,
    automation_runs,
    to_jsonable,
    unit_of,
)
from engine.users import SYSTEM_USER, SystemActor, User
from engine.workflow import assign, notify, run_transition, run_update

from ._compiled import CompiledAutomation, CompiledAutomations

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine

log = logging.getLogger("engine.automations")

#: The longest chain of automations set off by one another's changes.
MAX_DEPTH = 5
#: How often a background run is tried before it is shown as failed.
MAX_ATTEMPTS = 6
#: The first retry waits this long; each next one twice as long (with jitter).
FIRST_RETRY = timedelta(seconds=30)
#: A run claimed by a worker that died is taken up again after this long.
LEASE = timedelta(minutes=10)
#: The most runs one call of :meth:`AutomationService.run_pending` takes.
BATCH = 200

#: skipped: a clock run whose ``when`` no longer held when its turn came (the record changed)
STATUSES = ("pending", "running", "done", "failed", "skipped")


class AutomationFailedError(CrmError):
    """An automation's action failed inside the change that set it off, so the change is refused."""

    code = "automation_failed"
    exit_code = 8
    http_status = 409

    def __init__(self, automation: str, cause: CrmError) -> None:
        problems = [Problem(p.code, f"automation {automation}: {p.message}", field=p.field) for p in cause.problems]
        if not problems:
            problems = [Problem("automation_failed", f"automation {automation}: {cause.message}")]
        super().__init__(
            f"the automation {automation!r} failed, so the change was not saved: {cause.message}", problems
        )
        self.automation = automation


@dataclass(frozen=True)
class AutomationRun:
    """One row of ``crm_automation_runs``."""

    id: int
    automation: str
    entity: str
    record_id: int | None
    trigger: str
    occurrence: str | None
    status: str
    mode: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "context"}
        for key in ("next_attempt_at", "created_at", "finished_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


#: The field that says whose a record is.
OWNER = "owner"


def _system_as(automation: str) -> User:
    """The administrator identity an automation runs transitions as (the history names it)."""
    return User(name=f"system:automation:{automation}", roles=SYSTEM_USER.roles)


def actor_of(automation: str) -> SystemActor:
    """Who an automation's writes are recorded as: ``system:automation:<name>``."""
    return SystemActor(f"automation:{automation}")


def _event_json(event: DomainEvent) -> dict[str, Any]:
    """What a rule reads as ``event``: its short type and the payload's keys but the record."""
    short = event.type.removeprefix("record.")
    return {"type": short, **{k: v for k, v in event.payload.items() if k not in ("record",)}}


def _before(record: Mapping[str, Any], event: DomainEvent) -> dict[str, Any]:
    """The record as it was before an update: the changed fields' old values."""
    before = dict(record)
    changes = event.payload.get("changes")
    if event.type == RECORD_UPDATED and isinstance(changes, Mapping):
        for name, change in changes.items():
            if isinstance(change, Mapping):
                before[name] = change.get("old")
    return before


class AutomationService:
    """Automations of the live definitions: run, listed and retried."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._compiled: tuple[int, CompiledAutomations] | None = None

    def compiled(self, model: CompiledModel | None = None) -> CompiledAutomations:
        """The automations of ``model`` (the live one by default), compiled once per version."""
        model = model or self._engine.model
        cached = self._compiled
        if cached is None or cached[0] != model.version:
            cached = (model.version, CompiledAutomations.build(model.definitions))
            self._compiled = cached
        return cached[1]

    # -- inside the triggering change ------------------------------------------------------

    def settle(self, conn: Connection, unit: UnitOfWork) -> None:
        """Run the automations the unit's record events set off (see the module docstring)."""
        self._cascade(conn, unit, ())

    def wants_created(self, entity: str) -> bool:
        """Whether an automation answers the creation of ``entity`` records."""
        return self._engine.has_definitions and bool(self.compiled().on_record.get((entity, RECORD_CREATED)))

    def created_in_bulk(
        self, conn: Connection, entity: str, records: Sequence[Mapping[str, Any]], actor: str | None
    ) -> None:
        """Run the ``created`` automations of records written in bulk (an import batch, demo
        data), each as if the record had been created alone: inside the same transaction, or
        as a pending run for a ``background`` automation. Free when none is defined."""
        if not records or not self.wants_created(entity):
            return
        unit = unit_of(conn)
        self.settle(conn, unit)  # what the transaction did before the batch, first
        version = self._engine.version
        seeds = [
            DomainEvent(RECORD_CREATED, entity, int(r["id"]), actor, {}, definitions_version=version, record=dict(r))
            for r in records
        ]
        self._cascade(conn, unit, seeds)

    def _cascade(self, conn: Connection, unit: UnitOfWork, seeds: Sequence[DomainEvent]) -> None:
        """Fire what ``seeds`` and the unit's events not yet settled set off, then what those
        automations' own writes set off, and so on (chains are stopped at ``MAX_DEPTH``)."""
        compiled = self.compiled()
        if not compiled.on_record:
            unit.settled = len(unit.events)
            return
        now = utcnow()
        causes: dict[int, tuple[str, ...]] = {}

        def answer(event: DomainEvent, chain: tuple[str, ...]) -> None:
            if event.entity is None or event.record_id is None:
                return
            for automation in compiled.on_record.get((event.entity, event.type), ()):
                if automation.name in chain or not automation.fires_on(event.type, event.payload):
                    continue
                start = len(unit.events)
                self._fire(conn, unit, automation, event, chain, now)
                causes.update(dict.fromkeys(range(start, len(unit.events)), (*chain, automation.name)))

        for seed in seeds:
            answer(seed, unit.cause)
        index = unit.settled
        while index < len(unit.events):
            event, chain = unit.events[index], causes.get(index, unit.cause)
            index += 1
            answer(event, chain)
        unit.settled = index

    def _fire(
        self,
        conn: Connection,
        unit: UnitOfWork,
        automation: CompiledAutomation,
        event: DomainEvent,
        chain: tuple[str, ...],
        now: datetime,
    ) -> None:
        record = self._record_of(conn, event)
        data = self._data(record, event, now)
        if automation.when is not None and not automation.when.evaluate(data):
            return
        definition = automation.definition
        context = {
            "record_id": event.record_id,
            "before": to_jsonable(data["before"]),
            "event": to_jsonable(data["event"]),
            "actor": event.actor,
            "chain": [*chain, automation.name],
        }
        row = {
            "automation": automation.name,
            "entity": definition.entity,
            "record_id": event.record_id,
            "trigger": definition.trigger.event,
            "mode": definition.mode,
            "context": context,
            "created_at": now,
        }
        if len(chain) >= MAX_DEPTH:
            message = (
                f"stopped: a chain of automations deeper than {MAX_DEPTH} ({' → '.join([*chain, automation.name])})"
            )
            log.error("automation %s on %s %s %s", automation.name, event.entity, event.record_id, message)
            conn.execute(
                automation_runs.insert().values({**row, "status": "failed", "error": message, "finished_at": now})
            )
            return
        if definition.mode == "background":
            conn.execute(automation_runs.insert().values({**row, "status": "pending", "next_attempt_at": now}))
            return
        saved, unit.cause = unit.cause, (*chain, automation.name)
        try:
            with unit.savepoint():
                self.run_actions(conn, automation, record, data, now)
        except CrmError as exc:
            raise AutomationFailedError(automation.name, exc) from exc
        finally:
            unit.cause = saved
        conn.execute(automation_runs.insert().values({**row, "status": "done", "attempts": 1, "finished_at": now}))

    def _record_of(self, conn: Connection, event: DomainEvent) -> dict[str, Any]:
        assert event.entity is not None and event.record_id is not None
        if event.type == RECORD_DELETED or event.type == RECORD_TRANSITIONED or event.record is None:
            if event.type == RECORD_DELETED:
                stored = event.payload.get("record")
                return dict(stored) if isinstance(stored, Mapping) else {"id": event.record_id}
            return dict(self._engine.records.get(event.entity, event.record_id, actor=actor_of("read"), conn=conn))
        return dict(event.record)

    def _data(self, record: Mapping[str, Any], event: DomainEvent, now: datetime) -> dict[str, Any]:
        return {
            "record": dict(record),
            "before": _before(record, event),
            "changes": {},
            "event": _event_json(event),
            "user": {"name": event.actor, "roles": [], "team": None},
            "now": now,
            "created": {},
        }

    def run_actions(
        self,
        conn: Connection,
        automation: CompiledAutomation,
        record: dict[str, Any],
        data: dict[str, Any],
        now: datetime,
    ) -> None:
        """Run an automation's actions, in order, on ``record`` inside ``conn``'s transaction."""
        engine, definition = self._engine, automation.definition
        entity, actor = definition.entity, actor_of(automation.name)
        created: dict[str, Any] = data.setdefault("created", {})
        for index, action in enumerate(automation.actions):
            kind = action.definition.kind
            data["record"] = record
            if kind == "set":
                values = {k: to_jsonable(v) for k, v in action.values.evaluate(data).items()}
                changed = {k: v for k, v in values.items() if to_jsonable(record.get(k)) != v}
                if changed:
                    record = dict(engine.records.update(entity, record["id"], changed, actor=actor, conn=conn))
            elif kind == "create":
                target = action.definition.entity
                assert target is not None
                values = {k: to_jsonable(v) for k, v in action.values.evaluate(data).items()}
                if record.get(OWNER) and OWNER not in values:  # the owner of what set it off owns it
                    values[OWNER] = record[OWNER]
                made = dict(engine.records.create(target, values, actor=actor, conn=conn))
                if action.definition.as_name is not None:
                    created[action.definition.as_name] = made
            elif kind == "update":
                run_update(engine, conn, entity, action, record, data, actor)
            elif kind == "transition":
                record = run_transition(
                    engine, conn, entity, action.definition, record, now, by=_system_as(automation.name)
                )
            elif kind == "assign":
                rule = (f"automation:{automation.name}:{index}", f"the automation {automation.name}")
                record = assign(engine, conn, entity, action.definition, record, rule, actor, None)
            elif kind == "rescore":
                self._rescore(conn, entity, record["id"], list(action.definition.scorings))
            elif kind == "notify":
                topic = action.definition.topic or automation.name
                notify(engine, conn, entity, action, record, data, topic=topic, actor=actor.name)
            elif kind == "webhook":
                self._webhook(conn, automation, record, data, action.definition.subscription or "")

    def _rescore(self, conn: Connection, entity: str, record_id: int, scorings: list[str]) -> None:
        engine = self._engine
        unit_of(conn).after_commit(lambda: engine.scoring.rescore(entity, [record_id], scorings))

    def _webhook(
        self,
        conn: Connection,
        automation: CompiledAutomation,
        record: dict[str, Any],
        data: Mapping[str, Any],
        name: str,
    ) -> None:
        """Queue the triggering change (or, on the clock, the record) for the subscription
        ``name``, in this transaction: sent after the commit, never for a rollback."""
        event = data.get("event")
        user = data.get("user")
        self._engine.webhooks.enqueue(
            conn,
            name,
            entity=automation.definition.entity,
            record=record,
            event=event if isinstance(event, Mapping) else None,
            actor=user.get("name") if isinstance(user, Mapping) else None,
            now=data.get("now") or utcnow(),
        )

    # -- after the change: background runs ----------------------------------------------------

    def run_pending(self, *, now: datetime | None = None, limit: int = BATCH) -> int:
        """Run the background and clock runs that are due; returns how many ran (done or not).

        Safe to call from several workers at once: a run is claimed (status ``running`` with
        a lease) by one of them before it runs; a run whose worker died is taken up again
        once its lease has passed.
        """
        now = now or utcnow()
        runs = automation_runs.c
        due = (
            sa.select(runs.id)
            .where(runs.status.in_(("pending", "running")), runs.next_attempt_at <= now)
            .order_by(runs.id)
            .limit(limit)
        )
        with self._engine.db.read() as conn:
            ids = list(conn.execute(due).scalars())
        ran = 0
        for run_id in ids:
            if self._claim(run_id, now):
                self._run_one(run_id, now)
                ran += 1
        return ran

    def _claim(self, run_id: int, now: datetime) -> bool:
        runs = automation_runs.c
        with self._engine.db.write() as conn:
            claimed = conn.execute(
                automation_runs.update()
                .where(runs.id == run_id, runs.status.in_(("pending", "running")), runs.next_attempt_at <= now)
                .values(status="running", next_attempt_at=now + LEASE, attempts=runs.attempts + 1)
            )
            return claimed.rowcount == 1

    def _run_one(self, run_id: int, now: datetime) -> None:
        runs = automation_runs.c
        with self._engine.db.read() as conn:
            row = dict(conn.execute(sa.select(automation_runs).where(runs.id == run_id)).mappings().one())
        automation = self.compiled().by_name.get(row["automation"])
        try:
            if automation is None:
                raise CrmError(f"the automation {row['automation']!r} is no longer defined")
            context = row["context"]
            with self._engine.db.write() as conn:
                unit = unit_of(conn)
                unit.cause = tuple(context.get("chain", ()))
                record = self._current(conn, row)
                data = {
                    "record": record,
                    "before": context.get("before") or record,
                    "changes": {},
                    "event": context.get("event") or {"type": row["trigger"]},
                    "user": {"name": context.get("actor"), "roles": [], "team": None},
                    "now": now,
                    "created": {},
                }
                status = "done"
                clock = row["trigger"] in ("date", "schedule")
                if clock and automation.when is not None and not automation.when.evaluate(data):
                    status = "skipped"
                else:
                    self.run_actions(conn, automation, record, data, now)
                conn.execute(
                    automation_runs.update()
                    .where(runs.id == run_id)
                    .values(status=status, error=None, finished_at=utcnow(), next_attempt_at=None)
                )
        except Exception as exc:  # any failure is kept on the run, never lost
            self._failed(row, exc, now)

    def _current(self, conn: Connection, row: Mapping[str, Any]) -> dict[str, Any]:
        if row["trigger"] == "deleted":
            before = row["context"].get("before")
            return dict(before) if isinstance(before, Mapping) else {"id": row["record_id"]}
        return dict(self._engine.records.get(row["entity"], row["record_id"], actor=actor_of("read"), conn=conn))

    def _failed(self, row: Mapping[str, Any], exc: Exception, now: datetime) -> None:
        attempts = int(row["attempts"])  # counted when the run was claimed
        message = exc.message if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, CrmError) and exc.problems:
            message += " (" + "; ".join(p.message for p in exc.problems) + ")"
        final = attempts >= MAX_ATTEMPTS
        log.log(
            logging.ERROR if final else logging.WARNING,
            "automation %s run %s failed (attempt %s): %s",
            row["automation"],
            row["id"],
            attempts,
            message,
        )
        wait = FIRST_RETRY * (2 ** (attempts - 1)) * (1 + random.random() / 4)
        with self._engine.db.write() as conn:
            conn.execute(
                automation_runs.update()
                .where(automation_runs.c.id == row["id"])
                .values(
                    status="failed" if final else "pending",
                    error=message,
                    next_attempt_at=None if final else now + wait,
                    finished_at=now if final else None,
                )
            )

    # -- reading and retrying ---------------------------------------------------------------------

    def runs(
        self,
        *,
        user: User,
        automation: str | None = None,
        failed: bool = False,
        status: Sequence[str] = (),
        limit: int = 100,
    ) -> list[AutomationRun]:
        """Runs, newest first (administrators only: a run carries the records it read)."""
        _require_admin(user)
        runs = automation_runs.c
        query = sa.select(automation_runs).order_by(runs.id.desc()).limit(limit)
        if automation is not None:
            self._known(automation)
            query = query.where(runs.automation == automation)
        if failed:
            query = query.where(runs.status == "failed")
        if status:
            query = query.where(runs.status.in_(list(status)))
        with self._engine.db.read() as conn:
            return [
                AutomationRun(**{k: v for k, v in row.items() if k != "context"})
                for row in conn.execute(query).mappings()
            ]

    def run(self, run_id: int, *, user: User) -> tuple[AutomationRun, dict[str, Any]]:
        """One run and the context it was planned with (the record, the event, the values before,
        the chain of automations that led to it)."""
        _require_admin(user)
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(automation_runs).where(automation_runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"there is no automation run {run_id}")
        return AutomationRun(**{k: v for k, v in row.items() if k != "context"}), dict(row["context"] or {})

    def overview(self, *, user: User) -> list[dict[str, Any]]:
        """Every automation of the live definitions with its runs counted by status."""
        _require_admin(user)
        runs = automation_runs.c
        counted = sa.select(runs.automation, runs.status, sa.func.count()).group_by(runs.automation, runs.status)
        counts: dict[str, dict[str, int]] = {}
        with self._engine.db.read() as conn:
            for name, status, n in conn.execute(counted):
                counts.setdefault(name, {})[status] = int(n)
        definitions = self._engine.model.definitions
        out = []
        for name in sorted(definitions.automations):
            automation = definitions.automations[name]
            document = automation_to_json(automation, definitions)
            document.pop("schema_version", None)
            document.pop("kind", None)
            label = {"en": automation.label.en, "zh": automation.label.zh or automation.label.en}
            out.append({**document, "label": label, "runs": counts.get(name, {})})
        return out

    def retry(self, run_id: int, *, user: User) -> AutomationRun:
        """Run a failed run again (now, with its attempts counted afresh)."""
        _require_admin(user)
        runs = automation_runs.c
        with self._engine.db.write() as conn:
            row = conn.execute(sa.select(automation_runs).where(runs.id == run_id)).mappings().first()
            if row is None:
                raise NotFoundError(f"there is no automation run {run_id}")
            if row["status"] != "failed":
                raise ConflictError(
                    f"automation run {run_id} is {row['status']}; only a failed run is retried",
                    [Problem("not_failed", f"the run is {row['status']}")],
                )
            conn.execute(
                automation_runs.update()
                .where(runs.id == run_id)
                .values(status="pending", attempts=0, next_attempt_at=utcnow(), finished_at=None)
            )
        self.run_pending()
        with self._engine.db.read() as conn:
            fresh = conn.execute(sa.select(automation_runs).where(runs.id == run_id)).mappings().one()
        return AutomationRun(**{k: v for k, v in fresh.items() if k != "context"})

    def _known(self, name: str) -> None:
        from engine.suggestions import did_you_mean

        names = sorted(self._engine.model.definitions.automations)
        if name not in names:
            hint = did_you_mean(name, names) or (f" Automations: {', '.join(names)}." if names else "")
            raise NotFoundError(f"there is no automation {name!r}.{hint}")


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDeniedError("only administrators may read and retry automation runs")


def day_start(value: date | datetime) -> datetime:
    """Midnight UTC of a date, or a datetime as it is (UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
