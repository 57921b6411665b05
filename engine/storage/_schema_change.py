"""Running migration operations: the whole change (:class:`SchemaChange`) and one table's
(:class:`TableChange`).

Operations do not run their DDL as they are visited: each schedules its parts at a
:class:`Stage`, and the table change runs the stages in order. One table changes in one
Alembic batch (SQLite rebuilds it once; PostgreSQL alters it in place), so columns of
several operations are renamed, dropped and added together, and names are freed before
they are used again. Data conversions are done in Python with the new field's own CSV
reader (see :mod:`._convert`), so a value survives a type change exactly when it would
survive an export and re-import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import BatchOperations, Operations
from sqlalchemy.engine import Connection

from engine.compile import NAMING_CONVENTION, build_metadata, column_type, field_validator
from engine.errors import CrmError
from engine.metadata import Definitions, FieldDef
from engine.progress import Progress

from ._convert import Conversion, iter_conversions, rescaled, rescales

#: Converted values of a field changing its kind of value are written to a column of this
#: prefix first, which then replaces the old column.
_TEMP_PREFIX = "crm_tmp_"
#: Rows written per UPDATE statement while converting.
_CHUNK = 5000


class Stage(IntEnum):
    """When a part of an operation runs on its table, in this order."""

    #: Converted values are written while the old column still holds the old ones.
    CONVERT = 1
    # -- inside the table's batch: indexes, uniques and foreign keys over freed columns are gone
    #: Columns take their new names first, so that no later step meets a name twice.
    RENAME_COLUMNS = 2
    #: Dropped and replaced columns go before any column is added.
    DROP_COLUMNS = 3
    ADD_COLUMNS = 4
    ALTER_COLUMNS = 5
    DROP_UNIQUES = 6
    #: Unique constraints come after every column they name (the batch also brings back
    #: those of replaced columns).
    ADD_UNIQUES = 7
    # -- after the batch
    DROP_INDEXES = 8
    #: Then the indexes of replaced columns come back.
    ADD_INDEXES = 9
    #: Defaults are written once every column exists.
    FILL = 10


#: The stages run inside the table's batch.
_BATCH_STAGES = (
    Stage.RENAME_COLUMNS,
    Stage.DROP_COLUMNS,
    Stage.ADD_COLUMNS,
    Stage.ALTER_COLUMNS,
    Stage.DROP_UNIQUES,
    Stage.ADD_UNIQUES,
)

#: A part of an operation's work on its table.
Work = Callable[["TableChange"], None]


class SchemaChange:
    """A whole schema change: entity renames, new tables, each changed table, dropped tables.

    Operations schedule their work with :meth:`rename_table`, :meth:`create_table`,
    :meth:`drop_table` and :meth:`table`; :meth:`run` does it, in that order.
    """

    def __init__(self, conn: Connection, old: Definitions | None, new: Definitions, progress: Progress) -> None:
        self.conn = conn
        self.new = new
        self.progress = progress
        self.ops = Operations(MigrationContext.configure(conn))
        self.new_meta = build_metadata(new)
        self.old_meta = build_metadata(old) if old else None
        self.renames: list[tuple[str, str]] = []
        self.created: list[str] = []
        self.dropped: list[str] = []
        self.tables: dict[str, TableChange] = {}

    def rename_table(self, previous: str, name: str) -> None:
        self.renames.append((previous, name))

    def create_table(self, name: str) -> None:
        self.created.append(name)

    def drop_table(self, name: str) -> None:
        self.dropped.append(name)

    def table(self, entity: str) -> TableChange:
        """The change of ``entity``'s existing table (under its new name)."""
        if entity not in self.tables:
            self.tables[entity] = TableChange(self, self.new_meta.tables[entity])
        return self.tables[entity]

    def run(self) -> None:
        for previous, name in self.renames:
            self.ops.rename_table(previous, name)
        if self.created:
            tables = [self.new_meta.tables[n] for n in self.created]
            self.new_meta.create_all(self.conn, tables=tables, checkfirst=False)
        for name in self.new.entities:
            if name in self.tables:
                self.tables[name].run()
        if self.dropped and self.old_meta is not None:
            for table in reversed(self.old_meta.sorted_tables):  # children first
                if table.name in self.dropped:
                    self.ops.drop_table(table.name)


