"""Keeping derived fields true inside the unit of work that changes what they read.

The record service asks three things of it: which input values are refused (derived fields are
the engine's to write), the derived values of a record about to be written (its computes, and
empty rollups for a new record), and, after each write, to bring every record that depends on
the written one up to date (:meth:`DerivedService.after_write`): the rollups of its parents
(the old and the new one when it moved) and the computes that read it through a path. Those
records are written like any other change (version, audit, ``record.updated`` event) and
propagate in turn, so chains (line → order total → customer lifetime value) settle before the
commit. Validation has refused dependency loops, so this ends.

On PostgreSQL a parent is locked (``SELECT … FOR UPDATE``) before its rollup is counted, so two
transactions adding lines to one order cannot both count without the other's line: the second
waits for the first to commit and then counts both. SQLite runs one write at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import NotFoundError, Problem, RecordValidationError
from engine.logic import EvaluationError, LimitExceededError, truthy
from engine.metadata import EntityDef, FieldDef
from engine.metadata._field_types import NUMBER_TYPES

from ._plan import HOP_SUFFIX, Compute, DerivedPlan, HopTree, PathDependent, Rollup

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine

Record = dict[str, Any]
_IN_CHUNK = 500


class DerivedService:
    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._plans: dict[int, DerivedPlan] = {}
        self._lock = threading.Lock()

    def plan(self, model: CompiledModel) -> DerivedPlan:
        """The derived-field plan of ``model`` (built once per definitions version)."""
        found = self._plans.get(model.version)
        if found is None:
            with self._lock:
                found = self._plans.get(model.version)
                if found is None:
                    found = DerivedPlan(model.definitions)
                    self._plans = {model.version: found}  # older versions are not asked again
        return found

    # -- what a write may say -----------------------------------------------------------------
    def refused(self, definition: EntityDef, data: Mapping[str, Any]) -> list[Problem]:
        """A ``read_only`` problem for each derived field among the values given."""
        return [
            Problem(
                code="read_only",
                field=name,
                message=f"{name} is {'computed' if f.compute is not None else 'rolled up'} by the engine "
                "and cannot be written; leave it out",
            )
            for name, f in definition.fields.items()
            if f.derived and name in data
        ]

    def values_for(
        self, tx: Connection, model: CompiledModel, definition: EntityDef, record: Mapping[str, Any], *, new: bool
    ) -> tuple[Record, list[Problem]]:
        """The derived values ``record`` should hold: its computes, and for a ``new`` record its
        rollups over no records yet; with the problems of computes that failed."""
        plan = self.plan(model).entity(definition.name)
        if not plan.computes and not (new and plan.rollups):
            return {}, []
        values: Record = {}
        if new:
            for rollup in plan.rollups:
                values[rollup.field.name] = _aggregate(rollup, [])
        merged = {**record, **values}
        (via,) = _load_via(tx, model, plan.hops, [merged])
        computed, problems = self._computes(model, definition, plan.computes, merged, via)
        values.update(computed)
        return values, problems

    def values_for_new_rows(
        self, tx: Connection, model: CompiledModel, definition: EntityDef, records: list[Record]
    ) -> tuple[tuple[str, ...], list[Record], list[list[Problem]]]:
        """:meth:`values_for` of a batch of new records (an import): the derived field names,
        each record's values and problems; references are loaded once for the batch."""
        plan = self.plan(model).entity(definition.name)
        names = tuple(r.field.name for r in plan.rollups) + tuple(c.field.name for c in plan.computes)
        if not names:
            return (), [], []
        vias = _load_via(tx, model, plan.hops, records)
        values: list[Record] = []
        problems: list[list[Problem]] = []
        for record, via in zip(records, vias, strict=True):
            own: Record = {r.field.name: _aggregate(r, []) for r in plan.rollups}
            computed, found = self._computes(model, definition, plan.computes, {**record, **own}, via)
            own.update(computed)
            values.append(own)
            problems.append(found)
        return names, values, problems

    def refresh_parents(
        self, tx: Connection, model: CompiledModel, entity: str, records: Iterable[Mapping[str, Any]], actor: str | None
    ) -> None:
        """Recount the rollups over ``entity`` of every parent ``records`` point at, once each
        (what an import does after each batch of new records)."""
        parents: dict[tuple[str, int], set[str]] = {}
        rolled = self.plan(model).entity(entity).rolled_into
        if not rolled:
            return
        for record in records:
            for rollup in rolled:
                parent = record.get(rollup.definition.reference)
                if parent is not None:
                    parents.setdefault((rollup.parent, int(parent)), set()).add(rollup.field.name)
        for (parent_entity, parent_id), names in sorted(parents.items()):
            self.refresh(tx, model, parent_entity, parent_id, names, actor)

    # -- after a write ------------------------------------------------------------------------
    def after_write(
        self,
        tx: Connection,
        model: CompiledModel,
        entity: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        actor: str | None,
    ) -> None:
        """Bring the records depending on the record just written up to date (``before`` is
        None for a creation, ``after`` None for a deletion)."""
        plan = self.plan(model).entity(entity)
        if not plan.rolled_into and not plan.path_dependents:
            return
        changed = _changed_fields(before, after)
        rollups: dict[tuple[str, int], set[str]] = {}
        for rollup in plan.rolled_into:
            if not rollup.reads & changed:
                continue
            for side in (before, after):
                parent = side.get(rollup.definition.reference) if side is not None else None
                if parent is not None:
                    rollups.setdefault((rollup.parent, int(parent)), set()).add(rollup.field.name)
        computes: set[tuple[str, int]] = set()
        if before is not None and after is not None:  # a new record has no dependents yet
            for dependent in plan.path_dependents:
                if dependent.reads & changed:
                    computes.update((dependent.entity, i) for i in _dependent_ids(tx, model, dependent, after["id"]))
        for key in sorted(set(rollups) | computes):
            self.refresh(tx, model, key[0], key[1], rollups.get(key, set()), actor)

    def refresh(
        self,
        tx: Connection,
        model: CompiledModel,
        entity: str,
        record_id: int,
        rollups: Iterable[str],
        actor: str | None,
    ) -> None:
        """Recompute ``rollups`` and every compute of one record; write what moved."""
        definition = model.entity(entity)
        table = model.table(entity)
        if tx.dialect.name == "postgresql":
            # NO KEY UPDATE: does not wait for the key-share lock a child insert takes on its parent
            tx.execute(
                sa.select(table.c.id)
                .where(table.c.id == record_id)
                .with_for_update(key_share=True)  # FOR NO KEY UPDATE
            )
        try:
            current = self._engine.records.get(entity, record_id, conn=tx)
        except NotFoundError:
            return  # deleted in this same unit of work
        plan = self.plan(model).entity(entity)
        names = set(rollups)
        values: Record = {}
        for rollup in plan.rollups:
            if rollup.field.name in names:
                values[rollup.field.name] = self._rolled_up(tx, model, rollup, record_id)
        merged = {**current, **values}
        (via,) = _load_via(tx, model, plan.hops, [merged])
        computed, problems = self._computes(model, definition, plan.computes, merged, via)
        if problems:
            raise RecordValidationError(problems)
        values.update(computed)
        changed = {k: v for k, v in values.items() if current.get(k) != v}
        if changed:
            self._engine.records.write_derived(tx, model, definition, current, changed, actor)

    def refresh_all(
        self,
        model: CompiledModel,
        entity: str,
        *,
        batch: int = 500,
        actor: str | None = None,
        recount: bool = True,
    ) -> int:
        """Recompute the computes (and with ``recount`` the rollups) of every record of ``entity``;
        how many records moved (what ``schema apply`` runs for new or changed derived fields, and
        ``crm derived refresh``)."""
        plan = self.plan(model).entity(entity)
        if not plan.computes and not plan.rollups:
            return 0
        table = model.table(entity)
        moved = 0
        last = 0
        rollups = [r.field.name for r in plan.rollups] if recount else []
        while True:
            with self._engine.db.write() as tx:
                ids = [r[0] for r in tx.execute(
                    sa.select(table.c.id).where(table.c.id > last).order_by(table.c.id).limit(batch)
                )]  # fmt: skip
                if not ids:
                    return moved
                for record_id in ids:
                    before = tx.execute(sa.select(table.c.version).where(table.c.id == record_id)).scalar()
                    self.refresh(tx, model, entity, record_id, rollups, actor)
                    after = tx.execute(sa.select(table.c.version).where(table.c.id == record_id)).scalar()
                    moved += int(before != after)
                last = ids[-1]

    # -- computing ----------------------------------------------------------------------------
    def _computes(
        self,
        model: CompiledModel,
        definition: EntityDef,
        computes: list[Compute],
        record: Record,
        via: Record,
    ) -> tuple[Record, list[Problem]]:
        values: Record = {}
        problems: list[Problem] = []
        data = {"record": record, "via": via, "now": datetime.now(UTC)}
        validator = model.validator(definition.name, system=True)
        for compute in computes:
            name = compute.field.name
            try:
                raw = compute.rule.evaluate(data)
            except (EvaluationError, LimitExceededError) as exc:
                problems.append(_compute_problem(compute.field, f"its rule failed ({exc})"))
                continue
            value, reason = _as_field_value(compute.field, raw)
            if reason is None:
                given = format(value, "f") if isinstance(value, Decimal) else value  # the validator's input form
                checked, found = validator.check_values({name: given}, partial=True)
                if found:
                    reason = "; ".join(p.message for p in found)
                else:
                    value = checked.get(name, value)
            if reason is not None:
                problems.append(_compute_problem(compute.field, f"its rule gave {raw!r}, which {reason}"))
                continue
            values[name] = value
            record[name] = value  # later computes read it
        return values, problems

    def _rolled_up(self, tx: Connection, model: CompiledModel, rollup: Rollup, parent_id: int) -> Any:
        child = model.table(rollup.definition.entity)
        columns = [child.c[name] for name in sorted(rollup.reads) if name in child.c]
        rows = tx.execute(sa.select(*columns).where(child.c[rollup.definition.reference] == parent_id)).mappings()
        return _aggregate(rollup, [dict(r) for r in rows])


