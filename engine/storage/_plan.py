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
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile import column_type
from engine.metadata import Definitions, EntityDef, FieldDef

from ._convert import ConversionCounts, count_conversions, describe_example
from ._describe import definition_changes, entity_meta, field_meta, meta_change

#: How many changed or lost values a step lists.
MAX_EXAMPLES = 10

StepKind = Literal[
    "create_entity",
    "drop_entity",
    "rename_entity",
    "add_field",
    "drop_field",
    "rename_field",
    "change_type",
    "remove_choices",
    "require_field",
    "fill_default",
    "change_reference",
    "add_unique",
    "drop_unique",
    "add_index",
    "drop_index",
    "definition_only",
]


@dataclass(frozen=True)
class MigrationStep:
    """One planned change and its effect on existing rows.

    :param rows: how many existing rows the step touches (rewrites, drops or leaves invalid).
    :param lost: how many of those would lose a value (or the whole row, for a dropped entity).
    :param changed: how many values a type change keeps but alters (``00123`` → ``123``).
    :param examples: ``(id, stored text, new text or None)`` of the first values lost or changed.
    """

    kind: StepKind
    entity: str
    detail: str
    field: str | None = None
    rows: int = 0
    lost: int = 0
    destructive: bool = False
    blocking: bool = False
    reason: str | None = None
    columns: tuple[str, ...] = ()
    changed: int = 0
    examples: tuple[tuple[int, str, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["columns"] = list(self.columns)
        out["examples"] = [{"id": i, "before": b, "after": a} for i, b, a in self.examples]
        return {k: v for k, v in out.items() if v not in (None, (), [])}


@dataclass(frozen=True)
class MigrationPlan:
    from_version: int
    old: Definitions | None
    new: Definitions
    steps: tuple[MigrationStep, ...] = field(default=())

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    @property
    def destructive(self) -> tuple[MigrationStep, ...]:
        return tuple(s for s in self.steps if s.destructive)

    @property
    def blocking(self) -> tuple[MigrationStep, ...]:
        return tuple(s for s in self.steps if s.blocking)

    @property
    def needs_ddl(self) -> bool:
        return any(s.kind != "definition_only" for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "from_version": self.from_version,
            "to_version": self.from_version + 1 if self.steps else self.from_version,
            "destructive": bool(self.destructive),
            "blocking": bool(self.blocking),
            "steps": [s.to_json() for s in self.steps],
        }


def storage_signature(f: FieldDef) -> tuple[Any, ...]:
    """What the column stores; a change of it needs DDL and possibly a data rewrite."""
    kind = type(column_type(f)).__name__
    return (kind, f.max_length if f.type != "text" else None, f.precision, f.scale, f.target)


def _value_kind(f: FieldDef) -> str:
    """The Python value family of a field; a change of family rewrites every value."""
    if f.type in ("string", "text", "email", "phone", "url", "enum"):
        return "str"
    if f.type in ("decimal", "money"):
        return "decimal"
    return f.type


def same_value_kind(old: FieldDef, new: FieldDef) -> bool:
    return _value_kind(old) == _value_kind(new)


class _Planner:
    def __init__(self, conn: Connection, old: Definitions | None, new: Definitions) -> None:
        self.conn = conn
        self.old = old
        self.new = new
        self.steps: list[MigrationStep] = []
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
    def add(self, step: MigrationStep) -> None:
        self.steps.append(step)

    def plan(self) -> list[MigrationStep]:
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
                self.add(
                    MigrationStep(
                        "rename_entity",
                        entity.name,
                        f"rename entity {source} → {entity.name} (data kept)",
                        rows=self.count_rows(source),
                    )
                )
                self.plan_entity(old_entities[source], entity)
            elif entity.name in old_entities:
                self.plan_entity(old_entities[entity.name], entity)
            else:
                self.add(MigrationStep("create_entity", entity.name, f"create entity {entity.name}"))

        for name in old_entities:
            if name in self.new.entities or name in kept_old:
                continue
            rows = self.count_rows(name)
            self.add(
                MigrationStep(
                    "drop_entity",
                    name,
                    f"drop entity {name} and its table",
                    rows=rows,
                    lost=rows,
                    destructive=rows > 0,
                    reason=(
                        f"{rows} record(s) of {name} would be deleted; export them first, or rename "
                        f'the entity with "renamed_from": "{name}" to keep them'
                        if rows
                        else None
                    ),
                )
            )
        return self.steps

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
                self.add(
                    MigrationStep(
                        "rename_field",
                        new.name,
                        f"rename field {new.name}.{source_name} → {f.name} (data kept)",
                        field=f.name,
                        rows=self.count_non_null(table, source_name),
                    )
                )
            if source_name in old.fields:
                self.plan_field(table, new.name, old.fields[source_name], f, source_name)
            else:
                self.plan_added_field(table, new.name, f)

        for name in old.fields:
            if name in new.fields or name in kept:
                continue
            values = self.count_non_null(table, name)
            self.add(
                MigrationStep(
                    "drop_field",
                    new.name,
                    f"drop field {new.name}.{name}",
                    field=name,
                    rows=values,
                    lost=values,
                    destructive=values > 0,
                    reason=(
                        f"{values} record(s) hold a value in {new.name}.{name}; export them first, or "
                        f'keep the data by renaming the field with "renamed_from": "{name}"'
                        if values
                        else None
                    ),
                )
            )
        self.plan_constraints(table, old, new, renamed)
        if entity_meta(old) != entity_meta(new):
            self.add(MigrationStep("definition_only", new.name, f"labels or display of {new.name} change"))

    def plan_added_field(self, table: str, entity: str, f: FieldDef) -> None:
        rows = self.count_rows(table)
        detail = f"add field {entity}.{f.name} ({f.type})"
        self.add(MigrationStep("add_field", entity, detail, field=f.name))
        if f.has_default and f.default is not None and rows:
            self.add(
                MigrationStep(
                    "fill_default",
                    entity,
                    f"set {entity}.{f.name} to its default {f.default!r} on existing records",
                    field=f.name,
                    rows=rows,
                )
            )
        elif f.required and rows:
            self.require(table, entity, f, rows, f"{rows} existing record(s) would have no {f.name}")
        if f.unique:
            self.add(
                MigrationStep(
                    "add_unique", entity, f"{entity}.{f.name} must be unique", field=f.name, columns=(f.name,)
                )
            )

    def plan_field(self, table: str, entity: str, old: FieldDef, new: FieldDef, column: str) -> None:
        where = f"{entity}.{new.name}"
        retyped = old.type != new.type or storage_signature(old) != storage_signature(new)
        if retyped or _choices_removed(old, new):
            # a new type on the same column (money → decimal, string → email) still
            # converts: its values must be valid values of the new type
            kind: StepKind = "change_type" if retyped else "remove_choices"
            if old.type == "reference" and new.type == "reference" and old.target != new.target:
                kind = "change_type"
            values = self.count_non_null(table, column)
            counts = self.count_conversions(table, column, old, new) if values else ConversionCounts()
            lost, changed, examples = counts.lost, counts.changed, counts.examples
            if kind == "remove_choices":
                removed = sorted(set(old.choice_values) - set(new.choice_values))
                detail = f"remove choice(s) {', '.join(removed)} from {where}"
            else:
                detail = f"change {where} from {describe(old)} to {describe(new)}"
            self.add(
                MigrationStep(
                    kind,
                    entity,
                    detail,
                    field=new.name,
                    rows=values if kind == "change_type" else lost + changed,
                    lost=lost,
                    changed=changed,
                    examples=examples,
                    destructive=bool(lost or changed),
                    reason=_conversion_reason(where, old, new, lost, changed, examples),
                )
            )
            if lost and new.required:
                self.require(table, entity, new, lost, f"{lost} value(s) of {where} would be emptied")
            if counts.clashes:
                self.clashes[(entity, new.name)] = counts
                if old.unique and new.unique:  # no add_unique step of its own: check it here
                    self.add(
                        MigrationStep(
                            "add_unique", entity, f"{where} stays unique", field=new.name, columns=(new.name,)
                        )
                    )
        elif old.on_delete != new.on_delete and new.type == "reference":
            self.add(
                MigrationStep(
                    "change_reference",
                    entity,
                    f"{where}: on_delete {old.on_delete} → {new.on_delete}",
                    field=new.name,
                )
            )
        if new.required and not old.required:
            empty = self.count_null(table, column)
            if empty:
                self.require(table, entity, new, empty, f"{empty} record(s) have no {new.name}")
        if new.unique != old.unique:
            if new.unique:
                self.add(
                    MigrationStep("add_unique", entity, f"{where} must be unique", field=new.name, columns=(new.name,))
                )
            else:
                self.add(
                    MigrationStep(
                        "drop_unique", entity, f"{where} no longer unique", field=new.name, columns=(new.name,)
                    )
                )
        if _wants_index(new) != _wants_index(old) and not new.unique and not old.unique:
            kind2: StepKind = "add_index" if _wants_index(new) else "drop_index"
            self.add(
                MigrationStep(
                    kind2,
                    entity,
                    f"{'add' if _wants_index(new) else 'drop'} index on {where}",
                    field=new.name,
                    columns=(new.name,),
                )
            )
        if field_meta(old) != field_meta(new):
            self.add(MigrationStep("definition_only", entity, f"{where}: {meta_change(old, new)}", field=new.name))

    def require(self, table: str, entity: str, f: FieldDef, rows: int, what: str) -> None:
        """Empty values of a required field: filled with its default, else blocking (even
        ``allow_data_loss`` must not leave a required field empty)."""
        where = f"{entity}.{f.name}"
        if f.has_default and f.default is not None:
            self.add(
                MigrationStep(
                    "fill_default",
                    entity,
                    f"{where} is required; empty values get the default {f.default!r}",
                    field=f.name,
                    rows=rows,
                )
            )
            return
        self.add(
            MigrationStep(
                "require_field",
                entity,
                f"{where} is required",
                field=f.name,
                rows=rows,
                blocking=True,
                reason=(
                    f"{what} and the field is required; fill them in, make the field optional first, "
                    'or give it a "default"'
                ),
            )
        )

    def plan_constraints(self, table: str, old: EntityDef, new: EntityDef, renamed: dict[str, str]) -> None:
        back = {v: k for k, v in renamed.items()}

        def rename(cols: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(back.get(c, c) for c in cols)

        old_unique = {rename(u) for u in old.unique}
        old_index = {rename(i) for i in old.indexes}
        for cols in new.unique:
            if cols not in old_unique:
                self.add(
                    MigrationStep("add_unique", new.name, f"({', '.join(cols)}) must be unique together", columns=cols)
                )
        for cols in old_unique - set(new.unique):
            self.add(
                MigrationStep("drop_unique", new.name, f"({', '.join(cols)}) no longer unique together", columns=cols)
            )
        for cols in new.indexes:
            if cols not in old_index:
                self.add(MigrationStep("add_index", new.name, f"add index on ({', '.join(cols)})", columns=cols))
        for cols in old_index - set(new.indexes):
            if all(c in new.fields for c in cols):
                self.add(MigrationStep("drop_index", new.name, f"drop index on ({', '.join(cols)})", columns=cols))

    def check_unique(self) -> None:
        """Turn add_unique steps over duplicated data into blocking steps."""
        out = []
        for step in self.steps:
            if step.kind == "add_unique" and self.old and step.entity in self._existing_tables():
                table = self._old_table_name(step.entity)
                old_cols = self._old_columns(step.entity, step.columns)
                clash = self.clashes.get((step.entity, step.columns[0])) if len(step.columns) == 1 else None
                if clash is not None:
                    listed = ", ".join(describe_example(*e) for e in clash.clash_examples)
                    step = dataclasses.replace(
                        step,
                        rows=clash.clashes,
                        blocking=True,
                        reason=(
                            f"{clash.clashes} record(s) would share a value after the type change ({listed}); "
                            "make them distinct first"
                        ),
                    )
                elif old_cols is not None:
                    dupes = self.count_duplicates(table, old_cols)
                    if dupes:
                        step = dataclasses.replace(
                            step,
                            rows=dupes,
                            blocking=True,
                            reason=(
                                f"{dupes} record(s) share a value of ({', '.join(step.columns)}); make "
                                "them distinct before adding the constraint"
                            ),
                        )
            out.append(step)
        self.steps = out

    def _existing_tables(self) -> set[str]:
        names = set()
        for entity in self.new.entities.values():
            if self.old and (entity.name in self.old.entities or (entity.renamed_from or "") in self.old.entities):
                names.add(entity.name)
        return names

    def _old_table_name(self, entity: str) -> str:
        new = self.new.entities[entity]
        assert self.old is not None
        if entity in self.old.entities:
            return entity
        return new.renamed_from or entity

    def _old_columns(self, entity: str, columns: tuple[str, ...]) -> tuple[str, ...] | None:
        assert self.old is not None
        old = self.old.entities[self._old_table_name(entity)]
        new = self.new.entities[entity]
        out = []
        for c in columns:
            f = new.fields[c]
            source = f.renamed_from if f.renamed_from and f.renamed_from in old.fields and c not in old.fields else c
            if source not in old.fields:
                return None  # a new column: no data to clash
            out.append(source)
        return tuple(out)


def _conversion_reason(
    where: str, old: FieldDef, new: FieldDef, lost: int, changed: int, examples: tuple[tuple[int, str, str | None], ...]
) -> str | None:
    if not lost and not changed:
        return None
    parts = []
    if lost:
        if new.type == "reference" and old.type in ("reference", "integer"):
            parts.append(f"{lost} record(s) would point to no {new.target} and be emptied")
        else:
            parts.append(f"{lost} record(s) hold a value that is not valid as {describe(new)} and would be emptied")
    if changed:
        parts.append(f"{changed} value(s) would be changed")
    listed = ", ".join(describe_example(*e) for e in examples)
    more = ", …" if len(examples) < lost + changed else ""
    return f"{'; '.join(parts)} ({listed}{more}); fix or export those records first"


def describe(f: FieldDef) -> str:
    if f.type in ("string", "email", "phone", "url") and f.max_length:
        return f"{f.type}({f.max_length})"
    if f.type in ("decimal", "money"):
        return f"{f.type}({f.precision},{f.scale})"
    if f.type == "reference":
        return f"reference to {f.target}"
    if f.type in ("enum", "multi_enum"):
        return f"{f.type} of {', '.join(f.choice_values)}"
    return f.type


def _choices_removed(old: FieldDef, new: FieldDef) -> bool:
    return (
        old.type in ("enum", "multi_enum")
        and new.type == old.type
        and not set(old.choice_values) <= set(new.choice_values)
    )


def _wants_index(f: FieldDef) -> bool:
    return f.index or f.type == "reference"


def plan_migration(conn: Connection, old: Definitions | None, new: Definitions, *, from_version: int) -> MigrationPlan:
    """Compare ``old`` (applied) with ``new`` and count the rows each step would touch."""
    planner = _Planner(conn, old, new)
    planner.plan()
    planner.check_unique()
    steps = planner.steps + [MigrationStep("definition_only", e, d) for e, d in definition_changes(old, new)]
    return MigrationPlan(from_version=from_version, old=old, new=new, steps=tuple(steps))
