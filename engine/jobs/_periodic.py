"""Periodic work: what the workers do on the clock, once per interval however many run.

:data:`PERIODIC_WORK` is the registry: a name, an interval and a function taking the
engine and the time. Another service adds its work with one line.

Each interval of each entry is a *slot* (the interval's start, counted from the epoch).
A worker that finds a slot due inserts (name, slot) into ``crm_periodic_slots`` with
``ON CONFLICT DO NOTHING``: the one whose row went in runs the work, every other worker
sees the conflict and skips it. The database decides, not a lock in the queue, so this
holds with any queue, across hosts, and for ``crm worker --once`` from cron next to
running workers. A slot's row keeps who ran it, when it finished and its error; a failed
slot is not run again (the next interval is).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.storage import periodic_slots, to_jsonable

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

log = logging.getLogger("engine.jobs")


@dataclass(frozen=True)
class PeriodicWork:
    """Work run once per ``interval`` (a whole number of seconds, at least one minute)."""

    name: str
    interval: timedelta
    run: Callable[[CrmEngine, datetime], Any]

    def slot(self, now: datetime) -> datetime:
        """The start of the interval ``now`` falls in."""
        seconds = int(self.interval.total_seconds())
        start = int(now.timestamp()) // seconds * seconds
        return datetime.fromtimestamp(start, UTC)


def _automation_tick(engine: CrmEngine, now: datetime) -> Any:
    """Date and schedule triggers, background automation runs waiting
    (``AutomationService.run_pending``), SLA escalations, the daily refresh of derived fields."""
    from engine.automations import tick

    engine.reload()
    if not engine.has_definitions:
        return None
    return tick(engine, now=now).to_json()


def _scheduled_scores(engine: CrmEngine, now: datetime) -> Any:
    """Scorings with a ``schedule``: each cron occurrence is a slot of its own
    (``score_run:NAME``), claimed like the minute slots, and runs as a ``score_run`` job
    (visible in ``crm jobs list`` with its progress). The latest occurrence is claimed, so
    one missed while no worker ran still runs once, late, and earlier ones do not pile up."""
    from croniter import croniter

    from engine.users import SYSTEM_USER

    from ._service import worker_name

    engine.reload()
    if not engine.has_definitions:
        return None
    submitted: dict[str, int] = {}
    for scoring in engine.model.definitions.scorings.values():
        if scoring.schedule is None:
            continue
        occurrence = croniter(scoring.schedule, now).get_prev(datetime)
        if claim_slot(engine, f"score_run:{scoring.name}", occurrence, worker_name(), now):
            submitted[scoring.name] = engine.jobs.submit("score_run", {"scoring": scoring.name}, user=SYSTEM_USER)
    return submitted


def _sweep_jobs(engine: CrmEngine, now: datetime) -> Any:
    """Jobs whose queue message was lost go on the queue again (they still run once); jobs
    whose worker died are failed, saying so."""
    return {"requeued": engine.jobs.requeue_waiting(), "abandoned": engine.jobs.fail_abandoned(now=now)}


def _webhook_delivery(engine: CrmEngine, now: datetime) -> Any:
    """Deliver the outbox's events to webhook subscriptions (fan out, then send what is due)."""
    return engine.webhooks.work()  # the wall clock: what is due now, not at the slot


#: What the workers run on the clock. Add an entry to run more.
PERIODIC_WORK: list[PeriodicWork] = [
    PeriodicWork("automation_tick", timedelta(minutes=1), _automation_tick),
    PeriodicWork("scheduled_scores", timedelta(minutes=1), _scheduled_scores),
    PeriodicWork("sweep_jobs", timedelta(minutes=1), _sweep_jobs),
    PeriodicWork("webhook_delivery", timedelta(minutes=1), _webhook_delivery),
]


@dataclass
class PeriodicReport:
    """What one pass over the periodic work did: entries run, and those another worker had."""

    ran: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ran": to_jsonable(self.ran), "skipped": list(self.skipped), "failed": dict(self.failed)}


def claim_slot(engine: CrmEngine, name: str, slot: datetime, worker: str, now: datetime) -> bool:
    """Claim ``slot`` of ``name`` for ``worker``; False when another worker has it."""
    from engine.automations._clock import _inserted

    row = {"name": name, "slot": slot, "worker": worker, "claimed_at": now}
    with engine.db.write() as conn:
        return _inserted(conn, periodic_slots, row)


def run_due(
    engine: CrmEngine,
    *,
    worker: str,
    now: datetime | None = None,
    work: list[PeriodicWork] | None = None,
) -> PeriodicReport:
    """Run every entry of ``work`` (:data:`PERIODIC_WORK`) whose current slot nobody claimed yet."""
    report = PeriodicReport()
    for entry in PERIODIC_WORK if work is None else work:
        at = now or utcnow()
        slot = entry.slot(at)
        if not claim_slot(engine, entry.name, slot, worker, at):
            report.skipped.append(entry.name)
            log.info("periodic %s: slot %s was taken by another worker", entry.name, slot.isoformat())
            continue
        error: str | None = None
        try:
            report.ran[entry.name] = entry.run(engine, at)
            log.info("periodic %s: ran slot %s", entry.name, slot.isoformat())
        except Exception as exc:  # one entry's failure must not stop the others
            log.exception("periodic %s failed", entry.name)
            error = f"{exc.__class__.__name__}: {exc}"[:4000]
            report.failed[entry.name] = error
        with engine.db.write() as conn:
            conn.execute(
                periodic_slots.update()
                .where(periodic_slots.c.name == entry.name, periodic_slots.c.slot == slot)
                .values(finished_at=utcnow(), error=error)
            )
    return report


def slots(engine: CrmEngine, *, name: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The latest periodic slots claimed, newest first."""
    query = sa.select(periodic_slots).order_by(periodic_slots.c.claimed_at.desc()).limit(limit)
    if name is not None:
        query = query.where(periodic_slots.c.name == name)
    with engine.db.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
