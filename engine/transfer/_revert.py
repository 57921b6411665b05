"""``crm import revert ID``: delete the records an import created and restore the values it
overwrote, in one transaction, through the record service (so every delete and restore is
audited, emits its event and refreshes what derives from it, like any other write).

It is refused, naming the records, wherever it would lose a later change: a created record
changed since, or referenced by another record since (deleting it would cascade into or
orphan that record); an updated record changed again or deleted since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, Problem
from engine.storage import audit_log, batch_audit_row, import_changes, imports

from ._ledger import get_import

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import Actor

#: Records named in a refusal (the count says how many more).
MAX_NAMED = 20


@dataclass(frozen=True)
class RevertReport:
    import_id: int
    entity: str
    deleted: int
    restored: int

    def to_json(self) -> dict[str, Any]:
        return {"import": self.import_id, "entity": self.entity, "deleted": self.deleted, "restored": self.restored}


def revert_import(engine: CrmEngine, import_id: int, *, actor: Actor) -> RevertReport:
    """Undo import ``import_id`` as ``actor``; see the module docstring."""
    with engine.db.write() as conn:
        row = get_import(conn, import_id)
        entity = row["entity"]
        if row["status"] != "imported":
            raise ConflictError(
                f"import {import_id} was already reverted (by {row['reverted_by']} at {row['reverted_at']})",
                [Problem(code="already_reverted", field="id", message=f"import {import_id} is {row['status']}")],
            )
        table = engine.model.table(entity)
        created = [
            dict(r)
            for r in conn.execute(
                sa.select(table)
                .where(table.c.created_by == row["actor"], table.c.created_at == row["started_at"])
                .order_by(table.c.id)
            ).mappings()
        ]
        changes = [
            dict(r)
            for r in conn.execute(sa.select(import_changes).where(import_changes.c.import_id == import_id)).mappings()
        ]
        refusals = _refusals(engine, conn, row, created, changes)
        if refusals:
            shown = refusals[:MAX_NAMED]
            more = f" and {len(refusals) - MAX_NAMED} more" if len(refusals) > MAX_NAMED else ""
            raise ConflictError(
                f"import {import_id} cannot be reverted without losing later changes: "
                + "; ".join(p.message for p in shown)
                + more,
                shown,
            )
        # newest first: a record the file created after another and that refers to it goes first
        for record in reversed(created):
            engine.records.delete(entity, record["id"], actor=actor, expected_version=record["version"], conn=conn)
        for change in changes:
            engine.records.update(
                entity,
                change["record_id"],
                change["before"],
                actor=actor,
                expected_version=change["version_after"],
                conn=conn,
            )
        now = utcnow()
        conn.execute(
            imports.update()
            .where(imports.c.id == import_id)
            .values(status="reverted", reverted_at=now, reverted_by=actor.name)
        )
        summary = {"import": import_id, "deleted": len(created), "restored": len(changes)}
        conn.execute(
            audit_log.insert().values(
                batch_audit_row(
                    change_id=f"import-revert-{import_id}",
                    entity=entity,
                    action="import_revert",
                    summary=summary,
                    actor=actor.name,
                    at=now,
                )
            )
        )
    return RevertReport(import_id, entity, len(created), len(changes))


def _refusals(
    engine: CrmEngine,
    conn: Connection,
    row: dict[str, Any],
    created: list[dict[str, Any]],
    changes: list[dict[str, Any]],
) -> list[Problem]:
    """Every record whose later change the revert of import ``row`` would lose."""
    entity = row["entity"]
    problems: list[Problem] = []
    for record in created:
        if record["version"] != 1:
            problems.append(
                _refusal(
                    record["id"], f"{entity} {record['id']} was changed after the import (version {record['version']})"
                )
            )
    created_ids = [r["id"] for r in created]
    for child, field_name in engine.model.referencing(entity) if created_ids else ():
        child_table = engine.model.table(child.name)
        column = child_table.c[field_name]
        for start in range(0, len(created_ids), 1000):
            chunk = created_ids[start : start + 1000]
            query = sa.select(child_table.c.id, column).where(column.in_(chunk))
            if child.name == entity:  # a record the import created too is deleted first, not in the way
                query = query.where(
                    sa.or_(child_table.c.created_by != row["actor"], child_table.c.created_at != row["started_at"])
                )
            for child_id, target_id in conn.execute(query.order_by(child_table.c.id).limit(MAX_NAMED)):
                message = f"{child.name} {child_id} refers to {entity} {target_id} (through {child.name}.{field_name})"
                problems.append(_refusal(target_id, message))
    if changes:
        table = engine.model.table(entity)
        ids = [c["record_id"] for c in changes]
        versions: dict[int, int] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            versions.update(
                (r[0], r[1]) for r in conn.execute(sa.select(table.c.id, table.c.version).where(table.c.id.in_(chunk)))
            )
        for change in changes:
            record_id, after = change["record_id"], change["version_after"]
            if record_id not in versions:
                problems.append(_refusal(record_id, f"{entity} {record_id} was deleted after the import"))
            elif versions[record_id] != after:
                now_at = versions[record_id]
                message = (
                    f"{entity} {record_id} was changed after the import (version {now_at}, the import left {after})"
                )
                problems.append(_refusal(record_id, message))
    return problems


def _refusal(record_id: int, message: str) -> Problem:
    return Problem(code="changed_since_import", field="id", message=message)
