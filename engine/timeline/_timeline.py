"""Everything that happened to a record, newest first, from where each fact is kept: its
creation and field changes (the audit trail, one entry per change), its workflow
transitions with their comments, its scores and overrides, the tasks and activities and
other records that point at it, the notes people added, the automations that ran on it and
the notifications about it sent to the reader.

One query per source, each limited to a page before the cursor, merged by time: a page
costs the same however long the record's history is. Only what the reader may see: the
audit trail and the related records through the services, as the reader; notifications
only the reader's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import PermissionDeniedError, UsageError
from engine.storage import automation_runs, notes, notifications, score_history, workflow_history
from engine.users import Actor, user_of

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: The kinds of entries, in the order a filter lists them.
KINDS = ("created", "changed", "transition", "score", "related", "note", "automation", "notification")


@dataclass(frozen=True)
class Entry:
    """One thing that happened: when, what kind, who, and what (``data``, by kind)."""

    at: datetime
    kind: str
    actor: str | None
    data: Mapping[str, Any] = field(default_factory=dict)


def timeline(
    engine: CrmEngine,
    entity: str,
    record_id: int,
    *,
    actor: Actor,
    kinds: Iterable[str] | None = None,
    before: datetime | None = None,
    limit: int = 50,
) -> list[Entry]:
    """The entries of the record's timeline before ``before`` (all when ``None``), newest
    first, at most ``limit``, of ``kinds`` (all when ``None``). The record must be readable."""
    engine.records.get(entity, record_id, actor=actor)
    wanted = set(KINDS if kinds is None else kinds)
    found: list[Entry] = []
    if wanted & {"created", "changed"}:
        found.extend(e for e in _changes(engine, entity, record_id, actor, before, limit) if e.kind in wanted)
    sources = {
        "transition": _transitions,
        "score": _scores,
        "note": _notes,
        "automation": _automations,
        "notification": _notifications,
        "related": _related,
    }
    for kind, source in sources.items():
        if kind in wanted:
            found.extend(source(engine, entity, record_id, actor, before, limit))
    found.sort(key=lambda e: e.at, reverse=True)
    return found[:limit]


def _recent(
    engine: CrmEngine,
    table: sa.Table,
    entity: str,
    record_id: int,
    *,
    at: str,
    before: datetime | None,
    limit: int,
    where: tuple[Any, ...] = (),
) -> list[Mapping[str, Any]]:
    """The latest ``limit`` rows of ``table`` about the record, before ``before`` by its
    ``at`` column: the one query every trail source runs."""
    c = table.c
    query = sa.select(table).where(c.entity == entity, c.record_id == record_id, *where)
    if before is not None:
        query = query.where(c[at] < before)
    with engine.db.read() as conn:
        return [dict(r) for r in conn.execute(query.order_by(c[at].desc()).limit(limit)).mappings()]


def _changes(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    rows = engine.records.audit(entity, record_id, actor=actor, limit=max(limit * 10, 200))
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if before is None or row["at"] < before:
            grouped.setdefault(str(row["change_id"]), []).append(row)
    out = []
    for change in grouped.values():
        first = change[0]
        kind = "created" if first["action"] in ("create", "demo", "import") else "changed"
        fields = [{"field": r["field"], "old": r["old_value"], "new": r["new_value"]} for r in change if r["field"]]
        out.append(Entry(first["at"], kind, first["actor"], {"action": first["action"], "fields": fields}))
    return out


def _transitions(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    rows = _recent(engine, workflow_history, entity, record_id, at="at", before=before, limit=limit)
    keys = ("workflow", "transition", "from_state", "to_state", "comment")
    return [Entry(r["at"], "transition", r["actor"], {k: r[k] for k in keys}) for r in rows]


def _scores(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    rows = _recent(engine, score_history, entity, record_id, at="at", before=before, limit=limit)
    keys = ("scoring", "kind", "value", "grade", "reason")
    return [Entry(r["at"], "score", r["actor"], {k: r[k] for k in keys}) for r in rows]


def _notes(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    rows = _recent(engine, notes, entity, record_id, at="at", before=before, limit=limit)
    return [Entry(r["at"], "note", r["author"], {"body": r["body"]}) for r in rows]


def _automations(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    from engine.automations import actor_of

    rows = _recent(engine, automation_runs, entity, record_id, at="created_at", before=before, limit=limit)
    definitions = engine.model.definitions.automations
    out = []
    for r in rows:
        known = definitions.get(r["automation"])
        label = known.label.to_json() if known is not None else r["automation"]
        data = {"automation": r["automation"], "label": label, "status": r["status"], "error": r["error"]}
        out.append(Entry(r["created_at"], "automation", actor_of(r["automation"]).name, data))
    return out


def _notifications(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    user = user_of(actor)
    if user is None:
        return []
    mine = (notifications.c.user == user.name,)  # only the reader's own
    rows = _recent(engine, notifications, entity, record_id, at="created_at", before=before, limit=limit, where=mine)
    keys = ("topic", "title", "message")
    return [Entry(r["created_at"], "notification", r["actor"], {k: r[k] for k in keys}) for r in rows]


def _related(
    engine: CrmEngine, entity: str, record_id: int, actor: Actor, before: datetime | None, limit: int
) -> list[Entry]:
    """Records pointing at this one (its tasks, activities, quotes…), at their creation."""
    out: list[Entry] = []
    for other in engine.model.definitions.entities.values():
        for f in other.fields.values():
            if f.type != "reference" or f.target != entity:
                continue
            where: dict[str, Any] = {f.name: record_id}
            if before is not None:
                where = {"and": [where, {"created_at": {"lt": before.isoformat()}}]}
            try:
                page = engine.records.list(
                    other.name, where=where, sort="-created_at", limit=limit, with_total=False, actor=actor
                )
            except PermissionDeniedError:
                break  # an entity the reader may not read: none of its records
            except UsageError:
                continue  # a reference field hidden from the reader: not a way to find records
            for record in page.items:
                data = {"entity": other.name, "field": f.name, "record": record}
                out.append(
                    Entry(record["created_at"], "related", record.get("created_by") or record.get("owner"), data)
                )
    return out
