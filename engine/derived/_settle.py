"""Derived values of records a batch writer has just created, written as part of their creation.

A writer that bypasses the record service and audits its batch as one entry (demo data) writes
parents before their children, so a parent's rollups are only known once the children are in.
:func:`settle` then computes every derived field of the records it names, in place: no new
version, no audit row, no event per record — the values are part of the records' creation,
which the writer has already audited and evented as a batch. Records that existed before the
batch must not be settled: a change to them goes through the record service (``refresh``).

Entities are settled in passes until one changes nothing, so chains (line → order total →
customer lifetime value, a compute reading a rollup) come out right whatever the order of
entities; a chain is at most as long as the number of entities with derived fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import _window
from ._service import _IN_CHUNK

if TYPE_CHECKING:
    from engine.runtime import CompiledModel

    from ._service import DerivedService


def settle(
    service: DerivedService,
    tx: Connection,
    model: CompiledModel,
    created: Mapping[str, Sequence[int]],
    now: datetime | None = None,
) -> dict[str, int]:
    """Compute the derived fields of the records ``created`` (entity → ids, all written in this
    transaction) and write them in place; entity → how many records got new values. ``now`` is
    the moment computes that read the clock see (the writer's own clock; default: now)."""
    with _window.clock(now):  # computes and time windows read the writer's clock
        return _settle_all(service, tx, model, created)


def _settle_all(
    service: DerivedService, tx: Connection, model: CompiledModel, created: Mapping[str, Sequence[int]]
) -> dict[str, int]:
    plan = service.plan(model)
    entities = sorted(name for name in plan.entities_with_derived() if created.get(name))
    moved: dict[str, set[int]] = {name: set() for name in entities}
    for _ in range(len(entities) + 1):
        changed_any = False
        for name in entities:
            changed = _settle_entity(service, tx, model, name, sorted(created[name]))
            moved[name].update(changed)
            changed_any = changed_any or bool(changed)
        if not changed_any:
            break
    return {name: len(ids) for name, ids in moved.items() if ids}


def _settle_entity(
    service: DerivedService, tx: Connection, model: CompiledModel, entity: str, ids: list[int]
) -> list[int]:
    table = model.table(entity)
    every = {r.field.name for r in service.plan(model).entity(entity).rollups}
    changed_ids: list[int] = []
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for before, changed in service.changes(tx, model, entity, chunk, dict.fromkeys(chunk, every)):
            by_columns.setdefault(tuple(sorted(changed)), []).append({"record_id": before["id"], **changed})
            changed_ids.append(before["id"])
        for columns, rows in by_columns.items():
            statement = (
                table.update()
                .where(table.c.id == sa.bindparam("record_id"))
                .values({c: sa.bindparam(c) for c in columns})
            )
            tx.execute(statement, rows)
    return changed_ids