def _aggregate(rollup: Rollup, children: list[Record]) -> Any:
    """``rollup``'s function over the ``children`` it counts, as a value of its field."""
    definition = rollup.definition
    if rollup.where is not None:
        children = [c for c in children if truthy(rollup.where.evaluate({"record": c}))]
    f = rollup.field
    if definition.function == "count":
        return _number(f, len(children))
    values = [c[definition.field] for c in children if definition.field and c.get(definition.field) is not None]
    if definition.function == "sum":
        return _number(f, sum((Decimal(str(v)) for v in values), Decimal(0)))
    if not values:
        return None
    if definition.function == "min":
        return _number(f, min(values)) if f.type in NUMBER_TYPES else min(values)
    if definition.function == "max":
        return _number(f, max(values)) if f.type in NUMBER_TYPES else max(values)
    total = sum((Decimal(str(v)) for v in values), Decimal(0))
    return _number(f, total / len(values))


def _number(f: FieldDef, value: Any) -> Any:
    """A number as ``f`` stores it: whole for integers, at ``f``'s scale for decimals (half up)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if f.type == "integer":
        return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    scale = f.scale if f.scale is not None else 6
    return number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def _as_field_value(f: FieldDef, raw: Any) -> tuple[Any, str | None]:
    """A rule's value as a value of ``f`` (numbers rounded to its scale), or why it is not one."""
    if raw is None:
        return None, None
    if f.type in NUMBER_TYPES:
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
            return None, "is not a number"
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            return None, "is not a number"
        if not number.is_finite():
            return None, "is not a finite number"
        return _number(f, number), None
    if f.type == "boolean":
        return truthy(raw), None
    if isinstance(raw, dict | list):
        return None, "is not a single value"
    if f.type in ("string", "text", "enum") and not isinstance(raw, str):
        return (str(raw) if not isinstance(raw, float) else format(raw, "g")), None
    return raw, None


