"""Background jobs on a real queue: long operations with progress, and periodic work.

Why Huey (https://huey.readthedocs.io): it is small (one package, no broker of its own to
run), maintained, and its storage is a setting, which is what the engine needs:

- the embedded default needs **no extra server**: a SQLite file beside the SQLite database,
  so ``crm serve`` runs workers in its own process and the README's commands keep working;
- ``CRM_QUEUE_URL=redis://…`` moves the queue to Redis, shared by any number of
  ``crm worker`` processes on any number of hosts;
- on PostgreSQL without ``CRM_QUEUE_URL`` the queue lives in tables of that database
  (Huey's PostgreSQL storage, LISTEN/NOTIFY): every host reaching the database shares it,
  so a multi-host deployment never splits its queue into per-host files by mistake;
- it has periodic tasks and a thread consumer we can start inside ``crm serve``.

Dramatiq and RQ need Redis (or RabbitMQ) always; Celery is far larger than a job id and a
clock need. Huey's queue carries only job ids: the truth about a job (status, progress,
result, error) is its row in ``crm_jobs`` (see :mod:`._service`), and periodic work runs
once per interval because a worker claims the slot in the database (see :mod:`._periodic`),
not because of a lock in the queue. See ``docs/jobs.md``.
"""

from __future__ import annotations

from ._dispatch import IDLE_SECONDS, Dispatcher, dispatch_once
from ._kinds import KINDS, MAX_CSV_BYTES, InvalidJobError, JobKind, check_params
from ._periodic import PERIODIC_WORK, PeriodicReport, PeriodicWork, claim_slot, run_due, slots
from ._progress import JobProgress
from ._queue import JobQueue, OnceReport, QueueUnavailableError
from ._service import STATUSES, Job, JobService, worker_name
from ._settings import DEFAULT_QUEUE_NAME, QueueSettings, queue_settings

__all__ = [
    "DEFAULT_QUEUE_NAME",
    "IDLE_SECONDS",
    "KINDS",
    "MAX_CSV_BYTES",
    "PERIODIC_WORK",
    "STATUSES",
    "Dispatcher",
    "InvalidJobError",
    "Job",
    "JobKind",
    "JobProgress",
    "JobQueue",
    "JobService",
    "OnceReport",
    "PeriodicReport",
    "PeriodicWork",
    "QueueSettings",
    "QueueUnavailableError",
    "check_params",
    "claim_slot",
    "dispatch_once",
    "queue_settings",
    "run_due",
    "slots",
    "worker_name",
]
