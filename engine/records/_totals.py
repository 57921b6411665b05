"""Counts and sums of records grouped by a field, as the asking user may read them: what a
pipeline board's column headers show (how many deals are in each stage, and their amount).

The same filter, search and read scope as :meth:`RecordService.list`, so a header never
counts a record its column does not list, and a user never learns of records they may not
read. One ``GROUP BY`` query, whatever the number of groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import UsageError
from engine.users import Actor, user_of

from ._filters import compile_filter
from ._search import compile_search

if TYPE_CHECKING:
    from ._service import RecordService


@dataclass(frozen=True)
class GroupTotal:
    """The records of one group: how many, and the sum of a field over them (``None`` when
    no field is summed, or none of them has a value)."""

    count: int
    total: Decimal | None = None


def group_totals(
    records: RecordService,
    entity: str,
    *,
    by: str,
    sum_of: str | None = None,
    where: Any = None,
    search: str | None = None,
    actor: Actor,
) -> Mapping[Any, GroupTotal]:
    """Group value → :class:`GroupTotal` of the records of ``entity`` matching ``where`` and
    ``search`` that ``actor`` may read. A field hidden from the user is neither grouped nor
    summed (refused as an unknown field, as a filter on it would be)."""
    engine = records._engine  # the service's engine: its database, model and permissions
    user = user_of(actor)
    definition = engine.model.entity(entity)
    table = engine.model.table(entity)
    scope = None
    if user is not None:
        access = engine.permissions.require(user, entity, "read")
        definition = engine.permissions.visible_entity(user, definition)
        scope = engine.permissions.scope_condition(user, table, access.read)
    for name in (by, sum_of):
        if name is not None and name not in definition.fields and name != "owner":
            raise UsageError(f"{entity} has no field {name!r} to group or sum by")
    found = compile_filter(definition, table, where, dialect=engine.db.dialect, follow=records._targets(user))
    found = found.combined(compile_search(definition, table, search))
    condition = found.condition if scope is None else sa.and_(found.condition, scope)
    columns: list[Any] = [table.c[by], sa.func.count().label("count")]
    if sum_of is not None:
        columns.append(sa.func.sum(table.c[sum_of]).label("total"))
    query = sa.select(*columns).where(condition).group_by(table.c[by])
    with engine.db.read() as conn:
        rows = conn.execute(query, found.params).all()
    return {
        row[0]: GroupTotal(int(row[1]), Decimal(str(row[2])) if sum_of is not None and row[2] is not None else None)
        for row in rows
    }
