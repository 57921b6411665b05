"""Reading the outbox: the events of committed writes, oldest first, for administrators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import PermissionDeniedError, UsageError
from engine.storage import EVENT_TYPES, events

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import User

#: The most events one call returns.
MAX_EVENTS = 1000


@dataclass(frozen=True)
class StoredEvent:
    """One row of the outbox."""

    id: int
    type: str
    entity: str | None
    record_id: int | None
    actor: str | None
    payload: dict[str, Any]
    occurred_at: datetime
    definitions_version: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "entity": self.entity,
            "record_id": self.record_id,
            "actor": self.actor,
            "payload": self.payload,
            "occurred_at": self.occurred_at.isoformat(),
            "definitions_version": self.definitions_version,
        }


class EventService:
    """The events every committed write left in the outbox (``crm_events``)."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    def list(
        self,
        *,
        user: User,
        since: int = 0,
        entity: str | None = None,
        types: Sequence[str] = (),
        limit: int = 100,
    ) -> list[StoredEvent]:
        """Events with an id above ``since``, oldest first, at most ``limit`` of them.

        Only administrators read the outbox: an event carries whole records, hidden fields
        included. Ids rise in commit order and are never reused, so asking again with the
        last id seen misses nothing.
        """
        if not user.is_admin:
            raise PermissionDeniedError("only administrators may read the event log")
        if since < 0:
            raise UsageError(f"since must be an event id (0 or more), got {since}")
        if not 1 <= limit <= MAX_EVENTS:
            raise UsageError(f"limit must be between 1 and {MAX_EVENTS}, got {limit}")
        unknown = [t for t in types if t not in EVENT_TYPES]
        if unknown:
            raise UsageError(f"unknown event type {unknown[0]!r}; the types are {', '.join(EVENT_TYPES)}")
        query = sa.select(events).where(events.c.id > since).order_by(events.c.id).limit(limit)
        if entity is not None:
            query = query.where(events.c.entity == entity)
        if types:
            query = query.where(events.c.type.in_(list(types)))
        with self._engine.db.read() as conn:
            return [StoredEvent(**dict(row)) for row in conn.execute(query).mappings()]
