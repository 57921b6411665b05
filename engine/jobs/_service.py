"""Jobs: submitted, run by whichever worker takes them first, and watched from anywhere.

A job is a row of ``crm_jobs`` first: :meth:`JobService.submit` checks the kind and its
parameters against the live definitions, writes the row (``queued``) and puts its id on
the queue. The worker that takes the id *claims* the row (``queued`` → ``running`` in one
``UPDATE … WHERE status = 'queued'``), so an id delivered twice, or a job also found by a
sweep of queued rows, runs once. It runs as the user who submitted it and ends ``done``
with its result or ``failed`` with its error; its progress is written to the row meanwhile.
"""

from __future__ import annotations

import builtins
import logging
import os
import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import CrmError, NotFoundError, PermissionDeniedError
from engine.storage import jobs

from ._kinds import KINDS, check_params
from ._progress import JobProgress, try_update

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import User

    from ._queue import JobQueue

log = logging.getLogger("engine.jobs")

STATUSES = ("queued", "running", "done", "failed")
#: Longest error text kept with a job.
MAX_ERROR = 4000
#: A job still queued after this long is put on the queue again by the workers' sweep (its
#: message may have been lost: a queue flushed, a worker on another queue); the claim keeps
#: it from running twice.
REQUEUE_AFTER = timedelta(minutes=2)
#: A running job's worker writes a sign of life this often (seconds) …
HEARTBEAT = 30.0
#: … and a running job without one for this long is failed: its worker died (SIGKILL, a
#: host lost). A job still alive after all (its finish comes later) is marked finished then.
ABANDONED_AFTER = timedelta(minutes=10)


