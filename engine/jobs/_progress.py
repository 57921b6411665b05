"""A job's progress, written to its row as it advances (at most twice a second).

The row is updated from a connection of its own, so any process sees how far the job got.
On SQLite a job that writes in one long transaction (an import that is all or nothing)
holds the database's write lock meanwhile: the progress write then does not wait for it
(it would wait for itself) but is skipped, and the next one tries again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.storage import jobs
from engine.storage._database import SQLITE_BUSY_TIMEOUT_MS

if TYPE_CHECKING:
    from engine.storage import Database

log = logging.getLogger("engine.jobs")

#: Seconds between two progress writes of one job.
WRITE_EVERY = 0.5


def try_update(db: Database, statement: sa.Update) -> bool:
    """Run ``statement`` in a transaction of its own without waiting for a lock; False
    when the database was busy (SQLite's write lock held)."""
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection if db.is_sqlite else None
        if raw is not None:
            raw.execute("PRAGMA busy_timeout = 0")
        try:
            with conn.begin():
                conn.execute(statement)
            return True
        except sa.exc.OperationalError:
            if raw is None:
                raise
            return False
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


class JobProgress:
    """:class:`engine.progress.Progress` for the job ``job_id``: each step's label becomes
    the job's message, its total and the rows done so far its progress."""

    def __init__(self, db: Database, job_id: int) -> None:
        self._db = db
        self._job_id = job_id
        self.done = 0
        self.total: int | None = None
        self.label: str | None = None
        self._written = 0.0

    def start(self, label: str, total: int | None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.write(force=True)

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        self.write()

    def finish(self) -> None:
        if self.total is not None:
            self.done = max(self.done, self.total)
        self.write(force=True)

    def write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY:
            return
        statement = (
            jobs.update()
            .where(jobs.c.id == self._job_id)
            .values(
                progress_done=self.done,
                progress_total=self.total,
                message=self.label,
                updated_at=utcnow(),
            )
        )
        try:
            written = try_update(self._db, statement)
        except sa.exc.SQLAlchemyError:  # progress is a courtesy: never fail the job for it
            log.warning("job %s: cannot write its progress", self._job_id, exc_info=True)
            written = False
        if written:
            self._written = now
