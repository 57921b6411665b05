"""Migration operations: one frozen class per kind of change, as Django's ``operations/fields.py``.

The planner (:mod:`._plan`) emits them; each carries exactly what applying and describing it
needs (the field definitions before and after, the column it reads, the previous name),
plus what the plan found it does to existing rows (``rows``, ``lost``, ``changed``,
``examples``, ``destructive``, ``blocking``, ``reason``). ``describe()`` is the line
``crm schema diff`` prints; ``to_json()`` the form ``--json`` and the API show; ``apply()``
schedules the operation's work on a :class:`SchemaChange`, which runs every operation's work
in one order (see :class:`Stage`).

Adding a kind of change: one class here (its ``kind`` added to :data:`StepKind`), emitted by
the planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import sqlalchemy as sa

from engine.compile import column_type
from engine.metadata import FieldDef, OnDelete

from ._convert import DECIMAL_TYPES, Example, same_value_kind, storage_signature
from ._counters import rename_counters
from ._schema_change import SchemaChange, Stage, TableChange

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

#: Text types whose description names their length (``string(20)``).
SIZED_TEXT_TYPES = frozenset({"string", "email", "phone", "url"})
#: Types whose values are names from a choice list.
CHOICE_TYPES = frozenset({"enum", "multi_enum"})


def describe_field(f: FieldDef) -> str:
    """A field's type as plans name it: ``string(20)``, ``decimal(14,2)``, ``reference to account``."""
    if f.type in SIZED_TEXT_TYPES and f.max_length:
        return f"{f.type}({f.max_length})"
    if f.type in DECIMAL_TYPES:
        return f"{f.type}({f.precision},{f.scale})"
    if f.type == "reference":
        return f"reference to {f.target}"
    if f.type in CHOICE_TYPES:
        return f"{f.type} of {', '.join(f.choice_values)}"
    return f.type


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One planned change and its effect on existing rows.

    :param entity: the entity changed (its new name).
    :param field: the field the change is about (none for an entity or a constraint over
        several fields); subclasses about one field make it required.
    :param columns: the columns of a unique constraint or an index.
    :param rows: how many existing rows the step touches (rewrites, drops or leaves invalid).
    :param lost: how many of those would lose a value (or the whole row, for a dropped entity).
    :param changed: how many values a type change keeps but alters (``00123`` → ``123``).
    :param examples: ``(id, stored text, new text or None)`` of the first values lost or changed.
    """

    kind: ClassVar[StepKind]

    entity: str
    field: str | None = None
    rows: int = 0
    lost: int = 0
    destructive: bool = False
    blocking: bool = False
    reason: str | None = None
    columns: tuple[str, ...] = ()
    changed: int = 0
    examples: tuple[Example, ...] = ()

    @property
    def detail(self) -> str:
        """The line ``crm schema diff`` prints for this step."""
        return self.describe()

    @property
    def where(self) -> str:
        """``entity.field`` (the entity alone for a step about no field)."""
        return f"{self.entity}.{self.field}" if self.field else self.entity

    def describe(self) -> str:
        """What the step does, in one line."""
        raise NotImplementedError

    def apply(self, change: SchemaChange) -> None:
        """Schedule this step's work on ``change`` (nothing by default: no DDL)."""

    def to_json(self) -> dict[str, Any]:
        """The step as ``crm schema diff --json`` and the API show it (empty parts left out)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "entity": self.entity,
            "detail": self.detail,
            "field": self.field,
            "rows": self.rows,
            "lost": self.lost,
            "destructive": self.destructive,
            "blocking": self.blocking,
            "reason": self.reason,
            "columns": list(self.columns),
            "changed": self.changed,
            "examples": [{"id": i, "before": b, "after": a} for i, b, a in self.examples],
        }
        return {k: v for k, v in out.items() if v not in (None, [])}


# -- entities ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CreateEntity(Operation):
    """A new entity: its table is created with every column, constraint and index."""

    kind: ClassVar[StepKind] = "create_entity"

    def describe(self) -> str:
        return f"create entity {self.entity}"

    def apply(self, change: SchemaChange) -> None:
        change.create_table(self.entity)


@dataclass(frozen=True, kw_only=True)
class DropEntity(Operation):
    """An entity removed: its table and every record in it go."""

    kind: ClassVar[StepKind] = "drop_entity"

    def describe(self) -> str:
        return f"drop entity {self.entity} and its table"

    def apply(self, change: SchemaChange) -> None:
        change.drop_table(self.entity)


@dataclass(frozen=True, kw_only=True)
class RenameEntity(Operation):
    """An entity with ``renamed_from``: its table is renamed, its records kept."""

    kind: ClassVar[StepKind] = "rename_entity"
    previous: str

    def describe(self) -> str:
        return f"rename entity {self.previous} → {self.entity} (data kept)"

    def apply(self, change: SchemaChange) -> None:
        change.rename_table(self.previous, self.entity)
        rename_counters(change.conn, self.entity, self.previous)


@dataclass(frozen=True, kw_only=True)
class DefinitionOnly(Operation):
    """Labels, bounds, choices' labels, workflows, scorings, reports or roles change: a new
    version and no DDL."""

    kind: ClassVar[StepKind] = "definition_only"
    text: str

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True, kw_only=True)
class _AtOneStage(Operation):
    """An operation whose work on its table is done at one :class:`Stage`."""

    stage: ClassVar[Stage]

    def apply(self, change: SchemaChange) -> None:
        change.table(self.entity).at(self.stage, self.run)

    def run(self, table: TableChange) -> None:
        """The operation's work on ``table``, at its stage."""
        raise NotImplementedError