def worker_name() -> str:
    """This process, as jobs and periodic slots record who ran them: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    """One row of ``crm_jobs``."""

    id: int
    kind: str
    params: Mapping[str, Any]
    status: str
    progress_done: int
    progress_total: int | None
    message: str | None
    result: Any
    error: str | None
    created_by: str
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def to_json(self) -> dict[str, Any]:
        params = dict(self.params)
        if isinstance(params.get("csv"), str):  # the file itself is not shown again, only its size
            params["csv"] = f"{len(params['csv'].encode('utf-8'))} bytes"
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "params": params,
            "progress": {"done": self.progress_done, "total": self.progress_total},
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "created_by": self.created_by,
            "worker": self.worker,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def _job(row: Any) -> Job:
    return Job(**{k: row[k] for k in Job.__dataclass_fields__})


def _require_admin(user: User, operation: str) -> None:
    if not user.is_admin:
        raise PermissionDeniedError(f'"{user.name}" is not an administrator; {operation} needs the admin role')


def _error_text(error: BaseException) -> str:
    if isinstance(error, CrmError):
        lines = [error.message, *(p.format() for p in error.problems[:20])]
        if len(error.problems) > 20:
            lines.append(f"… and {len(error.problems) - 20} more")
        text = "\n".join(lines)
    else:
        text = f"{error.__class__.__name__}: {error}"
    return text[:MAX_ERROR]


class JobService:
    """Background jobs of one engine (``engine.jobs``)."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    @cached_property
    def queue(self) -> JobQueue:
        """The queue of this engine's settings (``CRM_QUEUE_URL``; see :mod:`._settings`),
        opened on first use."""
        from ._queue import JobQueue
        from ._settings import queue_settings

        return JobQueue(self._engine, queue_settings(self._engine.db.url))

    def close(self) -> None:
        """Close the queue's connections (when it was opened)."""
        if "queue" in self.__dict__:
            self.queue.close()

    # -- submitting and watching --------------------------------------------------------------

    def submit(self, kind: str, params: Mapping[str, Any], *, user: User) -> int:
        """Check and queue a job; its id. Administrators only.

        :raises InvalidJobError: an unknown kind or bad parameters (with pointers).
        :raises QueueUnavailableError: the row is written but the queue could not be reached
            (a worker's sweep runs it once the queue is back).
        """
        _require_admin(user, "running jobs")
        checked = check_params(kind, params)
        KINDS[kind].check(self._engine, checked)
        now = utcnow()
        row = {"kind": kind, "params": checked, "status": "queued", "created_by": user.name, "created_at": now}
        with self._engine.db.write() as conn:
            inserted = conn.execute(jobs.insert().values(row)).inserted_primary_key
            job_id = int(inserted[0]) if inserted else 0
        self.queue.enqueue(job_id)
        return job_id

    def get(self, job_id: int, *, user: User) -> Job:
        """The job ``job_id``; :class:`NotFoundError` when there is none."""
        _require_admin(user, "reading jobs")
        return self._find(job_id)

    def _find(self, job_id: int) -> Job:
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"there is no job {job_id}")
        return _job(row)

    def list(
        self,
        *,
        user: User,
        status: Sequence[str] = (),
        kind: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> builtins.list[Job]:
        """Jobs newest first (only ``status`` / ``kind`` when given; ids below ``before``)."""
        _require_admin(user, "reading jobs")
        query = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if status:
            query = query.where(jobs.c.status.in_(status))
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if before is not None:
            query = query.where(jobs.c.id < before)
        with self._engine.db.read() as conn:
            return [_job(r) for r in conn.execute(query).mappings()]

    # -- running ------------------------------------------------------------------------------

    def run(self, job_id: int, *, worker: str | None = None) -> Job | None:
        """Claim and run the job ``job_id``; the finished job, or None when it was not
        queued (another worker has it, it ran already, or there is no such job)."""
        worker = worker or worker_name()
        now = utcnow()
        with self._engine.db.write() as conn:
            claimed = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status == "queued")
                .values(status="running", worker=worker, started_at=now, updated_at=now)
            ).rowcount
        if claimed != 1:
            return None
        self._engine.reload()
        job = self._find(job_id)
        progress = JobProgress(self._engine.db, job_id)
        result: Any = None
        error: str | None = None
        stop = threading.Event()
        beating = threading.Thread(target=self._heartbeat, args=(job_id, stop), name=f"crm-job-{job_id}", daemon=True)
        beating.start()
        try:
            user = self._acting(job.created_by)
            result, error = KINDS[job.kind].run(self._engine, job.params, user, progress)
        except CrmError as exc:
            error = _error_text(exc)
        except Exception as exc:  # a bug in a job must fail the job, not the worker
            log.exception("job %s (%s) failed", job_id, job.kind)
            error = _error_text(exc)
        finally:
            stop.set()
            beating.join()
        finished = utcnow()
        with self._engine.db.write() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id)
                .values(
                    status="failed" if error else "done",
                    result=result,
                    error=error,
                    progress_done=progress.done,
                    progress_total=progress.total,
                    message=progress.label,
                    updated_at=finished,
                    finished_at=finished,
                )
            )
        log.info("job %s (%s): %s", job_id, job.kind, "failed" if error else "done")
        return self._find(job_id)

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        """Write the running job's sign of life every :data:`HEARTBEAT` seconds until ``stop``."""
        while not stop.wait(HEARTBEAT):
            statement = jobs.update().where(jobs.c.id == job_id, jobs.c.status == "running").values(updated_at=utcnow())
            try:
                try_update(self._engine.db, statement)
            except sa.exc.SQLAlchemyError:  # the next beat tries again
                log.warning("job %s: cannot write its sign of life", job_id, exc_info=True)

    def fail_abandoned(self, *, now: datetime | None = None) -> int:
        """Fail the running jobs whose worker gave no sign of life for :data:`ABANDONED_AFTER`; how many."""
        now = now or utcnow()
        cutoff = now - ABANDONED_AFTER
        stale = sa.and_(jobs.c.status == "running", jobs.c.updated_at < cutoff)
        with self._engine.db.write() as conn:
            found = conn.execute(sa.select(jobs.c.id, jobs.c.worker, jobs.c.updated_at).where(stale)).all()
            for job_id, worker, seen in found:
                error = (
                    f"the worker running it ({worker}) stopped: no sign of life since {seen.isoformat()}; "
                    "what it wrote in a finished transaction stays, submit the job again for the rest"
                )
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, stale)
                    .values(status="failed", error=error, finished_at=now, updated_at=now)
                )
        return len(found)

    def _acting(self, name: str) -> User:
        from engine.users import SYSTEM_USER

        if name == SYSTEM_USER.name:
            return SYSTEM_USER
        return self._engine.users.acting(name)

    def queued(self, *, older_than: timedelta = timedelta(0), limit: int = 100) -> builtins.list[int]:
        """Ids of jobs still queued (for at least ``older_than``), oldest first."""
        cutoff = utcnow() - older_than
        query = (
            sa.select(jobs.c.id)
            .where(jobs.c.status == "queued", jobs.c.created_at <= cutoff)
            .order_by(jobs.c.id)
            .limit(limit)
        )
        with self._engine.db.read() as conn:
            return [int(i) for i in conn.execute(query).scalars()]

    def run_queued(self, *, worker: str | None = None, limit: int = 100) -> builtins.list[Job]:
        """Run the jobs still queued in the database, oldest first (``crm worker --once``)."""
        return [job for job_id in self.queued(limit=limit) if (job := self.run(job_id, worker=worker)) is not None]

    def requeue_waiting(self) -> int:
        """Put the jobs queued for longer than :data:`REQUEUE_AFTER` on the queue again; how many."""
        waiting = self.queued(older_than=REQUEUE_AFTER)
        for job_id in waiting:
            self.queue.enqueue(job_id)
        return len(waiting)
