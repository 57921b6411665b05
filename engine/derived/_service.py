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
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile import condition_sql
from engine.compile._rules import INT64_MAX, INT64_MIN, integer_bounds, integer_digits
from engine.errors import Problem, RecordValidationError
from engine.logic import EvaluationError, LimitExceededError, truthy
from engine.metadata import EntityDef, FieldDef
from engine.metadata._field_types import NUMBER_TYPES

from . import _window
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
        ((values, problems),) = self._own_values(tx, model, definition, [dict(record)], new=new)
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
        found = self._own_values(tx, model, definition, records, new=True)
        return names, [values for values, _ in found], [problems for _, problems in found]

    def _own_values(
        self, tx: Connection, model: CompiledModel, definition: EntityDef, records: list[Record], *, new: bool
    ) -> list[tuple[Record, list[Problem]]]:
        """Each record's computes (and, ``new``, its empty rollups) with the problems of failed
        computes; the references their paths follow are loaded once for all of them."""
        plan = self.plan(model).entity(definition.name)
        vias = _load_via(tx, model, plan.hops, records)
        own: Record = {r.field.name: _aggregate(r, []) for r in plan.rollups} if new else {}
        computing = _Computing(model, definition.name, plan.computes)
        out = []
        for record, via in zip(records, vias, strict=True):
            computed, problems = computing.values({**record, **own} if own else dict(record), via)
            out.append(({**own, **computed}, problems))
        return out

    def parents_of(
        self,
        model: CompiledModel,
        entity: str,
        records: Iterable[Mapping[str, Any]],
        wanted: dict[str, dict[int, set[str]]],
    ) -> None:
        """Add to ``wanted`` (entity → id → rollup names) the parents ``records`` point at whose
        rollups over ``entity`` must be recounted (an import gathers them for its whole file)."""
        rolled = self.plan(model).entity(entity).rolled_into
        for record in records if rolled else ():
            for rollup in rolled:
                parent = record.get(rollup.definition.reference)
                if parent is not None:
                    wanted.setdefault(rollup.parent, {}).setdefault(int(parent), set()).add(rollup.field.name)

    def refresh_wanted(
        self, tx: Connection, model: CompiledModel, wanted: Mapping[str, Mapping[int, set[str]]], actor: str | None
    ) -> None:
        """:meth:`refresh_many` for each entity of ``wanted``, a level at a time (see :meth:`_settle`),
        by one clock for every time window of the batch."""
        with _window.clock():
            self._settle(
                tx, model, {name: {i: set(names) for i, names in ids.items()} for name, ids in wanted.items()}, actor
            )

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
        with _window.clock():  # one now for every time window the write reaches
            self.after_writes(tx, model, entity, [(before, after)], actor)

    def after_writes(
        self,
        tx: Connection,
        model: CompiledModel,
        entity: str,
        writes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
        actor: str | None,
    ) -> None:
        """:meth:`after_write` for several records of ``entity``, each dependent once."""
        wanted: dict[str, dict[int, set[str]]] = {}
        self._dependents(tx, model, entity, writes, wanted)
        self._settle(tx, model, wanted, actor)

    def _dependents(
        self,
        tx: Connection,
        model: CompiledModel,
        entity: str,
        writes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
        wanted: dict[str, dict[int, set[str]]],
    ) -> None:
        """Add to ``wanted`` the records that depend on ``writes`` of ``entity`` (the parents
        whose rollups read what changed, the records whose computes reach it by a path)."""
        plan = self.plan(model).entity(entity)
        if not plan.rolled_into and not plan.path_dependents:
            return
        for before, after in writes:
            changed = _changed_fields(before, after)
            for rollup in plan.rolled_into:
                if not rollup.reads & changed:
                    continue
                for side in (before, after):
                    parent = side.get(rollup.definition.reference) if side is not None else None
                    if parent is not None:
                        wanted.setdefault(rollup.parent, {}).setdefault(int(parent), set()).add(rollup.field.name)
            if before is None or after is None:  # a new record has no dependents yet
                continue
            for dependent in plan.path_dependents:
                if dependent.reads & changed:
                    for found in _dependent_ids(tx, model, dependent, after["id"]):
                        wanted.setdefault(dependent.entity, {}).setdefault(found, set())

    def _settle(
        self, tx: Connection, model: CompiledModel, wanted: dict[str, dict[int, set[str]]], actor: str | None
    ) -> dict[str, int]:
        """Recount ``wanted`` a level at a time until nothing more moves: every record of a
        level is recounted (all its chunks) before the records depending on them are, so a
        parent reached by many of the records written (an import's customers, through their
        orders) is recounted and written once, not once per chunk of its children. Returns
        how many records of each entity changed. Ends: validation refused dependency loops."""
        moved: dict[str, int] = {}
        while wanted:
            following: dict[str, dict[int, set[str]]] = {}
            for name in sorted(wanted):
                written = self._recount(tx, model, name, wanted[name], actor)
                moved[name] = moved.get(name, 0) + len(written)
                self._dependents(tx, model, name, written, following)
            wanted = following
        return moved

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
        self.refresh_many(tx, model, entity, {record_id: set(rollups)}, actor)

    def refresh_many(
        self, tx: Connection, model: CompiledModel, entity: str, wanted: Mapping[int, set[str]], actor: str | None
    ) -> int:
        """Recompute, for each record id of ``wanted``, the rollups named there and every
        compute; write what moved (a statement per set of changed columns, 500 records at a time)
        and pass it on. Returns how many records of ``entity`` changed."""
        moved = self._settle(tx, model, {entity: {i: set(names) for i, names in wanted.items()}}, actor)
        return moved.get(entity, 0)

    def _recount(
        self, tx: Connection, model: CompiledModel, entity: str, wanted: Mapping[int, set[str]], actor: str | None
    ) -> list[tuple[Record, Record]]:
        """Recompute the rollups ``wanted`` names and every compute of its records and write
        what moved, 500 records at a time; the ``(before, after)`` pairs written (what depends
        on them is the caller's)."""
        definition = model.entity(entity)
        table = model.table(entity)
        ids = sorted(wanted)
        written: list[tuple[Record, Record]] = []
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            if tx.dialect.name == "postgresql":
                # NO KEY UPDATE: does not wait for the key-share lock a child insert takes on its parent
                locking = sa.select(table.c.id).where(table.c.id.in_(chunk)).order_by(table.c.id)
                tx.execute(locking.with_for_update(key_share=True))
            changes = self.changes(tx, model, entity, chunk, wanted)
            if changes:
                written.extend(self._engine.records.write_derived(tx, model, definition, changes, actor))
        return written

    def changes(
        self, tx: Connection, model: CompiledModel, entity: str, ids: list[int], wanted: Mapping[int, set[str]]
    ) -> list[tuple[Record, dict[str, Any]]]:
        """``(record, changed values)`` of the records ``ids`` (at most one chunk) whose rollups
        named in ``wanted`` or computes no longer hold what is stored; writes nothing."""
        table = model.table(entity)
        plan = self.plan(model).entity(entity)
        rows = tx.execute(sa.select(table).where(table.c.id.in_(ids))).mappings()
        current = {row["id"]: dict(row) for row in rows}  # records deleted in this unit are gone
        rolled: dict[int, Record] = {i: {} for i in current}
        for rollup in plan.rollups:
            parents = [i for i in current if rollup.field.name in wanted[i]]
            if parents:
                totals = self._rolled_up(tx, model, rollup, parents)
                for i in parents:
                    rolled[i][rollup.field.name] = totals[i]
        merged = [{**current[i], **rolled[i]} for i in current]
        vias = _load_via(tx, model, plan.hops, merged)
        changes: list[tuple[Record, dict[str, Any]]] = []
        computing = _Computing(model, entity, plan.computes)
        for record, via in zip(merged, vias, strict=True):
            computed, problems = computing.values(record, via)
            if problems:
                raise RecordValidationError(problems)
            before = current[record["id"]]
            changed = {k: v for k, v in {**rolled[record["id"]], **computed}.items() if before.get(k) != v}
            if changed:
                changes.append((before, changed))
        return changes

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
        rollups = {r.field.name for r in plan.rollups} if recount else set(plan.windowed)
        while True:
            with self._engine.db.write() as tx:
                query = sa.select(table.c.id).where(table.c.id > last).order_by(table.c.id).limit(batch)
                ids = [int(r[0]) for r in tx.execute(query)]
                if not ids:
                    return moved
                moved += self.refresh_many(tx, model, entity, dict.fromkeys(ids, rollups), actor)
                last = ids[-1]

    def refresh_entities(
        self,
        model: CompiledModel,
        entities: Iterable[str],
        *,
        recount: bool = False,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, int]:
        """:meth:`refresh_all` of each of ``entities`` by one clock, ``now`` (the current time
        when not given): the records changed per entity. Without ``recount`` it is the daily
        refresh: the computes, and the rollups with a time window (``within``), whose records
        move with time alone; what depends on them follows, like after any write."""
        with _window.clock(now):
            return {name: self.refresh_all(model, name, actor=actor, recount=recount) for name in entities}

    # -- counting -----------------------------------------------------------------------------
    def _rolled_up(self, tx: Connection, model: CompiledModel, rollup: Rollup, parents: list[int]) -> dict[int, Any]:
        """``rollup``'s value for each of ``parents``: counted by the database (one grouped
        query) when it can give the same exact value, else over the children read here."""
        in_sql = _grouped(model, rollup, parents)
        if in_sql is not None:
            try:
                found = {int(parent): value for parent, value in tx.execute(in_sql).all()}
            except sa.exc.OperationalError:  # pragma: no cover - SQLite's integer SUM overflowed
                found = None
            if found is not None:  # no children, or none with a value: what Python gives for none
                none = _aggregate(rollup, [])
                return {i: none if found.get(i) is None else _number(rollup.field, found[i]) for i in parents}
        children = self._children(tx, model, rollup, parents)
        return {i: _aggregate(rollup, children.get(i, [])) for i in parents}

    def _children(
        self, tx: Connection, model: CompiledModel, rollup: Rollup, parents: list[int]
    ) -> dict[int, list[Record]]:
        """The fields ``rollup`` reads of the children of ``parents``, per parent (one query)."""
        child = model.table(rollup.definition.entity)
        names = [name for name in sorted(rollup.reads) if name in child.c]
        at = names.index(rollup.definition.reference)
        found: dict[int, list[Record]] = {}
        query = sa.select(*(child.c[n] for n in names)).where(child.c[rollup.definition.reference].in_(parents))
        if rollup.window is not None:
            query = query.where(rollup.window.condition(child, _window.now()))
        for row in tx.execute(query).all():  # tuples: a mapping per row costs more than the query
            found.setdefault(int(row[at]), []).append(dict(zip(names, row, strict=True)))
        return found