# -- fields --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AddField(Operation):
    """A new field: a nullable column (a foreign key for a reference) and its index."""

    kind: ClassVar[StepKind] = "add_field"
    field: str
    definition: FieldDef

    def describe(self) -> str:
        return f"add field {self.where} ({self.definition.type})"

    def apply(self, change: SchemaChange) -> None:
        table = change.table(self.entity)
        table.at(Stage.ADD_COLUMNS, self.add_column)
        table.at(Stage.ADD_INDEXES, self.add_index)

    def add_column(self, table: TableChange) -> None:
        f = self.definition
        table.batch.add_column(sa.Column(f.name, column_type(f), nullable=True))
        if f.type == "reference":
            table.create_foreign_key(f)

    def add_index(self, table: TableChange) -> None:
        table.create_index((self.field,))


@dataclass(frozen=True, kw_only=True)
class DropField(_AtOneStage):
    """A field removed: its column and the values in it go."""

    kind: ClassVar[StepKind] = "drop_field"
    stage: ClassVar[Stage] = Stage.DROP_COLUMNS
    field: str

    def describe(self) -> str:
        return f"drop field {self.where}"

    def apply(self, change: SchemaChange) -> None:
        change.table(self.entity).free(self.field)
        super().apply(change)

    def run(self, table: TableChange) -> None:
        table.batch.drop_column(self.field)


@dataclass(frozen=True, kw_only=True)
class RenameField(_AtOneStage):
    """A field with ``renamed_from``: its column is renamed, its values kept."""

    kind: ClassVar[StepKind] = "rename_field"
    stage: ClassVar[Stage] = Stage.RENAME_COLUMNS
    field: str
    previous: str

    def describe(self) -> str:
        return f"rename field {self.entity}.{self.previous} → {self.field} (data kept)"

    def run(self, table: TableChange) -> None:
        if self.field not in table.rewritten:  # a rewrite writes the new column under its new name
            table.batch.alter_column(self.previous, new_column_name=self.field)
        rename_counters(table.conn, self.entity, self.previous, field=self.field)


@dataclass(frozen=True, kw_only=True)
class _ConvertValues(Operation):
    """A change of what the values of ``column`` may be; ``before`` and ``after`` are the
    field's definitions, ``column`` its column as stored now (the previous name when renamed)."""

    field: str
    column: str
    before: FieldDef
    after: FieldDef

    def convert_in_place(self, table: TableChange) -> None:
        table.convert_in_place(self.column, self.before, self.after)


@dataclass(frozen=True, kw_only=True)
class ChangeType(_ConvertValues):
    """A field's type, size, scale or reference target changes; every value is converted.

    A change of value kind (integer → string) writes the converted values into a new column
    that replaces the old one; a change within a kind (a longer string) alters the column
    after emptying or rewriting the values that do not stay as they are.
    """

    kind: ClassVar[StepKind] = "change_type"

    @property
    def rewrites(self) -> bool:
        """Whether the values move to a new column (the old one cannot hold them)."""
        return not same_value_kind(self.before, self.after)

    def describe(self) -> str:
        return f"change {self.where} from {describe_field(self.before)} to {describe_field(self.after)}"

    def apply(self, change: SchemaChange) -> None:
        table = change.table(self.entity)
        if self.rewrites:
            table.replace(self.column, self.field)
            table.at(Stage.CONVERT, self.convert_into_new_column)
            table.at(Stage.DROP_COLUMNS, self.swap_columns)
            table.at(Stage.ADD_COLUMNS, self.add_foreign_key)
            return
        if self.lost or self.changed:
            table.at(Stage.CONVERT, self.convert_in_place)
        # after the values are rounded to the new scale, in the old column's units
        table.at(Stage.CONVERT, self.rescale)
        table.at(Stage.ALTER_COLUMNS, self.alter_column)

    def convert_into_new_column(self, table: TableChange) -> None:
        table.convert_into_new_column(self.column, self.before, self.after)

    def rescale(self, table: TableChange) -> None:
        table.rescale(self.column, self.before, self.after)

    def swap_columns(self, table: TableChange) -> None:
        table.batch.drop_column(self.column)
        table.batch.alter_column(table.new_column_name(self.field), new_column_name=self.field)

    def add_foreign_key(self, table: TableChange) -> None:
        if self.after.type == "reference":
            table.create_foreign_key(self.after)

    def alter_column(self, table: TableChange) -> None:
        if storage_signature(self.before) != storage_signature(self.after):
            table.alter_type(self.field, self.before, self.after)
        if self.after.type == "reference" and self.before.target != self.after.target:
            table.drop_foreign_key(self.field)
            table.create_foreign_key(self.after)