def _compute_problem(f: FieldDef, reason: str) -> Problem:
    rule = json.dumps(f.compute, ensure_ascii=False)
    return Problem(code="compute_failed", field=f.name, message=f"{f.name} = {rule}: {reason}")


def _changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> frozenset[str]:
    if before is None or after is None:
        return frozenset((before or after or {}).keys())
    return frozenset(k for k in after if before.get(k) != after.get(k))


def _dependent_ids(tx: Connection, model: CompiledModel, dependent: PathDependent, record_id: int) -> list[int]:
    """Ids of ``dependent.entity`` records whose path reaches record ``record_id``."""
    first_entity, first_reference = dependent.references[0]
    start = model.table(first_entity)
    joined: Any = start
    previous: Any = start
    reference = first_reference
    for entity_name, next_reference in dependent.references[1:]:
        table = model.table(entity_name).alias(f"hop_{entity_name}_{next_reference}")
        joined = joined.join(table, previous.c[reference] == table.c.id)
        previous, reference = table, next_reference
    query = sa.select(start.c.id).select_from(joined).where(previous.c[reference] == record_id)
    return [int(r[0]) for r in tx.execute(query)]


def _load_via(tx: Connection, model: CompiledModel, hops: HopTree, records: list[Record]) -> list[Record]:
    """For each record, the records its paths reach, under ``reference@`` keys (one query per
    hop and 500 ids)."""
    vias: list[Record] = [{} for _ in records]
    if hops:
        _fill(tx, model, hops, records, vias)
    return vias


def _fill(tx: Connection, model: CompiledModel, hops: HopTree, records: list[Record], vias: list[Record]) -> None:
    for reference, (target, below) in hops.items():
        ids = sorted({int(r[reference]) for r in records if r.get(reference) is not None})
        found: dict[int, Record] = {}
        table = model.table(target)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            found.update(
                {row["id"]: dict(row) for row in tx.execute(sa.select(table).where(table.c.id.in_(chunk))).mappings()}
            )
        reached: list[Record] = []
        for record, via in zip(records, vias, strict=True):
            pointed = record.get(reference)
            target_record = found.get(int(pointed)) if pointed is not None else None
            copy = dict(target_record) if target_record is not None else None
            via[reference + HOP_SUFFIX] = copy
            if copy is not None:
                reached.append(copy)
        if below and reached:
            _fill(tx, model, below, reached, reached)
