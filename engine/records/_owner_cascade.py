"""Ownership that follows the customer: references marked ``"cascade_owner": true``.

When a record's owner changes, the records that reference it through such a field and
were owned by the previous owner get the new owner, in the same transaction and through
the same update path as any other change (versioned, audited, evented). Records owned by
someone else stay theirs: a colleague's deal under the account is not taken from them.
Each cascaded record cascades in turn (account → opportunity → quote). The chain ends
because only records still owned by the previous owner move, and a moved record no
longer is: a cycle of references meets records that already have the new owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.users import SystemActor

if TYPE_CHECKING:
    from engine.runtime import CompiledModel

    from ._service import RecordService

#: Why the system writes a cascaded owner (the reason of its actor).
CASCADE_REASON = "owner cascade"


def owner_followers(model: CompiledModel, entity: str) -> list[tuple[str, str]]:
    """``(entity, field)`` of every reference to ``entity`` marked ``cascade_owner``."""
    return [(child.name, name) for child, name in model.referencing(entity) if child.fields[name].cascade_owner]


def cascade_owner(
    records: RecordService,
    tx: Connection,
    model: CompiledModel,
    entity: str,
    record_id: int,
    previous: Any,
    owner: Any,
    actor: str | None,
) -> int:
    """Give ``owner`` the records following ``entity`` ``record_id`` that ``previous`` owned
    (``None``: the unowned ones); returns how many records changed, recursion included.

    Each change is recorded as ``actor``'s (who changed the owner at the top).
    """
    followers = owner_followers(model, entity)
    if not followers or previous == owner:
        return 0
    system = SystemActor(CASCADE_REASON, actor, writes_read_only=True)
    moved = 0
    for child, field_name in followers:
        table = model.table(child)
        held = table.c.owner.is_(None) if previous is None else table.c.owner == previous
        query = sa.select(table.c.id).where(table.c[field_name] == record_id, held).order_by(table.c.id)
        for (child_id,) in tx.execute(query).all():
            # the update path cascades on from each child (see RecordService._write_update)
            records.update(child, child_id, {"owner": owner}, actor=system, conn=tx)
            moved += 1
    return moved
