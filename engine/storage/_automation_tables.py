"""The tables of automations: every run, and the schedule slots claimed.

A run row is written in the transaction that decides the run: by the triggering change for
a ``background`` automation (so a committed change never loses its run, and a rolled-back
one leaves none), by the tick for date and schedule triggers. The unique key
(automation, record, occurrence) is what makes a date trigger fire once per record and
occurrence however often or however many ticks run; a slot row makes a schedule fire once
per cron slot.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

#: Every automation run that was planned or ran outside the triggering transaction, and the
#: transaction-mode runs, recorded with the change they belong to.
automation_runs = sa.Table(
    "crm_automation_runs",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("automation", sa.String(63), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("trigger", sa.String(16), nullable=False),
    #: date triggers: the date (and year) fired for; schedules: the slot; else null
    sa.Column("occurrence", sa.String(64)),
    #: pending, running, done, failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("context", _Json, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.UniqueConstraint("automation", "record_id", "occurrence", name="uq_crm_automation_runs_occurrence"),
    sa.Index("ix_crm_automation_runs_due", "status", "next_attempt_at"),
    sqlite_autoincrement=True,
)

#: Cron slots of schedule triggers, claimed by the first tick that reaches them.
automation_slots = sa.Table(
    "crm_automation_slots",
    SYSTEM_METADATA,
    sa.Column("automation", sa.String(63), primary_key=True),
    sa.Column("slot", UTCDateTime(), primary_key=True),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
)
