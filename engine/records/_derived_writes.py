"""Writing the engine's own recomputed derived values over records, many at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, Problem
from engine.metadata import EntityDef
from engine.storage import RowInserter, audit_log, record_updated, unit_of

from ._stored import after_update, stored_value
from ._trail import audit_entry, new_change_id

if TYPE_CHECKING:
    from engine.runtime import CompiledModel

    from ._service import Record

_AUDIT = RowInserter(audit_log)


def write_derived(
    tx: Connection,
    model: CompiledModel,
    definition: EntityDef,
    changes: list[tuple[Record, dict[str, Any]]],
    actor: str | None,
) -> list[tuple[Record, Record]]:
    """Write recomputed derived values over records (``(current, changed)`` pairs): the
    engine's own change, versioned, audited and evented like any other, in one statement per
    set of changed columns. Returns ``(before, after)`` pairs; passing them on to what depends
    on them is the caller's (the derived service does it a batch at a time)."""
    entity = definition.name
    now = utcnow()
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    audit: list[dict[str, Any]] = []
    written: list[tuple[Record, Record]] = []
    unit = unit_of(tx)
    for current, changed in changes:
        columns = tuple(sorted(changed))
        by_columns.setdefault(columns, []).append(
            {
                **{f"v_{c}": changed[c] for c in columns},
                "record_id": current["id"],
                "old_version": current["version"],
                "new_version": current["version"] + 1,
                "now": now,
            }
        )
        change = new_change_id()
        audit.extend(
            audit_entry(
                change, entity, current["id"], "update", k, current.get(k), stored_value(definition, k, v), actor, now
            )
            for k, v in changed.items()
        )
        updated = after_update(definition, current, changed, now)
        unit.emit(record_updated(entity, current, updated, changed, actor, now, model.version))
        written.append((current, updated))
    for columns, rows in by_columns.items():
        result = tx.execute(
            model.update_by_version(entity, columns), rows, execution_options={"preserve_rowcount": True}
        )
        if result.rowcount != len(rows):
            raise ConflictError(
                f"{entity} records changed at the same time as their derived fields; retry",
                [Problem(code="stale_version", field="version", message="concurrent change")],
            )
    if audit:
        _AUDIT.insert(tx, audit)
    return written
