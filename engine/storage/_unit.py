"""The unit of work: one write transaction, the domain events of every write inside it, and
what waits for its commit.

Every write transaction the engine opens (:meth:`Database.write`) carries one
:class:`UnitOfWork`; a service handed a connection finds it with :func:`unit_of`, whoever
opened the transaction. Services :meth:`~UnitOfWork.emit` what they changed
(``record.created``, ``record.updated`` …). At commit the events are appended to the outbox
table (``crm_events``) in the same transaction, so a write that rolls back leaves no event
and a committed one never loses its event; after the commit the subscribers hear them (plugin
hooks, rescoring) and the callbacks registered with :meth:`~UnitOfWork.after_commit` run.

Why the outbox ids rise in commit order: on SQLite one transaction writes at a time. On
PostgreSQL two transactions take sequence values in the order they insert, not the order
they commit, so a reader asking for "events after N" could pass over an event whose
transaction commits a moment later with a smaller id. The events are therefore inserted at
the very end of the transaction under a transaction-level advisory lock, held only for that
insert and the commit: the next transaction's events get their ids after this one committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow

from ._rows import RowInserter
from ._system_tables import events as events_table
from ._values import to_jsonable

#: The advisory lock key that orders outbox writes on PostgreSQL ("crm_events" in ASCII, 63 bits).
OUTBOX_LOCK = 0x63726D5F6576656E
#: The execution option under which a write connection carries its unit of work.
UNIT_OPTION = "crm_unit"

_EVENTS = RowInserter(events_table)
#: From this many events of one transaction on (a merge re-pointing thousands of records),
#: PostgreSQL takes them by ``COPY``: one stream instead of a round trip per row.
COPY_EVENTS_FROM = 500
_EVENT_COLUMNS = ("type", "entity", "record_id", "actor", "payload", "occurred_at", "definitions_version")
_EVENT_TYPES = ("text", "text", "int8", "text", "jsonb", "timestamptz", "int4")

RECORD_CREATED = "record.created"
RECORD_UPDATED = "record.updated"
RECORD_DELETED = "record.deleted"
RECORD_TRANSITIONED = "record.transitioned"
RECORDS_IMPORTED = "records.imported"
SCORE_CHANGED = "score.changed"
#: A scoring run over a whole entity in a few set-based statements: one event with the counts.
SCORES_RECOMPUTED = "scores.recomputed"
#: Every event type, in the order the docs list them.
EVENT_TYPES = (
    RECORD_CREATED,
    RECORD_UPDATED,
    RECORD_DELETED,
    RECORD_TRANSITIONED,
    RECORDS_IMPORTED,
    SCORE_CHANGED,
    SCORES_RECOMPUTED,
)

AfterCommit = Callable[[], object]


@dataclass(frozen=True)
class DomainEvent:
    """Something a committed write did to the data.

    ``payload`` is what the outbox keeps: JSON values only (pass stored values through
    :func:`~engine.storage.to_jsonable`); ``record`` is the record as saved,
    with Python values, for in-process subscribers only (never stored).
    """

    type: str
    entity: str | None
    record_id: int | None
    actor: str | None
    payload: Mapping[str, Any]
    occurred_at: datetime = field(default_factory=lambda: utcnow())
    definitions_version: int | None = None
    record: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def row(self) -> dict[str, Any]:
        """The outbox row of this event."""
        return {
            "type": self.type,
            "entity": self.entity,
            "record_id": self.record_id,
            "actor": self.actor,
            "payload": self.payload,
            "occurred_at": self.occurred_at,
            "definitions_version": self.definitions_version,
        }


def record_updated(
    entity: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changed: Iterable[str],
    actor: str | None,
    at: datetime,
    version: int | None,
    **extra: Any,
) -> DomainEvent:
    """The ``record.updated`` event of a change: each changed field's old and new value, the
    record after it (and ``extra`` payload, such as an import's line)."""
    changes = {name: {"old": before.get(name), "new": after.get(name)} for name in changed}
    payload = {"changes": to_jsonable(changes), "record": to_jsonable(dict(after)), **extra}
    return DomainEvent(RECORD_UPDATED, entity, after["id"], actor, payload, at, version, record=after)


class UnitOfWork:
    """The events and after-commit work of one write transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.events: list[DomainEvent] = []
        self.callbacks: list[AfterCommit] = []
        #: The automations whose actions are writing now, outermost first: what a change
        #: made by them may not set off again (loop protection; see ``engine.automations``).
        self.cause: tuple[str, ...] = ()
        #: How many of ``events`` the automations have already answered (they settle the
        #: rest before the commit; records written in bulk are settled as they are written).
        self.settled = 0

    def emit(self, event: DomainEvent) -> None:
        """Record an event of this transaction (written to the outbox at commit)."""
        self.events.append(event)

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` once the transaction has committed (never after a rollback)."""
        self.callbacks.append(callback)

    def mark(self) -> tuple[int, int]:
        """Where the unit stands now, for :meth:`rewind` after a savepoint rolls back."""
        return len(self.events), len(self.callbacks)

    def rewind(self, mark: tuple[int, int]) -> None:
        """Forget the events and callbacks since ``mark`` (their savepoint was rolled back)."""
        del self.events[mark[0] :]
        del self.callbacks[mark[1] :]
        self.settled = min(self.settled, len(self.events))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint: on an exception its writes, events and callbacks are all undone."""
        mark = self.mark()
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            self.rewind(mark)
            raise
        nested.commit()

    def flush(self) -> None:
        """Append the events to the outbox (the last statement before the commit)."""
        if not self.events:
            return
        rows = [e.row() for e in self.events]
        if self.conn.dialect.name != "postgresql":
            _EVENTS.insert(self.conn, rows)
            return
        raw = self.conn.connection.driver_connection
        assert raw is not None
        if len(rows) >= COPY_EVENTS_FROM:
            self.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK})
            _copy_events(raw, rows)
            return
        # the lock and the insert in one round trip (psycopg's pipeline): the server still runs
        # them in order, so the events take their ids only once the lock is held
        lock = "SELECT pg_advisory_xact_lock(%s)"
        try:
            with raw.pipeline():
                raw.execute(lock, (OUTBOX_LOCK,))
                _EVENTS.insert(self.conn, rows)
        except self.conn.dialect.loaded_dbapi.Error as exc:  # raised when the pipeline syncs
            raise sa.exc.DBAPIError.instance(lock, None, exc, self.conn.dialect.loaded_dbapi.Error) from exc


def _copy_events(raw: Any, rows: list[dict[str, Any]]) -> None:
    """``COPY`` the outbox rows (binary; the ids come from the sequence, under the lock)."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(events_table.name), sql.SQL(", ").join(sql.Identifier(c) for c in _EVENT_COLUMNS)
    )
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(list(_EVENT_TYPES))
        for row in rows:
            copy.write_row([Jsonb(row[c]) if c == "payload" else row[c] for c in _EVENT_COLUMNS])


def unit_of(conn: Connection) -> UnitOfWork:
    """The unit of work of a write connection from :meth:`Database.write`.

    Raises ``RuntimeError`` for any other connection: a write outside a unit of work would
    lose its events.
    """
    unit = conn.get_execution_options().get(UNIT_OPTION)
    if not isinstance(unit, UnitOfWork):
        raise RuntimeError("writes need a connection from Database.write() (it carries the unit of work)")
    return unit
