"""After a commit: the unit of work's events reach the engine's own subscribers.

In order: plugins hear of every saved record (``crm_record_saved``), the callbacks the
writes registered run (``crm_transition``, ``crm_notify``, ``crm_rescore`` …), then each record
that was saved or transitioned is rescored once for the scorings listening to what happened
to it (a record deleted later in the same unit is not). Whoever opened the transaction (an
API request, a workflow action, an import, an escalation), the same subscribers hear it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.storage import RECORD_CREATED, RECORD_DELETED, RECORD_TRANSITIONED, RECORD_UPDATED, UnitOfWork

if TYPE_CHECKING:
    from engine.metadata import ScoringDef
    from engine.runtime import CrmEngine

#: The scoring trigger each record event sets off.
_TRIGGERS = {RECORD_CREATED: "save", RECORD_UPDATED: "save", RECORD_TRANSITIONED: "transition"}


def dispatch(engine: CrmEngine, unit: UnitOfWork) -> None:
    """Tell plugins and rescoring what ``unit`` committed."""
    triggers: dict[tuple[str, int], set[str]] = {}
    deleted: set[tuple[str, int]] = set()
    saved = engine.plugins.hook.crm_record_saved
    heard = bool(saved.get_hookimpls())  # no plugin listening: no call, no copy of each record
    for event in unit.events:
        if event.entity is None or event.record_id is None:
            continue
        key = (event.entity, event.record_id)
        if heard and event.type in (RECORD_CREATED, RECORD_UPDATED) and event.record is not None:
            saved(
                engine=engine,
                entity=event.entity,
                record=dict(event.record),
                created=event.type == RECORD_CREATED,
                actor=event.actor,
            )
        if event.type == RECORD_DELETED:
            deleted.add(key)
        elif event.type in _TRIGGERS:
            triggers.setdefault(key, set()).add(_TRIGGERS[event.type])
            deleted.discard(key)
    for callback in unit.callbacks:
        callback()
    for (entity, record_id), fired in triggers.items():
        if (entity, record_id) not in deleted:
            engine.scoring.on_event(entity, record_id, *sorted(fired))
    _rescore_through_sources(engine, unit)


def _rescore_through_sources(engine: CrmEngine, unit: UnitOfWork) -> None:
    """Scorings that read other entities (a project's stakeholders) rerun for the records whose
    related rows changed: the old and the new one when a row moved."""
    wanted: dict[str, tuple[ScoringDef, set[int]]] = {}
    sources: dict[str, list[tuple[ScoringDef, str]]] = {}  # asked once per entity, not per event
    for event in unit.events:
        if event.entity is None or event.type not in (RECORD_CREATED, RECORD_UPDATED, RECORD_DELETED):
            continue
        if event.entity not in sources:
            sources[event.entity] = engine.scoring.sourced_from(event.entity)
        for definition, reference in sources[event.entity]:
            ids = wanted.setdefault(definition.name, (definition, set()))[1]
            ids.update(_referenced(event.payload, reference))
    for definition, ids in wanted.values():
        if ids:
            engine.scoring.rescore_scoring(definition, sorted(ids))


def _referenced(payload: Mapping[str, Any], reference: str) -> set[int]:
    """The ids ``reference`` held in an event: now, and before the change."""
    found = set()
    record = payload.get("record")
    if isinstance(record, Mapping) and isinstance(record.get(reference), int):
        found.add(record[reference])
    changes = payload.get("changes")
    moved = changes.get(reference) if isinstance(changes, Mapping) else None
    if isinstance(moved, Mapping) and isinstance(moved.get("old"), int):
        found.add(moved["old"])
    return found
