"""Domain events: what every committed write did, in the outbox and to the engine's subscribers.

The unit of work and the outbox table are storage's (:mod:`engine.storage._unit`); this
package reads the outbox (:class:`EventService`) and dispatches committed units to plugins
and rescoring (:func:`dispatch`).
"""

from __future__ import annotations

from engine.storage import EVENT_TYPES, DomainEvent, UnitOfWork, unit_of

from ._dispatch import dispatch
from ._service import MAX_EVENTS, EventService, StoredEvent

__all__ = [
    "EVENT_TYPES",
    "MAX_EVENTS",
    "DomainEvent",
    "EventService",
    "StoredEvent",
    "UnitOfWork",
    "dispatch",
    "unit_of",
]
