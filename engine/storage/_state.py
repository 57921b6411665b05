"""The applied definitions, stored in the database with a version number and digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError
from engine.metadata import Definitions, definitions_digest, definitions_from_json, definitions_to_json

from ._system_tables import schema_versions


@dataclass(frozen=True)
class StoredDefinitions:
    version: int
    digest: str
    definitions: Definitions
    applied_at: datetime
    applied_by: str | None


def current_version(conn: Connection) -> int:
    """The live definitions version (0 when nothing was ever applied)."""
    value = conn.execute(sa.select(sa.func.max(schema_versions.c.version))).scalar()
    return int(value or 0)


def load_stored(conn: Connection, version: int | None = None) -> StoredDefinitions | None:
    """The stored definitions of ``version`` (default: the live one), or None."""
    query = sa.select(schema_versions)
    if version is None:
        query = query.order_by(schema_versions.c.version.desc()).limit(1)
    else:
        query = query.where(schema_versions.c.version == version)
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return StoredDefinitions(
        version=row["version"],
        digest=row["digest"],
        definitions=definitions_from_json(row["definitions"]),
        applied_at=row["applied_at"],
        applied_by=row["applied_by"],
    )


def store(
    conn: Connection,
    definitions: Definitions,
    *,
    expected_version: int,
    actor: str | None,
    summary: str,
) -> int:
    """Record ``definitions`` as the next version; fails if another apply came first."""
    version = current_version(conn)
    if version != expected_version:
        raise ConflictError(
            f"the definitions changed while this change was planned (version {expected_version} "
            f"→ {version}); run the diff again"
        )
    payload: dict[str, Any] = definitions_to_json(definitions)
    try:
        conn.execute(
            schema_versions.insert().values(
                version=version + 1,
                digest=definitions_digest(definitions),
                name=definitions.name,
                definitions=payload,
                applied_at=utcnow(),
                applied_by=actor,
                summary=summary,
            )
        )
    except sa.exc.IntegrityError as exc:
        raise ConflictError("another schema change was applied at the same time; retry") from exc
    return version + 1
