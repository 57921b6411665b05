"""The queue: a Huey instance carrying job ids, its consumer, and the periodic trigger.

Two tasks are registered on the Huey instance of the settings:

- ``crm_run_job(job_id)``: :meth:`JobService.run` (the row is claimed, so a message
  delivered twice runs the job once);
- ``crm_periodic``: a Huey periodic task every minute, enqueued by each consumer's
  scheduler; whichever worker takes it runs :func:`run_due`, which claims each entry's slot
  in the database, so N consumers run each slot once.

:meth:`JobQueue.consumer` runs workers the Huey way (threads, each taking messages);
:meth:`JobQueue.run_once` does what is due now and returns (``crm worker --once``).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import CrmError

from ._periodic import PeriodicReport, run_due
from ._service import worker_name
from ._settings import QueueSettings

if TYPE_CHECKING:
    from huey.consumer import Consumer

    from engine.runtime import CrmEngine

log = logging.getLogger("engine.jobs")


class QueueUnavailableError(CrmError):
    """The queue's storage (Redis, the queue file, the database) cannot be reached."""

    code = "queue_unavailable"
    exit_code = 1
    http_status = 503


def _queue_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error, OSError]
    try:
        import redis

        errors.append(redis.RedisError)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:  # pragma: no cover - PostgreSQL is optional
        pass
    return tuple(errors)


@dataclass
class OnceReport:
    """What ``crm worker --once`` did: messages taken, jobs run, periodic work."""

    messages: int = 0
    jobs: list[dict[str, Any]] = field(default_factory=list)
    periodic: PeriodicReport = field(default_factory=PeriodicReport)

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "jobs": self.jobs, "periodic": self.periodic.to_json()}


def _consumer_class() -> type[Consumer]:
    from huey.consumer import Consumer

    class EmbeddedConsumer(Consumer):  # type: ignore[misc]
        """A consumer inside another program (``crm serve``): its threads only, no signal
        handlers (the program owns those, and they can only be set from the main thread)."""

        def _set_signal_handlers(self) -> None:
            pass

    return EmbeddedConsumer


class JobQueue:
    """The queue of one engine, on the storage ``settings`` name."""

    def __init__(self, engine: CrmEngine, settings: QueueSettings) -> None:
        from huey import crontab

        self.settings = settings
        self._engine = engine
        self._errors = _queue_errors()
        try:
            self.huey: Any = settings.build()
        except self._errors as exc:
            raise self._unavailable(exc) from None
        self._run_job = self.huey.task(name="crm_run_job")(self._execute_job)
        self._periodic = self.huey.periodic_task(crontab(), name="crm_periodic")(self._execute_periodic)

    def _unavailable(self, exc: BaseException) -> QueueUnavailableError:
        return QueueUnavailableError(
            f"cannot reach the job queue ({self.settings.describe()}): {exc}; "
            "check CRM_QUEUE_URL and that its server is running"
        )

    def _execute_job(self, job_id: int) -> None:
        self._engine.reload()
        self._engine.jobs.run(job_id)

    def _execute_periodic(self) -> None:
        run_due(self._engine, worker=worker_name())

    def enqueue(self, job_id: int) -> None:
        """Put the job ``job_id`` on the queue.

        :raises QueueUnavailableError: the queue's storage cannot be reached.
        """
        try:
            self._run_job(job_id)
        except self._errors as exc:
            raise self._unavailable(exc) from None

    def pending(self) -> int:
        """Messages waiting on the queue."""
        try:
            return int(self.huey.pending_count())
        except self._errors as exc:
            raise self._unavailable(exc) from None

    def run_once(self, *, worker: str | None = None) -> OnceReport:
        """Everything due now, then return: the messages waiting (jobs; periodic messages
        are dropped, the pass over periodic work below does theirs), the jobs still queued in
        the database, and the periodic work whose slot nobody claimed."""
        worker = worker or worker_name()
        report = OnceReport()
        ran: set[int] = set()
        try:
            while (task := self.huey.dequeue()) is not None:
                report.messages += 1
                if task.name == "crm_run_job":
                    self._engine.reload()
                    job = self._engine.jobs.run(int(task.args[0]), worker=worker)
                    if job is not None:
                        ran.add(job.id)
                        report.jobs.append(job.to_json())
        except self._errors as exc:
            raise self._unavailable(exc) from None
        report.jobs.extend(j.to_json() for j in self._engine.jobs.run_queued(worker=worker) if j.id not in ran)
        report.periodic = run_due(self._engine, worker=worker)
        # what the periodic work queued (scheduled score runs) is due now too
        report.jobs.extend(j.to_json() for j in self._engine.jobs.run_queued(worker=worker) if j.id not in ran)
        return report

    def consumer(self, *, workers: int = 1, embedded: bool = False) -> Consumer:
        """A Huey consumer of ``workers`` threads and the scheduler (with the periodic task).

        ``embedded``: for a program that runs it beside its own work (``start()`` it, then
        ``stop()``): no signal handlers are set.
        """
        options: dict[str, Any] = {"workers": workers, "worker_type": "thread", "periodic": True}
        if embedded:
            return _consumer_class()(self.huey, **options)
        return self.huey.create_consumer(**options)

    def close(self) -> None:
        """Close the storage's connections (a later use opens them again)."""
        with contextlib.suppress(*self._errors):  # what cannot be reached has nothing to close
            self.huey.storage.close()

    def flush(self) -> None:
        """Drop every message waiting (tests, and an operator starting over)."""
        self.huey.flush()