class TableChange:
    """The changes of one existing table, and the DDL and data helpers operations use.

    Indexes, uniques and foreign keys over a column that is dropped or replaced go first:
    SQLite cannot rebuild a table whose index names a missing column, and PostgreSQL drops
    such constraints with the column (a later drop would fail). Those of a replaced column
    come back with the new one.
    """

    def __init__(self, schema: SchemaChange, new_table: sa.Table) -> None:
        self.schema = schema
        self.conn = schema.conn
        self.ops = schema.ops
        self.name = new_table.name
        self.new_table = new_table
        #: columns dropped or replaced (as stored now)
        self.freed: set[str] = set()
        #: fields whose converted values replace their column
        self.rewritten: set[str] = set()
        self.work: dict[Stage, list[Work]] = {stage: [] for stage in Stage}
        self.foreign_keys: dict[str, str] = {}
        self.uniques: dict[frozenset[str], str] = {}
        self.indexes: dict[frozenset[str], str] = {}
        self.uniques_added: list[tuple[str, ...]] = []
        self._batch: BatchOperations | None = None

    # -- scheduling ---------------------------------------------------------------------
    def at(self, stage: Stage, work: Work) -> None:
        """Run ``work`` at ``stage`` (after the work scheduled there before it)."""
        self.work[stage].append(work)

    def free(self, column: str) -> None:
        """``column`` is dropped: its indexes, uniques and foreign keys go first."""
        self.freed.add(column)

    def replace(self, column: str, field: str) -> None:
        """``field``'s converted values replace ``column`` (its column as stored now)."""
        self.freed.add(column)
        self.rewritten.add(field)

    @property
    def batch(self) -> BatchOperations:
        """The table's Alembic batch (only while the batch stages run)."""
        if self._batch is None:
            raise RuntimeError(f"{self.name}: batch operations run only inside the table's batch")
        return self._batch

    # -- running ------------------------------------------------------------------------
    def run(self) -> None:
        freed_uniques, freed_fks = self._free_columns()
        self._run(Stage.CONVERT)
        # Alembic's annotation says dict[str, str]; it hands the dict to MetaData, which
        # also takes the callables NAMING_CONVENTION uses.
        with self.ops.batch_alter_table(
            self.name,
            recreate="auto",
            naming_convention=NAMING_CONVENTION,  # type: ignore[arg-type]
            table_kwargs={"sqlite_autoincrement": True},
        ) as batch:
            self._batch = batch
            for name in freed_uniques:
                batch.drop_constraint(name, type_="unique")
            for name in freed_fks:
                batch.drop_constraint(name, type_="foreignkey")
            for stage in _BATCH_STAGES:
                self._run(stage)
            self._restore_uniques()
            self._batch = None
        self.indexes = self._reflect_indexes()
        self._run(Stage.DROP_INDEXES)
        self._run(Stage.ADD_INDEXES)
        self._restore_indexes()
        self._run(Stage.FILL)

    def _run(self, stage: Stage) -> None:
        for work in self.work[stage]:
            work(self)

    def _free_columns(self) -> tuple[list[str], list[str]]:
        """Drop the indexes over freed columns; the names of their uniques and foreign keys."""
        for columns, index_name in self._reflect_indexes().items():
            if columns & self.freed:
                self.ops.drop_index(index_name, table_name=self.name)
        uniques = self._reflect_uniques()
        self.foreign_keys = self._reflect_foreign_keys()
        freed_uniques = [name for cols, name in uniques.items() if cols & self.freed]
        freed_fks = [self.foreign_keys.pop(col) for col in self.freed if col in self.foreign_keys]
        self.uniques = {cols: name for cols, name in uniques.items() if not cols & self.freed}
        return freed_uniques, freed_fks

    def _restore_uniques(self) -> None:
        """The uniques of a replaced column were dropped with it: the new table's come back."""
        for c in self.new_table.constraints:
            if isinstance(c, sa.UniqueConstraint):
                names = tuple(col.name for col in c.columns)
                if set(names) & self.rewritten and names not in self.uniques_added:
                    self.create_unique(names)

    def _restore_indexes(self) -> None:
        """The indexes of a replaced column were dropped with it: the new table's come back."""
        for index in self.new_table.indexes:
            columns = tuple(c.name for c in index.columns)
            if set(columns) & self.rewritten:
                self.create_index(columns)

    # -- data -----------------------------------------------------------------------------
    def new_column_name(self, field: str) -> str:
        """The column ``field``'s converted values are written to before it replaces the old one."""
        return _TEMP_PREFIX + field

    def convert_into_new_column(self, column: str, before: FieldDef, after: FieldDef) -> None:
        """Write the converted values of ``column`` into a new column (lost ones stay empty)."""
        temp = self.new_column_name(after.name)
        self.ops.add_column(self.name, sa.Column(temp, column_type(after), nullable=True))
        target = sa.table(self.name, sa.column("id"), sa.column(temp, column_type(after)))
        stmt = target.update().where(target.c.id == sa.bindparam("_id")).values({temp: sa.bindparam("_v")})
        progress = self.schema.progress
        progress.start(f"convert {self.name}.{after.name}", None)
        rows: list[dict[str, Any]] = []
        for c in self._conversions(column, before, after):
            if c.outcome != "lost":
                rows.append({"_id": c.record_id, "_v": c.value})
            if len(rows) >= _CHUNK:
                self.conn.execute(stmt, rows)
                progress.advance(len(rows))
                rows = []
        if rows:
            self.conn.execute(stmt, rows)
            progress.advance(len(rows))
        progress.finish()

    def convert_in_place(self, column: str, before: FieldDef, after: FieldDef) -> None:
        """Empty the values that do not convert and write the changed ones, before the
        column's type is altered (a same-kind change: the old column holds the new values)."""
        target = sa.table(self.name, sa.column("id"), sa.column(column, column_type(before)))
        stmt = target.update().where(target.c.id == sa.bindparam("_id")).values({column: sa.bindparam("_v")})
        rows = [
            {"_id": c.record_id, "_v": c.value} for c in self._conversions(column, before, after) if c.outcome != "same"
        ]
        for start in range(0, len(rows), _CHUNK):
            self.conn.execute(stmt, rows[start : start + _CHUNK])

    def rescale(self, column: str, before: FieldDef, after: FieldDef) -> None:
        """Rewrite the stored integers of a decimal column whose scale changes (SQLite only:
        they are the values times 10^scale; PostgreSQL's ``NUMERIC`` is altered in place)."""
        if not rescales(self.conn, before, after):
            return
        assert before.scale is not None and after.scale is not None
        stored: sa.ColumnClause[Any] = sa.column(column)
        target = sa.table(self.name, stored)
        self.conn.execute(
            target.update().where(stored.is_not(None)).values({column: rescaled(stored, before.scale, after.scale)})
        )

    def _conversions(self, column: str, before: FieldDef, after: FieldDef) -> Iterator[Conversion]:
        target_table = after.target if after.type == "reference" else None
        return iter_conversions(self.conn, self.name, column, before, after, target_table=target_table)

    def fill_default(self, f: FieldDef) -> None:
        """Give every record with no value of ``f`` its default."""
        value = field_validator(f).validate({f.name: f.default}, partial=True)[f.name]
        target = sa.table(self.name, sa.column(f.name, column_type(f)))
        self.conn.execute(target.update().where(target.c[f.name].is_(None)).values({f.name: value}))

    # -- DDL ------------------------------------------------------------------------------
    def alter_type(self, name: str, before: FieldDef, after: FieldDef) -> None:
        new_type = column_type(after)
        options: dict[str, Any] = {}
        if self.conn.dialect.name != "sqlite":
            compiled = new_type.compile(dialect=self.conn.dialect)
            options["postgresql_using"] = f'"{name}"::{compiled}'
        self.batch.alter_column(
            name, type_=new_type, existing_type=column_type(before), existing_nullable=True, **options
        )

    def create_foreign_key(self, f: FieldDef) -> None:
        """Create the compiled table's foreign key of reference ``f``."""
        for fk in self.new_table.foreign_key_constraints:
            if [c.name for c in fk.columns] == [f.name]:
                name = constraint_name(fk, self.new_table)
                self.batch.create_foreign_key(name, fk.referred_table.name, [f.name], ["id"], ondelete=fk.ondelete)
                return

    def drop_foreign_key(self, column: str) -> None:
        name = self.foreign_keys.get(column)
        if name:
            self.batch.drop_constraint(name, type_="foreignkey")

    def create_unique(self, columns: tuple[str, ...]) -> None:
        for c in self.new_table.constraints:
            if isinstance(c, sa.UniqueConstraint) and frozenset(col.name for col in c.columns) == frozenset(columns):
                self.batch.create_unique_constraint(constraint_name(c, self.new_table), list(columns))
                self.uniques_added.append(columns)
                return
        raise MigrationFailedError(f"{self.name}{columns} is not unique in the compiled table")

    def drop_unique(self, columns: tuple[str, ...]) -> None:
        name = self.uniques.get(frozenset(columns))
        if name:
            self.batch.drop_constraint(name, type_="unique")

    def create_index(self, columns: tuple[str, ...]) -> None:
        """Create the compiled table's index on ``columns``, unless it is there (a field and
        its index come once)."""
        if frozenset(columns) in self.indexes:
            return
        for index in self.new_table.indexes:
            if [c.name for c in index.columns] == list(columns):
                name = constraint_name(index, self.new_table)
                self.ops.create_index(name, self.name, list(columns))
                self.indexes[frozenset(columns)] = name
                return

    def drop_index(self, columns: tuple[str, ...]) -> None:
        name = self.indexes.get(frozenset(columns))
        if name:
            self.ops.drop_index(name, table_name=self.name)

    # -- reflection of what is really there (names may predate a rename) -------------------
    def _reflect_foreign_keys(self) -> dict[str, str]:
        return {
            fk["constrained_columns"][0]: name
            for fk in sa.inspect(self.conn).get_foreign_keys(self.name)
            if (name := fk.get("name")) and len(fk["constrained_columns"]) == 1
        }

    def _reflect_uniques(self) -> dict[frozenset[str], str]:
        return {
            frozenset(u["column_names"]): name
            for u in sa.inspect(self.conn).get_unique_constraints(self.name)
            if (name := u.get("name"))
        }

    def _reflect_indexes(self) -> dict[frozenset[str], str]:
        return {
            frozenset(c for c in i["column_names"] if c): name
            for i in sa.inspect(self.conn).get_indexes(self.name)
            if (name := i.get("name")) and not i.get("unique")
        }


class MigrationFailedError(CrmError):
    code = "migration_failed"
    exit_code = 1
    http_status = 409


def constraint_name(constraint: Any, table: sa.Table) -> str:
    """The naming-convention name of a constraint, as SQLAlchemy would emit it."""
    name = constraint.name
    if name is None or type(name).__name__ == "_NoneName":
        raise MigrationFailedError(f"a constraint on {table.name} has no name; check NAMING_CONVENTION")
    return str(name)
