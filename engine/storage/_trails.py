"""Which trail rows (audit, workflow history, score history) belong to a live record.

Ids are never reused (SQLite tables are ``AUTOINCREMENT``, PostgreSQL ids come from
sequences), so a trail keyed by ``(entity, record_id)`` names one record. Databases made
before that may already have handed a deleted record's id to a new one; for a live record,
the rows written before the last deletion of its id belong to the deleted record and are
not part of its trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from ._system_tables import audit_log


def _deletions(entity: Any, record_id: Any) -> Any:
    d = audit_log.alias("deletion")
    return d, sa.and_(d.c.entity == entity, d.c.record_id == record_id, d.c.action == "delete")


def audit_since_deletion(entity: Any, record_id: Any) -> ColumnElement[bool]:
    """Audit rows newer than the last deletion of ``record_id`` (all of them when none)."""
    d, where = _deletions(entity, record_id)
    last = sa.select(sa.func.max(d.c.id)).where(where).scalar_subquery()
    return audit_log.c.id > sa.func.coalesce(last, 0)


def written_since_deletion(at: ColumnElement[datetime], entity: Any, record_id: Any) -> ColumnElement[bool]:
    """Rows (of another trail, by their time ``at``) written after the last deletion of the id."""
    d, where = _deletions(entity, record_id)
    last = sa.select(sa.func.max(d.c.at)).where(where).scalar_subquery()
    return sa.or_(last.is_(None), at > last)


def trail_of(table: sa.Table, record_id: int, since_deletion: ColumnElement[bool]) -> ColumnElement[bool]:
    """The rows of ``record_id``'s trail: for a live record those ``since_deletion`` (after the
    last deletion of its id; older databases reused ids), for a deleted record all of them."""
    live = sa.exists(sa.select(table.c.id).where(table.c.id == record_id))
    return sa.or_(~live, since_deletion)
