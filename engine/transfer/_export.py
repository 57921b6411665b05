"""CSV export: streamed with a server-side cursor; ``crm import --key id`` reads it back.

Text cells that a spreadsheet would run as a formula are written with a leading ``'``
(see :mod:`engine.compile._spreadsheet`); import removes it again. ``raw=True`` writes them
as stored, for programs that read the file rather than people who open it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.compile import neutralise
from engine.errors import UsageError
from engine.metadata import TEXT_TYPES
from engine.progress import NO_PROGRESS, Progress
from engine.records import compile_sort, compile_where
from engine.storage import to_jsonable, to_text

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import Actor

SYSTEM_TAIL = ("owner", "created_by", "created_at", "updated_at", "version")


def export_csv(
    engine: CrmEngine,
    entity: str,
    path: str | Path,
    *,
    where: Any = None,
    progress: Progress = NO_PROGRESS,
    actor: Actor,
    raw: bool = False,
) -> int:
    """Write every record of ``entity`` (matching ``where``) to ``path`` as ``actor``; returns
    the count. For a user: only the records in their read scope, without the columns hidden
    from them; for the system: every record and column. Text that would run as a spreadsheet
    formula gets a leading ``'`` unless ``raw``.
    """
    definition = engine.model.entity(entity)
    table = engine.model.table(entity)
    access = engine.permissions.require(actor, entity, "read")
    definition = engine.permissions.visible_entity(actor, definition)
    scope = engine.permissions.scope_condition(actor, table, access.read)
    condition = compile_where(definition, table, where, dialect=engine.db.dialect) if where is not None else sa.true()
    if scope is not None:
        condition = sa.and_(condition, scope)
    fields = list(definition.fields.values())
    guarded = frozenset() if raw else frozenset(f.name for f in fields if f.type in TEXT_TYPES)
    header = ["id", *(f.name for f in fields), *SYSTEM_TAIL]
    count = 0
    try:
        # Opened apart from the ``with`` below so that only its OSError becomes a usage error.
        handle = Path(path).open("w", newline="", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with handle, engine.db.read() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar() or 0)
        progress.start(f"export {entity}", total)
        writer = csv.writer(handle)
        writer.writerow(header)
        query = sa.select(table).where(condition).order_by(*compile_sort(definition, table, None))
        for row in conn.execute(query.execution_options(yield_per=5000)).mappings():
            writer.writerow(
                [
                    row["id"],
                    *(
                        neutralise(to_text(f, row[f.name])) if f.name in guarded else to_text(f, row[f.name])
                        for f in fields
                    ),
                    *("" if row[c] is None else str(to_jsonable(row[c])) for c in SYSTEM_TAIL),
                ]
            )
            count += 1
            if count % 5000 == 0:
                progress.advance(5000)
        progress.advance(count % 5000)
        progress.finish()
    return count
