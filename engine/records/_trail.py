"""The audit trail of records: reading it as a user may (newest first, their scope, hidden
fields left out), and the rows every write adds to it, one per changed field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import NotFoundError, UsageError
from engine.storage import audit_log, audit_row, audit_since_deletion, trail_of
from engine.users import Actor, user_of

if TYPE_CHECKING:
    from ._service import RecordService


def new_change_id() -> str:
    return uuid.uuid4().hex


def read_trail(
    service: RecordService, entity: str | None = None, record_id: int | None = None, *, actor: Actor, limit: int = 200
) -> list[dict[str, Any]]:
    """The audit trail, newest first: who changed which field when, old → new.

    For a user whose permissions are restricted, ``entity`` is required, only the
    records they may read now count, and hidden fields are left out.
    """
    user = user_of(actor)
    model = service.model
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    restricted = user is not None and not service._permissions.access(user, entity or "").unrestricted
    if restricted and entity is None:
        raise UsageError("name the entity whose audit trail to show; your roles limit what you may read")
    if entity is not None:
        model.entity(entity)
        query = query.where(audit_log.c.entity == entity)
    if record_id is not None:
        query = query.where(audit_log.c.record_id == as_id(record_id))
        if entity is not None:
            since = audit_since_deletion(entity, as_id(record_id))
            query = query.where(trail_of(model.table(entity), as_id(record_id), since))
    hidden: frozenset[str] = frozenset()
    if restricted and entity is not None:
        if record_id is not None:
            service.get(entity, record_id, actor=actor)
        table = model.table(entity)
        access = service._permissions.require(actor, entity, "read")
        hidden = access.hidden
        scope = service._permissions.scope_condition(actor, table, access.read)
        if scope is not None:
            # live records only: their trails start after the last deletion of their ids
            query = query.where(
                audit_log.c.record_id.in_(sa.select(table.c.id).where(scope)),
                audit_since_deletion(audit_log.c.entity, audit_log.c.record_id),
            )
    with service._engine.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    if hidden:
        rows = [without_hidden(r, hidden) for r in rows if r["field"] not in hidden]
    return rows


def without_hidden(row: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """An audit row without hidden fields in a delete's snapshot."""
    for key in ("old_value", "new_value"):
        value = row.get(key)
        if row.get("field") is None and isinstance(value, dict):
            row[key] = {k: v for k, v in value.items() if k not in hidden}
    return row


def as_id(record_id: Any) -> int:
    try:
        value = int(record_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"{record_id!r} is not a record id") from None
    if value < 1:
        raise NotFoundError(f"{record_id!r} is not a record id")
    return value


def audit_entry(
    change: str,
    entity: str,
    record_id: int,
    action: str,
    field: str | None,
    old: Any,
    new: Any,
    actor: str | None,
    at: datetime,
) -> dict[str, Any]:
    return audit_row(
        change_id=change,
        entity=entity,
        record_id=record_id,
        action=action,
        field=field,
        old_value=old,
        new_value=new,
        actor=actor,
        at=at,
    )
