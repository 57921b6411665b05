"""Deleting a record with what its references ask: restrict, cascade, set_null."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import Problem, ReferenceIntegrityError
from engine.storage import RECORD_DELETED, DomainEvent, audit_log, scores, to_jsonable, unit_of
from engine.users import SystemActor

from ._trail import audit_entry, new_change_id

if TYPE_CHECKING:
    from ._service import Record, RecordService


def delete_tree(
    service: RecordService, tx: Connection, entity: str, current: Record, actor: str, seen: set[tuple[str, int]]
) -> None:
    """Delete ``current`` and what its references' ``on_delete`` asks (restrict refuses,
    cascade deletes, set_null empties), each delete audited and announced; ``seen`` keeps a
    record reached twice from being deleted twice."""
    model = service.model
    key = (entity, current["id"])
    if key in seen:
        return
    seen.add(key)
    for child, field_name in model.referencing(entity):
        f = child.fields[field_name]
        child_table = model.table(child.name)
        ids = [r[0] for r in tx.execute(sa.select(child_table.c.id).where(child_table.c[field_name] == current["id"]))]
        if not ids:
            continue
        if f.on_delete == "restrict":
            raise ReferenceIntegrityError(
                f"{entity} {current['id']} is referenced by {len(ids)} {child.name} record(s) "
                f"through {child.name}.{field_name}; delete or reassign them first",
                [
                    Problem(
                        code="restricted",
                        field=field_name,
                        message=f"{len(ids)} {child.name} record(s) refer to it",
                        values={"count": len(ids), "entity": child.name, "field": field_name},
                    )
                ],
            )
        for child_id in ids:
            if f.on_delete == "cascade":
                child_row = service._read(child.name, child_id, tx)
                delete_tree(service, tx, child.name, child_row, actor, seen)
            elif (child.name, child_id) not in seen:
                service.update(child.name, child_id, {field_name: None}, actor=SystemActor.cascade(actor), conn=tx)
    table = model.table(entity)
    tx.execute(table.delete().where(table.c.id == current["id"]))
    if model.entity(entity).duplicates:
        service._engine.duplicates.drop_keys(tx, entity, current["id"])
    # current scores go with the record; score history stays, like the audit trail
    tx.execute(scores.delete().where(scores.c.entity == entity, scores.c.record_id == current["id"]))
    snapshot = {k: v for k, v in current.items() if v is not None}
    now = utcnow()
    tx.execute(
        audit_log.insert().values(
            audit_entry(new_change_id(), entity, current["id"], "delete", None, snapshot, None, actor, now)
        )
    )
    unit_of(tx).emit(
        DomainEvent(
            RECORD_DELETED,
            entity,
            current["id"],
            actor,
            {"record": to_jsonable(current)},
            now,
            model.version,
            record=current,
        )
    )
    service._engine.derived.after_write(tx, model, entity, current, None, actor)