class _Computing:
    """The computes of one entity, ready to run over many records (one write or a batch):
    the time, the validator and the rules looked up once, not once per record."""

    def __init__(self, model: CompiledModel, entity: str, computes: list[Compute]) -> None:
        self.computes = computes
        self.now = _window.now()  # the write's or the refresh's pinned clock
        self.validator = model.validator(entity, system=True) if computes else None
        #: per compute, the validator's own test for a value already of the field's type
        self.fits = [_fits(c.field) for c in computes]

    def values(self, record: Record, via: Record) -> tuple[Record, list[Problem]]:
        """The computed values of ``record`` (each later compute reads the earlier ones), and
        the problems of those that failed."""
        values: Record = {}
        problems: list[Problem] = []
        if not self.computes:
            return values, problems
        data = {"record": record, "via": via, "now": self.now}
        validator = self.validator
        assert validator is not None
        for compute, fits in zip(self.computes, self.fits, strict=True):
            name = compute.field.name
            try:
                raw = compute.rule.evaluate(data)
            except (EvaluationError, LimitExceededError) as exc:
                problems.append(_compute_problem(compute.field, f"its rule failed ({exc})"))
                continue
            value, reason = _as_field_value(compute.field, raw)
            if reason is None and fits is not None and fits(value):
                pass  # what the validator would accept unchanged: not asked
            elif reason is None:
                given = {name: format(value, "f") if isinstance(value, Decimal) else value}  # the validator's input
                checked, errors = validator.update_check(given)
                if errors:
                    reason = "; ".join(p.message for p in validator.check_values(given, partial=True)[1])
                else:
                    value = checked.get(name, value)
            if reason is not None:
                problems.append(_compute_problem(compute.field, f"its rule gave {raw!r}, which {reason}"))
                continue
            values[name] = value
            record[name] = value  # later computes read it
        return values, problems


