"""The tables of background jobs: every job with its progress, and the periodic slots claimed.

A job row is the truth about a job, whichever process or host runs it: the queue only
carries its id. Progress is written to the row as the job advances, so ``crm jobs show``,
the API and the admin page see it from any process. A periodic slot row is how periodic
work runs once per interval however many workers run: the worker whose insert of
(name, slot) succeeds runs it, the others see the conflict and skip.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

#: Long operations run in the background (imports, score runs, preset loads).
jobs = sa.Table(
    "crm_jobs",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("params", _Json, nullable=False),
    #: queued, running, done, failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("progress_total", sa.BigInteger),
    #: what the job is doing now (the current step's label), then how it ended
    sa.Column("message", sa.Text),
    sa.Column("result", _Json),
    sa.Column("error", sa.Text),
    sa.Column("created_by", sa.String(128), nullable=False),
    #: the process that ran it (host:pid)
    sa.Column("worker", sa.String(200)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Index("ix_crm_jobs_status", "status", "id"),
    sqlite_autoincrement=True,
)

#: Intervals of periodic work, claimed by the first worker that reaches them.
periodic_slots = sa.Table(
    "crm_periodic_slots",
    SYSTEM_METADATA,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("slot", UTCDateTime(), primary_key=True),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("error", sa.Text),
)
