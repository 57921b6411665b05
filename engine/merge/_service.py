"""Merging two records of an entity into one, and undoing it.

``merge(entity, source, into=target)`` in one write transaction: each field keeps the target's
value unless it is empty or ``take`` says otherwise (:mod:`._plan`); every reference to the
source, from every entity, moves to the target (:mod:`._repoint`); the source's audit trail,
workflow history and score history move to the target, so the target's trail tells the whole
story; the source is removed; a row of ``crm_merges`` keeps what an undo needs. Every record
written is versioned, audited (one change id for the whole merge) and evented like any other
write, and derived fields settle before the commit (the target's rollups count the children it
gained). Unique values the target takes are checked like any update: a collision refuses the
merge and nothing is written.

``undo(merge_id)`` puts the source back under its own id, with its references, history and
scores, and the target's overwritten values; it is refused, naming the records and fields,
when a change made since the merge would be overwritten.

Permissions: a user needs ``update`` on both records (and on the target to undo); the system
may do anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, NotFoundError, Problem, RecordValidationError, UsageError
from engine.metadata import EntityDef
from engine.records import new_change_id, unique_conflicts
from engine.storage import (
    RECORD_CREATED,
    RECORD_DELETED,
    DomainEvent,
    audit_log,
    audit_row,
    merges,
    scores,
    to_jsonable,
    unit_of,
)
from engine.users import Actor, SystemActor, user_of

from ._plan import FieldChoice, choose, self_references, workflow_problems
from ._repoint import Move, id_chunks, id_in, move_history, move_history_back, repoint
from ._snapshot import row_from_json, row_json

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine

Record = dict[str, Any]
#: How many merges a list shows at most.
MAX_MERGES = 500


@dataclass(frozen=True)
class MergePlan:
    """What a merge would do: both records, each field's choice, the references to move."""

    entity: str
    source: Record
    target: Record
    choices: list[FieldChoice]
    #: (entity, field, how many records) of every reference to the source
    references: list[tuple[str, str, int]]
    problems: list[Problem]
    #: fields hidden from the user asking (merged by the same rules, never shown to them)
    hidden: frozenset[str] = frozenset()

    @property
    def shown_choices(self) -> list[FieldChoice]:
        """The choices of the fields the user asking may see."""
        return [c for c in self.choices if c.field not in self.hidden]

    @property
    def changes(self) -> dict[str, Any]:
        """The source's values the target takes."""
        return {c.field: c.source for c in self.choices if c.changes}

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "source": self.source["id"],
            "target": self.target["id"],
            "fields": [c.to_json(to_jsonable) for c in self.shown_choices],
            "references": [{"entity": e, "field": f, "count": n} for e, f, n in self.references],
            "problems": [p.to_json() for p in self.problems],
        }


