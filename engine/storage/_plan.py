"""Plan a schema change: compare stored and new definitions, count the rows each step touches.

The plan is pure information (what :func:`plan_migration` finds by reading the database);
:mod:`._apply` carries it out. A step is *destructive* when applying it would lose data
(rows of a dropped entity, values of a dropped field, values that a type change alters
or that do not fit a narrower type or a removed choice, empty values of a newly required
field); destructive steps need ``allow_data_loss``. A step is *blocking* when it cannot be
applied at all until the data is fixed (duplicates under a new unique constraint, also
those a type change makes: ``007`` and ``7`` both become ``7``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.metadata import Definitions, EntityDef, FieldDef, field_type

from . import _operations as ops
from ._convert import ConversionCounts, count_conversions, describe_example, storage_signature
from ._describe import definition_changes, entity_meta, field_meta, meta_change
from ._operations import CHOICE_TYPES, Operation, describe_field

#: How many changed or lost values a step lists.
MAX_EXAMPLES = 10
#: Field types whose values are record ids: a reference made from one keeps the ids that
#: name a record of its target.
ID_TYPES = frozenset({"reference", "integer"})


@dataclass(frozen=True)
class MigrationPlan:
    """What applying ``new`` over ``old`` (applied as ``from_version``) would do, step by step."""

    from_version: int
    old: Definitions | None
    new: Definitions
    steps: tuple[Operation, ...] = field(default=())

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    @property
    def destructive(self) -> tuple[Operation, ...]:
        return tuple(s for s in self.steps if s.destructive)

    @property
    def blocking(self) -> tuple[Operation, ...]:
        return tuple(s for s in self.steps if s.blocking)

    @property
    def needs_ddl(self) -> bool:
        return any(not isinstance(s, ops.DefinitionOnly) for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "from_version": self.from_version,
            "to_version": self.from_version + 1 if self.steps else self.from_version,
            "destructive": bool(self.destructive),
            "blocking": bool(self.blocking),
            "steps": [s.to_json() for s in self.steps],
        }


class _Planner:
    def __init__(self, conn: Connection, old: Definitions | None, new: Definitions) -> None:
        self.conn = conn
        self.old = old
        self.new = new
        self.steps: list[Operation] = []
        #: fields whose converted values would clash under their unique constraint
        self.clashes: dict[tuple[str, str], ConversionCounts] = {}

    # -- counting ---------------------------------------------------------------------
    def count_rows(self, table: str) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar() or 0)

    def count_non_null(self, table: str, column: str) -> int:
        col: sa.ColumnClause[Any] = sa.column(column)
        query = sa.select(sa.func.count()).select_from(sa.table(table, col)).where(col.is_not(None))
        return int(self.conn.execute(query).scalar() or 0)

    def count_null(self, table: str, column: str) -> int:
        col: sa.ColumnClause[Any] = sa.column(column)
        query = sa.select(sa.func.count()).select_from(sa.table(table, col)).where(col.is_(None))
        return int(self.conn.execute(query).scalar() or 0)

    def count_duplicates(self, table: str, columns: tuple[str, ...]) -> int:
        cols: list[sa.ColumnClause[Any]] = [sa.column(c) for c in columns]
        inner = (
            sa.select(*cols, sa.func.count().label("n"))
            .select_from(sa.table(table, *cols))
            .where(sa.and_(*(c.is_not(None) for c in cols)))
            .group_by(*cols)
            .having(sa.func.count() > 1)
            .subquery()
        )
        return int(self.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(inner.c.n), 0))).scalar() or 0)

    def count_conversions(self, table: str, old_column: str, old: FieldDef, new: FieldDef) -> ConversionCounts:
        """What becomes of the stored values of ``old`` as values of ``new``."""
        target = self.old_table_of(new.target) if new.type == "reference" else None
        return count_conversions(self.conn, table, old_column, old, new, target_table=target, limit=MAX_EXAMPLES)

    def old_table_of(self, entity: str | None) -> str | None:
        """The table that holds ``entity``'s records now (None for a new entity)."""
        if entity is None or self.old is None:
            return None
        if entity in self.old.entities:
            return entity
        source = self.new.entities[entity].renamed_from if entity in self.new.entities else None
        return source if source in self.old.entities else None

    # -- planning ---------------------------------------------------------------------
    def add(self, step: Operation) -> None:
        self.steps.append(step)

    def plan(self) -> list[Operation]:
        old_entities = dict(self.old.entities) if self.old else {}
        renamed_from: dict[str, str] = {}
        for entity in self.new.entities.values():
            source = entity.renamed_from
            if source and source in old_entities and source not in self.new.entities:
                renamed_from[entity.name] = source
        kept_old = set(renamed_from.values())

        for entity in self.new.entities.values():
            if entity.name in renamed_from:
                source = renamed_from[entity.name]
                self.add(ops.RenameEntity(entity=entity.name, previous=source, rows=self.count_rows(source)))
                self.plan_entity(old_entities[source], entity)
            elif entity.name in old_entities:
                self.plan_entity(old_entities[entity.name], entity)
            else:
                self.add(ops.CreateEntity(entity=entity.name))

        for name in old_entities:
            if name not in self.new.entities and name not in kept_old:
                self.plan_dropped_entity(name)
        return self.steps

    def plan_dropped_entity(self, name: str) -> None:
        rows = self.count_rows(name)
        reason = (
            f"{rows} record(s) of {name} would be deleted; export them first, or rename "
            f'the entity with "renamed_from": "{name}" to keep them'
        )
        self.add(
            ops.DropEntity(entity=name, rows=rows, lost=rows, destructive=rows > 0, reason=reason if rows else None)
        )

    def plan_entity(self, old: EntityDef, new: EntityDef) -> None:
        table = old.name  # the table still has its old name while planning
        renamed: dict[str, str] = {}
        for f in new.fields.values():
            if f.renamed_from and f.renamed_from in old.fields and f.renamed_from not in new.fields:
                renamed[f.name] = f.renamed_from
        kept = set(renamed.values())

        for f in new.fields.values():
            source_name = renamed.get(f.name, f.name)
            if f.name in renamed:
                rows = self.count_non_null(table, source_name)
                self.add(ops.RenameField(entity=new.name, field=f.name, previous=source_name, rows=rows))
            if source_name in old.fields:
                self.plan_field(table, new.name, old.fields[source_name], f, source_name)
            else:
                self.plan_added_field(table, new.name, f)

        for name in old.fields:
            if name not in new.fields and name not in kept:
                self.plan_dropped_field(table, new.name, name)
        self.plan_constraints(table, old, new, renamed)
        if entity_meta(old) != entity_meta(new):
            self.add(ops.DefinitionOnly(entity=new.name, text=f"labels or display of {new.name} change"))
        if old.duplicates != new.duplicates:
            text = f"duplicate rules of {new.name} change (their keys are rebuilt from the stored records)"
            self.add(ops.DefinitionOnly(entity=new.name, text=text))

    def plan_dropped_field(self, table: str, entity: str, name: str) -> None:
        values = self.count_non_null(table, name)
        reason = (
            f"{values} record(s) hold a value in {entity}.{name}; export them first, or "
            f'keep the data by renaming the field with "renamed_from": "{name}"'
        )
        self.add(
            ops.DropField(
                entity=entity,
                field=name,
                rows=values,
                lost=values,
                destructive=values > 0,
                reason=reason if values else None,
            )
        )

    def plan_added_field(self, table: str, entity: str, f: FieldDef) -> None:
        rows = self.count_rows(table)
        self.add(ops.AddField(entity=entity, field=f.name, definition=f))
        if f.has_default and f.default is not None and rows:
            self.add(ops.FillDefault(entity=entity, field=f.name, definition=f, added=True, rows=rows))
        elif f.required and rows:
            self.require(entity, f, rows, f"{rows} existing record(s) would have no {f.name}")
        if f.derived and rows:
            self.add(_recompute(entity, f, "is new", rows))
        if field_type(f.type).assigned and rows:
            text = (
                f"{entity}.{f.name} (autonumber) is new: {rows} existing record(s) numbered in the order they were made"
            )
            self.add(ops.DefinitionOnly(entity=entity, field=f.name, text=text))
        if f.unique:
            self.add(ops.AddUnique(entity=entity, field=f.name, columns=(f.name,)))

    def plan_field(self, table: str, entity: str, old: FieldDef, new: FieldDef, column: str) -> None:
        """The steps of a field kept (perhaps renamed): values, constraints, index, labels."""
        retyped = old.type != new.type or storage_signature(old) != storage_signature(new)
        if retyped or _choices_removed(old, new):
            self.plan_conversion(table, entity, old, new, column, retyped=retyped)
        elif old.on_delete != new.on_delete and new.type == "reference":
            self.add(
                ops.ChangeReference(entity=entity, field=new.name, definition=new, previous_on_delete=old.on_delete)
            )
        if new.required and not old.required:
            empty = self.count_null(table, column)
            if empty:
                self.require(entity, new, empty, f"{empty} record(s) have no {new.name}")
        if new.unique != old.unique:
            kind = ops.AddUnique if new.unique else ops.DropUnique
            self.add(kind(entity=entity, field=new.name, columns=(new.name,)))
        if _wants_index(new) != _wants_index(old) and not new.unique and not old.unique:
            index = ops.AddIndex if _wants_index(new) else ops.DropIndex
            self.add(index(entity=entity, field=new.name, columns=(new.name,)))
        if field_meta(old) != field_meta(new):
            self.add(
                ops.DefinitionOnly(entity=entity, field=new.name, text=f"{entity}.{new.name}: {meta_change(old, new)}")
            )
        if _conditions(old) != _conditions(new):
            text = f"{entity}.{new.name}: required_when or read_only_when changed"
            self.add(ops.DefinitionOnly(entity=entity, field=new.name, text=text))
        if old.cascade_owner != new.cascade_owner:
            text = f"{entity}.{new.name}: cascade_owner {'on' if new.cascade_owner else 'off'}"
            self.add(ops.DefinitionOnly(entity=entity, field=new.name, text=text))
        numbered = field_type(new.type).assigned
        if numbered and (old.type != new.type or old.number_pattern != new.number_pattern):
            empty = self.count_null(table, column)
            if old.type != new.type or empty:
                self.add(_numbering(entity, new, empty))
        if _derivation(old) != _derivation(new):
            if new.derived:
                rows = self.count_rows(table)
                self.add(_recompute(entity, new, "is defined anew" if old.derived else "becomes derived", rows))
            else:
                text = f"{entity}.{new.name} is no longer derived: its values stay, as an ordinary field's"
                self.add(ops.DefinitionOnly(entity=entity, field=new.name, text=text))

    def plan_conversion(
        self, table: str, entity: str, old: FieldDef, new: FieldDef, column: str, *, retyped: bool
    ) -> None:
        """A new type, size or target on the same column, or choices removed: the values
        must be valid values of the new field (money → decimal, string → email still convert)."""
        where = f"{entity}.{new.name}"
        values = self.count_non_null(table, column)
        counts = self.count_conversions(table, column, old, new) if values else ConversionCounts()
        lost, changed, examples = counts.lost, counts.changed, counts.examples
        kind = ops.ChangeType if retyped else ops.RemoveChoices  # a new target is a new storage signature
        self.add(
            kind(
                entity=entity,
                field=new.name,
                column=column,
                before=old,
                after=new,
                rows=values if kind is ops.ChangeType else lost + changed,
                lost=lost,
                changed=changed,
                examples=examples,
                destructive=bool(lost or changed),
                reason=_conversion_reason(old, new, counts),
            )
        )
        if lost and new.required:
            self.require(entity, new, lost, f"{lost} value(s) of {where} would be emptied")
        if counts.clashes:
            self.clashes[(entity, new.name)] = counts
            if old.unique and new.unique:  # no add_unique step of its own: check it here
                self.add(ops.AddUnique(entity=entity, field=new.name, columns=(new.name,), kept=True))

    def require(self, entity: str, f: FieldDef, rows: int, what: str) -> None:
        """Empty values of a required field: filled with its default, else blocking (even
        ``allow_data_loss`` must not leave a required field empty)."""
        if f.has_default and f.default is not None:
            self.add(ops.FillDefault(entity=entity, field=f.name, definition=f, added=False, rows=rows))
            return
        reason = (
            f'{what} and the field is required; fill them in, make the field optional first, or give it a "default"'
        )
        self.add(ops.RequireField(entity=entity, field=f.name, rows=rows, blocking=True, reason=reason))

    def plan_constraints(self, table: str, old: EntityDef, new: EntityDef, renamed: dict[str, str]) -> None:
        back = {v: k for k, v in renamed.items()}

        def rename(cols: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(back.get(c, c) for c in cols)

        old_unique = {rename(u) for u in old.unique}
        old_index = {rename(i) for i in old.indexes}
        for cols in new.unique:
            if cols not in old_unique:
                self.add(ops.AddUnique(entity=new.name, columns=cols))
        for cols in old_unique - set(new.unique):
            self.add(ops.DropUnique(entity=new.name, columns=cols))
        for cols in new.indexes:
            if cols not in old_index:
                self.add(ops.AddIndex(entity=new.name, columns=cols))
        for cols in old_index - set(new.indexes):
            if all(c in new.fields for c in cols):
                self.add(ops.DropIndex(entity=new.name, columns=cols))

    def check_unique(self) -> None:
        """Turn add_unique steps over duplicated data into blocking steps."""
        self.steps = [self.checked_unique(step) if isinstance(step, ops.AddUnique) else step for step in self.steps]

    def checked_unique(self, step: ops.AddUnique) -> ops.AddUnique:
        if self.old is None or step.entity not in self._existing_tables():
            return step
        clash = self.clashes.get((step.entity, step.columns[0])) if len(step.columns) == 1 else None
        if clash is not None:
            listed = ", ".join(describe_example(*e) for e in clash.clash_examples)
            reason = (
                f"{clash.clashes} record(s) would share a value after the type change ({listed}); "
                "make them distinct first"
            )
            return dataclasses.replace(step, rows=clash.clashes, blocking=True, reason=reason)
        old_cols = self._old_columns(step.entity, step.columns, self.old)
        if old_cols is None:
            return step
        dupes = self.count_duplicates(self._old_table_name(step.entity, self.old), old_cols)
        if not dupes:
            return step
        reason = (
            f"{dupes} record(s) share a value of ({', '.join(step.columns)}); make "
            "them distinct before adding the constraint"
        )
        return dataclasses.replace(step, rows=dupes, blocking=True, reason=reason)

    def _existing_tables(self) -> set[str]:
        names = set()
        for entity in self.new.entities.values():
            if self.old and (entity.name in self.old.entities or (entity.renamed_from or "") in self.old.entities):
                names.add(entity.name)
        return names

    def _old_table_name(self, entity: str, old: Definitions) -> str:
        if entity in old.entities:
            return entity
        return self.new.entities[entity].renamed_from or entity

    def _old_columns(
        self, entity: str, columns: tuple[str, ...], old_definitions: Definitions
    ) -> tuple[str, ...] | None:
        old = old_definitions.entities[self._old_table_name(entity, old_definitions)]
        new = self.new.entities[entity]
        out = []
        for c in columns:
            f = new.fields[c]
            source = f.renamed_from if f.renamed_from and f.renamed_from in old.fields and c not in old.fields else c
            if source not in old.fields:
                return None  # a new column: no data to clash
            out.append(source)
        return tuple(out)


def _conversion_reason(old: FieldDef, new: FieldDef, counts: ConversionCounts) -> str | None:
    lost, changed, examples = counts.lost, counts.changed, counts.examples
    if not lost and not changed:
        return None
    parts = []
    if lost:
        if new.type == "reference" and old.type in ID_TYPES:
            parts.append(f"{lost} record(s) would point to no {new.target} and be emptied")
        else:
            parts.append(
                f"{lost} record(s) hold a value that is not valid as {describe_field(new)} and would be emptied"
            )
    if changed:
        parts.append(f"{changed} value(s) would be changed")
    listed = ", ".join(describe_example(*e) for e in examples)
    more = ", …" if len(examples) < lost + changed else ""
    return f"{'; '.join(parts)} ({listed}{more}); fix or export those records first"


def _choices_removed(old: FieldDef, new: FieldDef) -> bool:
    return old.type in CHOICE_TYPES and new.type == old.type and not set(old.choice_values) <= set(new.choice_values)


def _wants_index(f: FieldDef) -> bool:
    return f.index or f.type == "reference"


def plan_migration(conn: Connection, old: Definitions | None, new: Definitions, *, from_version: int) -> MigrationPlan:
    """Compare ``old`` (applied) with ``new`` and count the rows each step would touch."""
    planner = _Planner(conn, old, new)
    planner.plan()
    planner.check_unique()
    steps = planner.steps + [ops.DefinitionOnly(entity=e, text=d) for e, d in definition_changes(old, new)]
    return MigrationPlan(from_version=from_version, old=old, new=new, steps=tuple(steps))


def _derivation(f: FieldDef) -> tuple[Any, ...]:
    return (f.compute, f.rollup, f.refresh)


def _conditions(f: FieldDef) -> tuple[Any, ...]:
    return (f.required_when, f.read_only_when)


def _numbering(entity: str, f: FieldDef, empty: int) -> ops.DefinitionOnly:
    """The note that a field becoming an autonumber keeps its numbers and numbers the rest."""
    text = (
        f"{entity}.{f.name} (autonumber): the numbers stored stay and the counters move past them; "
        f"{empty} record(s) without one numbered in creation order"
    )
    return ops.DefinitionOnly(entity=entity, field=f.name, text=text)


def _recompute(entity: str, f: FieldDef, what: str, rows: int) -> ops.DefinitionOnly:
    """The note that a derived field's values are recomputed after the change (in batches)."""
    kind = "computed" if f.compute is not None else "rolled-up"
    text = f"{entity}.{f.name} ({kind}) {what}: {rows} record(s) recomputed after the change"
    return ops.DefinitionOnly(entity=entity, field=f.name, text=text)