def _grouped(model: CompiledModel, rollup: Rollup, parents: list[int]) -> sa.Select[Any] | None:
    """The grouped query counting ``rollup`` for ``parents`` in the database, or None when
    only Python gives its exact value (an average, a non-number field, a ``where`` rule that
    :func:`engine.compile.condition_sql` cannot say exactly in SQL)."""
    definition = rollup.definition
    if definition.function not in ("count", "sum", "min", "max"):
        return None
    child = model.table(definition.entity)
    reference = child.c[definition.reference]
    where = None
    if definition.where is not None:  # a rule outside what SQL says exactly stays in Python
        where = condition_sql(definition.where, child)
        if where is None:
            return None
    if definition.function == "count":
        counted: Any = sa.func.count()
    else:
        source = model.entity(definition.entity).fields.get(definition.field or "")
        # integers, and decimals stored exactly (scaled integers on SQLite, NUMERIC on PostgreSQL)
        if source is None or source.type not in NUMBER_TYPES or rollup.field.type not in NUMBER_TYPES:
            return None
        counted = getattr(sa.func, definition.function)(child.c[source.name])
    query = sa.select(reference, counted).where(reference.in_(parents))
    if where is not None:
        query = query.where(where)
    if rollup.window is not None:
        query = query.where(rollup.window.condition(child, _window.now()))
    return query.group_by(reference)


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