class MergeService:
    """Merges of the records of one engine, and their undo."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    # -- planning ---------------------------------------------------------------------------
    def plan(
        self, entity: str, source_id: int, *, into: int, take: Mapping[str, str] | None = None, actor: Actor
    ) -> MergePlan:
        """What merging ``source_id`` into ``into`` would do (the admin's confirm page); the
        problems that would refuse it are in :attr:`MergePlan.problems`, nothing is raised for them."""
        with self._engine.db.read() as conn:
            return self._plan(conn, self._engine.model, entity, source_id, into, take or {}, actor, lock=False)

    def _plan(
        self,
        conn: Connection,
        model: CompiledModel,
        entity: str,
        source_id: int,
        target_id: int,
        take: Mapping[str, str],
        actor: Actor,
        *,
        lock: bool,
    ) -> MergePlan:
        definition = model.entity(entity)
        source_id, target_id = _as_id(source_id), _as_id(target_id)
        if source_id == target_id:
            raise UsageError(
                f"{entity} {source_id} cannot be merged into itself; name another record with --into",
                [Problem(code="same_record", field="into", message="the source and the target are one record")],
            )
        if not isinstance(take, Mapping):
            raise UsageError("take must map field names to source or target")
        user = user_of(actor)
        permissions = self._engine.permissions
        if user is not None:
            permissions.require(user, entity, "update")
        found = _read(conn, model, entity, [source_id, target_id], lock=lock)
        for record_id in (source_id, target_id):
            if record_id not in found:
                raise NotFoundError(f"{entity} {record_id} does not exist")
        source, target = found[source_id], found[target_id]
        if user is not None:
            permissions.check_record(user, entity, source, "update")
            permissions.check_record(user, entity, target, "update")
            taken = [name for name, side in take.items() if side == "source"]
            if taken:
                permissions.check_writable(user, entity, taken)
        definitions = model.definitions
        choices, problems = choose(definitions, definition, source, target, take)
        problems.extend(workflow_problems(definitions, definition, source, target))
        references = []
        for child, field in model.referencing(entity):
            table = model.table(child.name)
            where = [table.c[field] == source_id]
            if child.name == entity:
                where.append(table.c.id.not_in([source_id, target_id]))
            count = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0
            references.append((child.name, field, int(count)))
        hidden = permissions.hidden_fields(user, entity) if user is not None else frozenset()
        return MergePlan(entity, source, target, choices, references, problems, hidden)

    # -- merging ----------------------------------------------------------------------------
    def merge(
        self, entity: str, source_id: int, *, into: int, take: Mapping[str, str] | None = None, actor: Actor
    ) -> dict[str, Any]:
        """Merge ``source_id`` into ``into`` as ``actor`` (see the module's docstring); the merge
        as :meth:`get` shows it, with the target as it now is under ``"record"``."""
        engine = self._engine
        model = engine.model
        definition = model.entity(entity)
        with engine.db.write() as tx:
            plan = self._plan(tx, model, entity, source_id, into, take or {}, actor, lock=True)
            if plan.problems:
                raise RecordValidationError(plan.problems)
            changes = plan.changes
            self._check_unique(tx, model, definition, plan, changes)
            source, target = plan.source, plan.target
            now = utcnow()
            change_id = new_change_id()
            merge_id = _insert_merge(tx, entity, change_id, source, target, actor.name, now)
            move = Move(entity, source["id"], target["id"], actor.name, change_id, now, merge_id)
            # the source's trail first: what this merge writes about the source stays the source's
            history = move_history(tx, entity, source["id"], target["id"])
            cleared = self_references(definition, source, target)
            if cleared:
                engine.records.update(entity, target["id"], cleared, actor=_merging(actor), conn=tx)
            repointed = []
            for child, field in model.referencing(entity):
                ids = repoint(engine, tx, model, move, child.name, field)
                if ids:
                    repointed.append({"entity": child.name, "field": field, "ids": ids})
            kept_scores = _take_scores(tx, entity, source["id"])
            self._remove_source(tx, model, move, source)
            if changes:
                # in their JSON form, as any edge hands values to the record service
                taken = {name: to_jsonable(value) for name, value in changes.items()}
                engine.records.update(entity, target["id"], taken, actor=_merging(actor), conn=tx)
            _audit(tx, move, target["id"], "merge", None, {"merged": source["id"], "merge": merge_id})
            tx.execute(
                merges.update()
                .where(merges.c.id == merge_id)
                .values(
                    taken={
                        name: {"old": to_jsonable(target.get(name)), "new": to_jsonable(value)}
                        for name, value in {**cleared, **changes}.items()
                    },
                    repointed=repointed,
                    history=history,
                    scores=kept_scores,
                )
            )
        shown = self._shown(merge_id, actor)
        shown["record"] = engine.records.get(entity, target["id"], actor=actor)
        return shown

    def _check_unique(
        self, tx: Connection, model: CompiledModel, definition: EntityDef, plan: MergePlan, changes: Mapping[str, Any]
    ) -> None:
        """Refuse, before writing anything, a taken value a third record holds (the source
        holding it is no conflict: it is removed first)."""
        if not changes:
            return
        table = model.table(definition.name)
        merged = {**plan.target, **changes}
        groups = [(f.name,) for f in definition.fields.values() if f.unique] + list(definition.unique)
        problems = []
        for cols in groups:
            if not set(cols) & set(changes) or any(merged.get(c) is None for c in cols):
                continue
            query = sa.select(table.c.id).where(
                *(table.c[c] == merged[c] for c in cols), table.c.id.not_in([plan.source["id"], plan.target["id"]])
            )
            other = tx.execute(query.limit(1)).scalar()
            if other is not None:
                shown = " + ".join(f'{c} "{merged[c]}"' for c in cols)
                problems.append(
                    Problem(
                        code="unique",
                        field=cols[0],
                        message=f"{definition.name} {other} already has {shown}; the merged record cannot take it",
                    )
                )
        if problems:
            raise ConflictError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)

    def _remove_source(self, tx: Connection, model: CompiledModel, move: Move, source: Record) -> None:
        """Delete the source row (nothing refers to it any more), audited as merged into the
        target and evented as a deletion that says where the record went."""
        table = model.table(move.entity)
        tx.execute(table.delete().where(table.c.id == move.from_id))
        _audit(tx, move, move.from_id, "merge", row_json(source), {"into": move.to_id, "merge": move.merge_id})
        unit_of(tx).emit(
            DomainEvent(
                RECORD_DELETED,
                move.entity,
                move.from_id,
                move.actor,
                {"record": to_jsonable(source), "merged_into": move.to_id, "merge": move.merge_id},
                move.at,
                model.version,
                record=source,
            )
        )
        self._engine.derived.after_write(tx, model, move.entity, source, None, move.actor)

    # -- undoing ------------------------------------------------------------------------------
    def undo(self, merge_id: int, *, actor: Actor) -> dict[str, Any]:
        """Undo merge ``merge_id`` as ``actor``: the source back under its id, its references,
        history and scores, the target's overwritten values. :class:`ConflictError` naming
        each record and field whose later change would be lost, and nothing written."""
        engine = self._engine
        model = engine.model
        merge_id = _as_id(merge_id, "merge")
        with engine.db.write() as tx:
            kept = _merge_row(tx, merge_id, lock=True)
            if kept["undone_at"] is not None:
                raise ConflictError(
                    f"merge {merge_id} was undone already ({kept['undone_by']}, {kept['undone_at']:%Y-%m-%d %H:%M})",
                    [Problem(code="already_undone", field="merge", message="this merge was undone already")],
                )
            entity = kept["entity"]
            definition = model.entity(entity)
            table = model.table(entity)
            source_id, target_id = kept["source_id"], kept["target_id"]
            user = user_of(actor)
            if user is not None:
                engine.permissions.require(user, entity, "update")
            found = _read(tx, model, entity, [source_id, target_id], lock=True)
            target = found.get(target_id)
            if target is None:
                raise ConflictError(
                    f"merge {merge_id} cannot be undone: {entity} {target_id}, the record it merged into, "
                    "was deleted since",
                    [Problem(code="deleted_since_merge", field="into", message=f"{entity} {target_id} is gone")],
                )
            if user is not None:
                engine.permissions.check_record(user, entity, target, "update")
            problems = _later_changes(tx, model, definition, kept, target)
            if source_id in found:
                problems.append(
                    Problem(code="exists", field="id", message=f"{entity} {source_id} exists again; nothing to restore")
                )
            if problems:
                listed = "; ".join(p.message for p in problems)
                raise ConflictError(
                    f"merge {merge_id} cannot be undone without losing later changes: {listed}", problems
                )
            now = utcnow()
            change_id = new_change_id()
            source = row_from_json(definition, kept["source_row"])
            restored = {name: values["old"] for name, values in kept["taken"].items() if name in definition.fields}
            # the target's references to the source wait until the source is back
            to_source = {n: v for n, v in restored.items() if v == source_id and _refers_to_self(definition, n)}
            restored = {n: v for n, v in restored.items() if n not in to_source}
            undoing = _merging(actor, "merge undo")
            if restored:
                engine.records.update(entity, target_id, restored, actor=undoing, conn=tx)
            problems = unique_conflicts(tx, definition, table, source, source_id)
            if problems:
                raise ConflictError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
            tx.execute(table.insert().values(source))
            if to_source:
                engine.records.update(entity, target_id, to_source, actor=undoing, conn=tx)
            move = Move(entity, target_id, source_id, actor.name, change_id, now, merge_id)
            move_history_back(tx, entity, kept["history"], source_id)
            for group in kept["repointed"]:
                back = repoint(engine, tx, model, move, group["entity"], group["field"], group["ids"])
                if len(back) != len(group["ids"]):  # changed between the check and now
                    raise ConflictError(
                        f"{group['entity']} records re-pointed by merge {merge_id} changed while it was "
                        "being undone; try again",
                        [Problem(code="changed_since_merge", field=group["field"], message="changed meanwhile")],
                    )
            _restore_scores(tx, kept["scores"])
            _audit(tx, move, source_id, "unmerge", None, {"restored": row_json(source), "merge": merge_id})
            _audit(tx, move, target_id, "unmerge", None, {"restored": source_id, "merge": merge_id})
            unit_of(tx).emit(
                DomainEvent(
                    RECORD_CREATED,
                    entity,
                    source_id,
                    actor.name,
                    {"record": to_jsonable(source), "merge_undone": merge_id},
                    now,
                    model.version,
                    record=source,
                )
            )
            engine.derived.after_write(tx, model, entity, None, source, actor.name)
            tx.execute(merges.update().where(merges.c.id == merge_id).values(undone_at=now, undone_by=actor.name))
        return self._shown(merge_id, actor)

    # -- reading ------------------------------------------------------------------------------
    def get(self, merge_id: int, *, actor: Actor) -> dict[str, Any]:
        """One merge in its JSON form, with the source as it was (``source_row``)."""
        merge_id = _as_id(merge_id, "merge")
        with self._engine.db.read() as conn:
            kept = _merge_row(conn, merge_id, lock=False)
        self._require_read(kept, actor)
        return self._visible({**merge_json(kept), "source_row": kept["source_row"]}, actor)

    def _shown(self, merge_id: int, actor: Actor) -> dict[str, Any]:
        """A merge ``actor`` just made or undid, as :meth:`get` shows it."""
        with self._engine.db.read() as conn:
            kept = _merge_row(conn, merge_id, lock=False)
        return self._visible({**merge_json(kept), "source_row": kept["source_row"]}, actor)

    def list(self, entity: str | None = None, *, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
        """Merges, newest first (of ``entity`` when given). A user whose roles restrict what
        they read sees the merges they made."""
        if not isinstance(limit, int) or not 1 <= limit <= MAX_MERGES:
            raise UsageError(f"limit must be between 1 and {MAX_MERGES}")
        query = sa.select(merges).order_by(merges.c.id.desc()).limit(limit)
        if entity is not None:
            self._engine.model.entity(entity)
            query = query.where(merges.c.entity == entity)
        user = user_of(actor)
        if user is not None and not self._engine.permissions.access(user, entity or "").unrestricted:
            query = query.where(merges.c.actor == user.name)
        with self._engine.db.read() as conn:
            found = [merge_json(dict(r)) for r in conn.execute(query).mappings()]
        return [self._visible(m, actor) for m in found]

    def _visible(self, shown: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """``shown`` without the values of fields hidden from ``actor``."""
        user = user_of(actor)
        if user is None or shown["entity"] not in self._engine.model.definitions.entities:
            return shown
        hidden = self._engine.permissions.hidden_fields(user, shown["entity"])
        if not hidden:
            return shown
        out = {**shown, "taken": {k: v for k, v in shown["taken"].items() if k not in hidden}}
        if "source_row" in out:
            out["source_row"] = {k: v for k, v in out["source_row"].items() if k not in hidden}
        return out

    def _require_read(self, kept: Mapping[str, Any], actor: Actor) -> None:
        user = user_of(actor)
        if user is None:
            return
        self._engine.permissions.require(user, kept["entity"], "read")
        if not self._engine.permissions.access(user, kept["entity"]).unrestricted and kept["actor"] != user.name:
            raise NotFoundError(f"merge {kept['id']} does not exist")


def merge_json(kept: Mapping[str, Any]) -> dict[str, Any]:
    """A merge as the CLI's ``--json`` and the API show it (counts, not the moved ids)."""
    return {
        "id": kept["id"],
        "entity": kept["entity"],
        "source": kept["source_id"],
        "target": kept["target_id"],
        "actor": kept["actor"],
        "merged_at": to_jsonable(kept["merged_at"]),
        "taken": kept["taken"],
        "repointed": [
            {"entity": g["entity"], "field": g["field"], "count": len(g["ids"])} for g in kept["repointed"] or []
        ],
        "history": {name: len(ids) for name, ids in (kept["history"] or {}).items()},
        "undone_at": to_jsonable(kept["undone_at"]),
        "undone_by": kept["undone_by"],
    }


def _merging(actor: Actor, reason: str = "merge") -> SystemActor:
    """The merge writing the target's values for ``actor`` (it may write read-only fields:
    the values were already on one of the two records)."""
    return SystemActor(reason, on_behalf_of=actor.name, writes_read_only=True)


def _refers_to_self(definition: EntityDef, name: str) -> bool:
    f = definition.fields[name]
    return f.type == "reference" and f.target == definition.name


def _as_id(value: Any, what: str = "record") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFoundError(f"{value!r} is not a {what} id") from None
    if number < 1 or isinstance(value, bool):
        raise NotFoundError(f"{value!r} is not a {what} id")
    return number


def _read(conn: Connection, model: CompiledModel, entity: str, ids: list[int], *, lock: bool) -> dict[int, Record]:
    """The records ``ids`` of ``entity`` by id; locked (in id order) when ``lock`` on PostgreSQL."""
    table = model.table(entity)
    query = sa.select(table).where(table.c.id.in_(ids)).order_by(table.c.id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {r["id"]: dict(r) for r in conn.execute(query).mappings()}


def _merge_row(conn: Connection, merge_id: int, *, lock: bool) -> dict[str, Any]:
    query = sa.select(merges).where(merges.c.id == merge_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).mappings().first()
    if found is None:
        raise NotFoundError(
            f"merge {merge_id} does not exist; crm merge list shows the merges",
            [Problem(code="not_found", field="merge", message=f"no merge {merge_id}")],
        )
    return dict(found)


def _insert_merge(
    tx: Connection, entity: str, change_id: str, source: Record, target: Record, actor: str, now: datetime
) -> int:
    """The merge's row, filled in at the end of the merge (its id goes into the events)."""
    result = tx.execute(
        merges.insert().values(
            change_id=change_id,
            entity=entity,
            source_id=source["id"],
            target_id=target["id"],
            source_row=row_json(source),
            taken={},
            repointed=[],
            history={},
            scores=[],
            actor=actor,
            merged_at=now,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def _audit(tx: Connection, move: Move, record_id: int, action: str, old: Any, new: Any) -> None:
    tx.execute(
        audit_log.insert().values(
            audit_row(
                change_id=move.change_id,
                entity=move.entity,
                record_id=record_id,
                action=action,
                old_value=old,
                new_value=new,
                actor=move.actor,
                at=move.at,
            )
        )
    )


def _take_scores(tx: Connection, entity: str, record_id: int) -> list[dict[str, Any]]:
    """Remove the source's current scores, returning them (JSON form) for an undo."""
    where = sa.and_(scores.c.entity == entity, scores.c.record_id == record_id)
    kept = [row_json(dict(r)) for r in tx.execute(sa.select(scores).where(where)).mappings()]
    if kept:
        tx.execute(scores.delete().where(where))
    return kept


def _restore_scores(tx: Connection, kept: list[dict[str, Any]]) -> None:
    for row in kept:
        values = dict(row)
        for name in ("computed_at", "override_at"):
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        tx.execute(scores.insert().values(values))


def _later_changes(
    tx: Connection, model: CompiledModel, definition: EntityDef, kept: Mapping[str, Any], target: Record
) -> list[Problem]:
    """What changed since the merge that an undo would overwrite: the target's fields the
    merge wrote, and the re-pointed records (each must still point at the target)."""
    entity, target_id = kept["entity"], kept["target_id"]
    problems = []
    for name, values in kept["taken"].items():
        if name in definition.fields and to_jsonable(target.get(name)) != values["new"]:
            problems.append(
                Problem(
                    code="changed_since_merge",
                    field=name,
                    message=f"{entity} {target_id}.{name} was changed after the merge "
                    f"(now {to_jsonable(target.get(name))!r}, the merge wrote {values['new']!r})",
                )
            )
    for group in kept["repointed"]:
        child, field, ids = group["entity"], group["field"], group["ids"]
        if child not in model.definitions.entities or field not in model.entity(child).fields:
            problems.append(
                Problem(code="changed_since_merge", field=field, message=f"{child}.{field} is no longer defined")
            )
            continue
        table = model.table(child)
        now_at: dict[int, Any] = {}
        for chunk in id_chunks(tx, ids):
            query = sa.select(table.c.id, table.c[field]).where(id_in(tx, table.c.id, chunk))
            now_at.update((int(i), value) for i, value in tx.execute(query))
        gone = [i for i in ids if i not in now_at]
        moved = [i for i in ids if i in now_at and now_at[i] != target_id]
        if gone:
            problems.append(
                Problem(
                    code="deleted_since_merge",
                    field=field,
                    message=f"{child} {_shown(gone)} (re-pointed by the merge) were deleted since",
                )
            )
        if moved:
            problems.append(
                Problem(
                    code="changed_since_merge",
                    field=field,
                    message=f"{child} {_shown(moved)}.{field} no longer point at {entity} {target_id}",
                )
            )
    return problems


def _shown(ids: list[int], most: int = 10) -> str:
    shown = ", ".join(str(i) for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
