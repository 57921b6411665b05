"""The record of imports (``crm_imports``): opened when an import starts writing, in its
transaction, so an import that rolls back (or a dry run) leaves no row; closed with its
counts; and the before-images of the records it updated, for ``crm import revert``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import NotFoundError, Problem
from engine.storage import import_changes, imports, to_jsonable

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

    from ._import import ImportReport

ImportStatus = Literal["imported", "reverted"]


def open_import(conn: Connection, *, entity: str, file_name: str | None, actor: str, at: datetime) -> int:
    """A new import row; returns its id."""
    values = {"entity": entity, "file_name": file_name, "actor": actor, "started_at": at, "status": "imported"}
    key = conn.execute(imports.insert().values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def close_import(conn: Connection, import_id: int, report: ImportReport, at: datetime) -> None:
    """The import's counts, as the report has them once every line was written."""
    conn.execute(
        imports.update()
        .where(imports.c.id == import_id)
        .values(
            finished_at=at,
            inserted=report.inserted,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=report.rejected,
        )
    )


class BeforeImages:
    """The values an import overwrites, kept per record (the first value a record had when
    one file updates it twice) and written a batch at a time."""

    def __init__(self, import_id: int) -> None:
        self.import_id = import_id
        self._seen: set[int] = set()
        self._pending: dict[int, tuple[dict[str, Any], int]] = {}

    def add(self, record_id: int, current: Mapping[str, Any], changed: Iterable[str], version_after: int) -> None:
        before = {name: to_jsonable(current.get(name)) for name in changed}
        pending = self._pending.get(record_id)
        if pending is not None:
            before = {**before, **pending[0]}
        self._pending[record_id] = (before, version_after)

    def flush(self, conn: Connection) -> None:
        """Write what the last batch overwrote (merging into rows of earlier batches)."""
        if not self._pending:
            return
        again = [record_id for record_id in self._pending if record_id in self._seen]
        for record_id in again:
            before, version_after = self._pending.pop(record_id)
            key = (import_changes.c.import_id == self.import_id, import_changes.c.record_id == record_id)
            stored = conn.execute(sa.select(import_changes.c.before).where(*key)).scalar_one()
            conn.execute(
                import_changes.update().where(*key).values(before={**before, **stored}, version_after=version_after)
            )
        rows = [
            {"import_id": self.import_id, "record_id": record_id, "before": before, "version_after": version_after}
            for record_id, (before, version_after) in self._pending.items()
        ]
        if rows:
            conn.execute(import_changes.insert(), rows)
        self._seen.update(self._pending)
        self._pending = {}


def import_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An import row as the CLI and API show it."""
    return {
        "id": row["id"],
        "entity": row["entity"],
        "file_name": row["file_name"],
        "actor": row["actor"],
        "started_at": to_jsonable(row["started_at"]),
        "finished_at": to_jsonable(row["finished_at"]),
        "status": row["status"],
        "inserted": row["inserted"],
        "updated": row["updated"],
        "unchanged": row["unchanged"],
        "rejected": row["rejected"],
        "reverted_at": to_jsonable(row["reverted_at"]),
        "reverted_by": row["reverted_by"],
    }


def list_imports(engine: CrmEngine, *, entity: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest imports (newest first), of one entity or all."""
    query = sa.select(imports).order_by(imports.c.id.desc()).limit(limit)
    if entity is not None:
        engine.model.entity(entity)  # an unknown entity is an error, not an empty list
        query = query.where(imports.c.entity == entity)
    with engine.db.read() as conn:
        return [import_json(dict(row)) for row in conn.execute(query).mappings()]


def get_import(conn: Connection, import_id: int) -> dict[str, Any]:
    """The import row ``import_id``; :class:`NotFoundError` when there is none."""
    row = conn.execute(sa.select(imports).where(imports.c.id == import_id)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"there is no import {import_id} (crm import list shows them)",
            [Problem(code="not_found", field="id", message=f"no import {import_id}")],
        )
    return dict(row)