_ONE = Decimal(1)
#: the quantum of each scale (``Decimal("0.01")`` for 2)
_QUANTA = {scale: _ONE.scaleb(-scale) for scale in range(19)}


def _number(f: FieldDef, value: Any) -> Any:
    """A number as ``f`` stores it: whole for integers, at ``f``'s scale for decimals (half up)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if f.type == "integer":
        return int(number.quantize(_ONE, rounding=ROUND_HALF_UP))
    scale = f.scale if f.scale is not None else 6
    quantum = _QUANTA.get(scale)
    return number.quantize(_ONE.scaleb(-scale) if quantum is None else quantum, rounding=ROUND_HALF_UP)


def _fits(f: FieldDef) -> Callable[[Any], bool] | None:
    """For an integer, decimal or money field: the test that a computed value (already a
    value of ``f`` from :func:`_as_field_value`: an int, or a Decimal at ``f``'s scale) passes
    the field's validator unchanged, without asking it (the same limits: the 64-bit range,
    the digits before the point, ``minimum`` and ``maximum``). None for other fields, and when
    false the validator is asked (it names the problem)."""
    low, high = f.minimum, f.maximum
    if f.type == "integer":
        lowest, highest = integer_bounds(f)
        lowest = INT64_MIN if lowest is None else max(lowest, INT64_MIN)
        highest = INT64_MAX if highest is None else min(highest, INT64_MAX)
        return lambda v: type(v) is int and lowest <= v <= highest
    if f.type not in NUMBER_TYPES or f.precision is None or f.scale is None:
        return None
    # at the field's scale, a value fits the column when it has at most its whole digits
    limit = Decimal(10) ** integer_digits(f)
    exponent = -f.scale

    def fits(v: Any) -> bool:
        return (
            type(v) is Decimal
            and v.is_finite()
            and v.as_tuple().exponent == exponent
            and -limit < v < limit
            and (low is None or v >= low)
            and (high is None or v <= high)
        )

    return fits


def _as_field_value(f: FieldDef, raw: Any) -> tuple[Any, str | None]:
    """A rule's value as a value of ``f`` (numbers rounded to its scale), or why it is not one."""
    if raw is None:
        return None, None
    if f.type in NUMBER_TYPES:
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
            return None, "is not a number"
        try:  # a Decimal or an int is one already (Decimal(str(x)) would be the same number)
            number = raw if type(raw) is Decimal else Decimal(raw) if type(raw) is int else Decimal(str(raw))
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
