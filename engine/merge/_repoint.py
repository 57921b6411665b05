"""Moving references and history rows from one record to another, set-based.

A merge moves every reference to the source onto the target; its undo moves the same records
back. Each referencing field takes one ``UPDATE … RETURNING`` (by value for the merge, by id
for the undo, 500 ids a statement), not a record-service call per record: an account
referenced by ten thousand records is re-pointed in a few statements. What the record service
does for each write is still done for each record: the version rises, an audit row and a
``record.updated`` event are written, and the derived service brings rollups and computes up
to date (the target's rollups then count the re-pointed children).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from engine.storage import (
    RECORD_UPDATED,
    DomainEvent,
    audit_log,
    audit_row,
    score_history,
    unit_of,
    workflow_history,
)
from engine.transfer import copy_rows

from ._snapshot import row_json

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine

#: Ids per ``IN`` list on SQLite (PostgreSQL takes them all as one array parameter).
_CHUNK = 500
#: The history tables a merge moves to the target, by the name ``crm_merges.history`` uses.
HISTORY_TABLES: dict[str, sa.Table] = {
    "audit": audit_log,
    "workflow_history": workflow_history,
    "score_history": score_history,
}


@dataclass(frozen=True)
class Move:
    """What one re-pointing wrote: the records, by the time and change id of the merge."""

    entity: str
    from_id: int
    to_id: int
    actor: str
    change_id: str
    at: datetime
    merge_id: int


def repoint(
    engine: CrmEngine,
    tx: Connection,
    model: CompiledModel,
    move: Move,
    child: str,
    field: str,
    ids: Sequence[int] | None = None,
) -> list[int]:
    """Point ``child.field`` at ``move.to_id`` where it points at ``move.from_id`` (only the
    records ``ids`` when given); returns the ids of the records moved."""
    table = model.table(child)
    column = table.c[field]
    values = {field: move.to_id, "version": table.c.version + 1, "updated_at": move.at}
    where = [column == move.from_id]
    if child == move.entity:
        # the two records themselves: the source is removed or restored whole, the target's
        # reference to the source is cleared by the merge (it cannot refer to itself)
        where.append(table.c.id.not_in([move.from_id, move.to_id]))
    after: list[dict[str, Any]] = []
    if ids is None:
        statement = table.update().where(*where).values(values).returning(*table.c)
        after.extend(dict(r) for r in tx.execute(statement).mappings())
    else:
        for chunk in id_chunks(tx, ids):
            statement = table.update().where(*where, id_in(tx, table.c.id, chunk)).values(values).returning(*table.c)
            after.extend(dict(r) for r in tx.execute(statement).mappings())
    if not after:
        return []
    after.sort(key=lambda r: r["id"])
    pairs = [(_before(r, field, move.from_id), r) for r in after]
    # COPY on PostgreSQL: ten thousand audit rows cost less than one round trip each
    copy_rows(
        tx,
        audit_log,
        [
            audit_row(
                change_id=move.change_id,
                entity=child,
                record_id=r["id"],
                action="update",
                field=field,
                old_value=move.from_id,
                new_value=move.to_id,
                actor=move.actor,
                at=move.at,
            )
            for r in after
        ],
    )
    unit = unit_of(tx)
    changes = {field: {"old": move.from_id, "new": move.to_id}}
    for record in after:
        # record.updated as record_updated() makes it, with the rows converted the quick way
        payload = {"changes": changes, "record": row_json(record), "merge": move.merge_id}
        unit.emit(
            DomainEvent(RECORD_UPDATED, child, record["id"], move.actor, payload, move.at, model.version, record=record)
        )
    derived = engine.derived
    derived.after_writes(tx, model, child, pairs, move.actor)
    plan = derived.plan(model).entity(child)
    if any(field in c.reads for c in plan.computes):
        # the record's own computes read through the moved reference (account.name)
        derived.refresh_many(tx, model, child, {r["id"]: set() for r in after}, move.actor)
    return [r["id"] for r in after]


def _before(after: dict[str, Any], field: str, previous: int) -> dict[str, Any]:
    """The record as it was before the re-pointing (its events say what changed)."""
    return {**after, field: previous, "version": after["version"] - 1}


def move_history(tx: Connection, entity: str, from_id: int, to_id: int) -> dict[str, list[int]]:
    """Move the audit, workflow and score history rows of ``entity`` ``from_id`` to ``to_id``;
    the ids of the rows moved, per table (an undo moves exactly those back)."""
    moved: dict[str, list[int]] = {}
    for name, table in HISTORY_TABLES.items():
        where = sa.and_(table.c.entity == entity, table.c.record_id == from_id)
        ids = [r[0] for r in tx.execute(sa.select(table.c.id).where(where).order_by(table.c.id))]
        if ids:
            tx.execute(table.update().where(where).values(record_id=to_id))
        moved[name] = ids
    return moved


def move_history_back(tx: Connection, entity: str, moved: dict[str, list[int]], to_id: int) -> None:
    """Give the rows :func:`move_history` moved back to ``to_id``."""
    for name, ids in moved.items():
        table = HISTORY_TABLES[name]
        for chunk in id_chunks(tx, ids):
            where = sa.and_(table.c.entity == entity, id_in(tx, table.c.id, chunk))
            tx.execute(table.update().where(where).values(record_id=to_id))


def id_chunks(tx: Connection, ids: Sequence[int]) -> Iterator[list[int]]:
    """``ids`` in the pieces one statement takes: all at once on PostgreSQL (one array
    parameter: an ``IN`` list of thousands of parameters costs more to send than to run)."""
    if tx.dialect.name == "postgresql":
        if ids:
            yield list(ids)
        return
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def id_in(tx: Connection, column: Any, ids: list[int]) -> Any:
    """``column IN ids``: ``= ANY(:ids)`` with one array on PostgreSQL."""
    if tx.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam("crm_ids", ids, type_=ARRAY(sa.BigInteger())))
    return column.in_(ids)
