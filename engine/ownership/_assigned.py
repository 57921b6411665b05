"""The fields besides ``owner`` that name a user as the one doing the work, and the records
a hand-over leaves naming the departing user through them.

Such a field is the ``assignee`` of a work item (see :func:`engine.workspace.work_fields`:
tasks and activities), a field an ``assign`` action writes (workflows and automations), or
one a ``notify`` action's ``{"field": ...}`` or ``children`` recipient reads. A hand-over
does not rewrite them — who held a task or an activity is part of its history, and a
successor may not be the right person for every one — but reports how many records still
name the departing user, so none is left unnoticed: of a work item only the open ones
(no completion time), of any other such field every record."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.metadata import ActionDef, Definitions
from engine.workspace import work_fields

#: Fields that hold a user but are the system's own (``owner`` moves with the hand-over).
_SYSTEM_USER_FIELDS = frozenset({"owner", "created_by"})


def user_fields(definitions: Definitions) -> dict[str, dict[str, str | None]]:
    """Entity → {field naming a user doing the work → the completion field that closes a
    record for it, or ``None``} (only entities with some)."""
    found: dict[str, dict[str, str | None]] = {}

    def add(entity: str | None, field: str | None, done: str | None = None) -> None:
        known = definitions.entities.get(entity or "")
        if known is None or field is None or field in _SYSTEM_USER_FIELDS or field not in known.fields:
            return
        found.setdefault(known.name, {}).setdefault(field, done)

    for entity in definitions.entities.values():
        work = work_fields(entity)
        if work is not None:
            add(entity.name, work.get("assignee"), work["done"])
    for entity_name, action in _actions(definitions):
        if action.kind == "assign":
            add(entity_name, action.field)
        for recipient in action.recipients:
            if recipient.kind == "field":
                add(entity_name, recipient.name)
            elif recipient.kind == "children":
                add(recipient.entity, recipient.name)
    return {entity: dict(sorted(fields.items())) for entity, fields in sorted(found.items())}


def still_assigned(
    tx: Connection, tables: Mapping[str, sa.Table], fields: Mapping[str, Mapping[str, str | None]], name: str
) -> dict[str, int]:
    """``"entity.field"`` → records whose ``field`` names the user ``name`` (open ones, where
    a completion field says which are done; only those with some)."""
    counts: dict[str, int] = {}
    for entity, names in fields.items():
        table = tables[entity]
        for field, done in names.items():
            query = sa.select(sa.func.count()).select_from(table).where(table.c[field] == name)
            if done is not None:
                query = query.where(table.c[done].is_(None))
            count = int(tx.execute(query).scalar() or 0)
            if count:
                counts[f"{entity}.{field}"] = count
    return counts


def _actions(definitions: Definitions) -> Iterator[tuple[str, ActionDef]]:
    """Every action of every workflow and automation, with the entity it runs on."""
    for workflow in definitions.workflows.values():
        for transition in workflow.transitions.values():
            yield from ((workflow.entity, a) for a in transition.actions)
        for state in workflow.states.values():
            if state.escalation is not None:
                yield from ((workflow.entity, a) for a in state.escalation.actions)
    for automation in definitions.automations.values():
        yield from ((automation.entity, a) for a in automation.actions)