@dataclass(frozen=True, kw_only=True)
class RemoveChoices(_ConvertValues):
    """Choices removed from an enum or multi_enum: values naming them are emptied or trimmed."""

    kind: ClassVar[StepKind] = "remove_choices"

    def describe(self) -> str:
        removed = sorted(set(self.before.choice_values) - set(self.after.choice_values))
        return f"remove choice(s) {', '.join(removed)} from {self.where}"

    def apply(self, change: SchemaChange) -> None:
        if self.lost or self.changed:
            change.table(self.entity).at(Stage.CONVERT, self.convert_in_place)


@dataclass(frozen=True, kw_only=True)
class RequireField(Operation):
    """A field becomes required (or is added as required) where records have no value and
    there is no default: always blocking, so never applied."""

    kind: ClassVar[StepKind] = "require_field"
    field: str

    def describe(self) -> str:
        return f"{self.where} is required"


@dataclass(frozen=True, kw_only=True)
class FillDefault(_AtOneStage):
    """Existing records with no value get the field's default.

    :param added: the field is new (every existing record gets it), rather than made required.
    """

    kind: ClassVar[StepKind] = "fill_default"
    stage: ClassVar[Stage] = Stage.FILL
    field: str
    definition: FieldDef
    added: bool

    def describe(self) -> str:
        default = self.definition.default
        if self.added:
            return f"set {self.where} to its default {default!r} on existing records"
        return f"{self.where} is required; empty values get the default {default!r}"

    def run(self, table: TableChange) -> None:
        table.fill_default(self.definition)


@dataclass(frozen=True, kw_only=True)
class ChangeReference(_AtOneStage):
    """A reference's ``on_delete`` changes: its foreign key is made again."""

    kind: ClassVar[StepKind] = "change_reference"
    stage: ClassVar[Stage] = Stage.ALTER_COLUMNS
    field: str
    definition: FieldDef
    previous_on_delete: OnDelete

    def describe(self) -> str:
        return f"{self.where}: on_delete {self.previous_on_delete} → {self.definition.on_delete}"

    def run(self, table: TableChange) -> None:
        table.drop_foreign_key(self.field)
        table.create_foreign_key(self.definition)


# -- constraints and indexes ---------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class _OnColumns(_AtOneStage):
    """A unique constraint or an index on ``columns``: a field's own (``field`` set) or
    several fields' together."""

    columns: tuple[str, ...]

    @property
    def subject(self) -> str:
        """``entity.field`` for a field's own, ``(a, b)`` for several fields'."""
        return self.where if self.field else f"({', '.join(self.columns)})"

    @property
    def together(self) -> str:
        return "" if self.field else " together"


@dataclass(frozen=True, kw_only=True)
class AddUnique(_OnColumns):
    """A unique constraint added.

    :param kept: the field was unique and stays so through a type change (checked for
        values the conversion makes equal; the constraint itself comes back with the column).
    """

    kind: ClassVar[StepKind] = "add_unique"
    stage: ClassVar[Stage] = Stage.ADD_UNIQUES
    kept: bool = False

    def describe(self) -> str:
        return f"{self.subject} {'stays' if self.kept else 'must be'} unique{self.together}"

    def run(self, table: TableChange) -> None:
        table.create_unique(self.columns)


@dataclass(frozen=True, kw_only=True)
class DropUnique(_OnColumns):
    """A unique constraint removed."""

    kind: ClassVar[StepKind] = "drop_unique"
    stage: ClassVar[Stage] = Stage.DROP_UNIQUES

    def describe(self) -> str:
        return f"{self.subject} no longer unique{self.together}"

    def run(self, table: TableChange) -> None:
        table.drop_unique(self.columns)


@dataclass(frozen=True, kw_only=True)
class AddIndex(_OnColumns):
    """An index added."""

    kind: ClassVar[StepKind] = "add_index"
    stage: ClassVar[Stage] = Stage.ADD_INDEXES

    def describe(self) -> str:
        return f"add index on {self.subject}"

    def run(self, table: TableChange) -> None:
        table.create_index(self.columns)


@dataclass(frozen=True, kw_only=True)
class DropIndex(_OnColumns):
    """An index removed."""

    kind: ClassVar[StepKind] = "drop_index"
    stage: ClassVar[Stage] = Stage.DROP_INDEXES

    def describe(self) -> str:
        return f"drop index on {self.subject}"

    def run(self, table: TableChange) -> None:
        table.drop_index(self.columns)
