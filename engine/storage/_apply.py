"""Carry out a migration plan with Alembic operations, in one transaction.

Alembic's ``Operations`` run the DDL; on SQLite every table change goes through its batch
mode (copy into a new table, swap), which Alembic also makes a no-op wrapper on
PostgreSQL. Data conversions (a field changing its type, an emptied choice) are done in
Python with the new field's own CSV reader, so that a value survives a type change exactly
when it would survive an export and re-import. Everything, DDL, data and the new stored
version, commits together or not at all.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from engine.compile import NAMING_CONVENTION, build_metadata, column_type, field_validator
from engine.errors import ConflictError, CrmError, DataLossError, Problem
from engine.metadata import Definitions, EntityDef, FieldDef
from engine.progress import NO_PROGRESS, Progress

from ._convert import iter_conversions
from ._database import Database
from ._plan import MigrationPlan, MigrationStep, plan_migration, same_value_kind, storage_signature
from ._state import current_version, load_stored, store
from ._upgrade import keep_ids_used, refuse_unstorable, upgrade_tables, used_ids

_TEMP_PREFIX = "crm_tmp_"


class MigrationFailedError(CrmError):
    code = "migration_failed"
    exit_code = 1
    http_status = 409


def refuse_unsafe(plan: MigrationPlan, *, allow_data_loss: bool) -> None:
    """Raise :class:`DataLossError` for blocking steps, and destructive ones unless allowed."""
    problems = [Problem(code="blocked", message=f"{s.detail}: {s.reason}", pointer=_pointer(s)) for s in plan.blocking]
    if not allow_data_loss:
        problems += [
            Problem(code="data_loss", message=f"{s.detail}: {s.reason}", pointer=_pointer(s)) for s in plan.destructive
        ]
    if problems:
        hint = "" if plan.blocking else " Re-run with --allow-data-loss to accept the loss."
        raise DataLossError(
            f"the schema change was not applied: {len(problems)} step(s) would lose or break data.{hint}",
            problems,
        )


def _pointer(step: MigrationStep) -> str:
    if step.field:
        return f"/entities/{step.entity}/fields/{step.field}"
    return f"/entities/{step.entity}"


def apply_definitions(
    db: Database,
    new: Definitions,
    *,
    allow_data_loss: bool = False,
    actor: str | None = None,
    expected_version: int | None = None,
    progress: Progress = NO_PROGRESS,
) -> tuple[int, MigrationPlan]:
    """Migrate the database to ``new`` and store it as the next version.

    The plan is made again inside the migration transaction, so rows written since a
    ``diff`` are counted. Returns the new version (unchanged when there was nothing to do)
    and the plan that was carried out.
    """
    with db.migration() as conn:
        version = current_version(conn)
        if expected_version is not None and expected_version != version:
            raise ConflictError(f"the definitions are at version {version}, not {expected_version}; diff again")
        stored = load_stored(conn)
        old = stored.definitions if stored else None
        plan = plan_migration(conn, old, new, from_version=version)
        if not plan.has_changes and stored is not None:
            return version, plan
        refuse_unsafe(plan, allow_data_loss=allow_data_loss)
        refuse_unstorable(conn, new)
        upgrade_tables(conn, old)
        sequences = used_ids(conn)
        try:
            _Migrator(conn, plan, progress).run()
            keep_ids_used(conn, sequences, _renamed_tables(plan))
        except CrmError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise MigrationFailedError(
                f"the schema change failed and was rolled back; nothing changed: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        summary = "; ".join(s.detail for s in plan.steps) or "initial definitions"
        new_version = store(conn, new, expected_version=version, actor=actor, summary=summary[:4000])
    return new_version, plan


def _renamed_tables(plan: MigrationPlan) -> dict[str, str]:
    renamed: dict[str, str] = {}
    for step in plan.steps:
        previous = plan.new.entities[step.entity].renamed_from if step.kind == "rename_entity" else None
        if previous:
            renamed[previous] = step.entity
    return renamed


class _Migrator:
    def __init__(self, conn: Connection, plan: MigrationPlan, progress: Progress) -> None:
        self.conn = conn
        self.plan = plan
        self.progress = progress
        self.ops = Operations(MigrationContext.configure(conn))
        self.new_meta = build_metadata(plan.new)
        self.old_meta = build_metadata(plan.old) if plan.old else None
        self.sqlite = conn.dialect.name == "sqlite"

    # -- whole run --------------------------------------------------------------------
    def run(self) -> None:
        steps = self.plan.steps
        old = self.plan.old
        for step in steps:
            if step.kind == "rename_entity":
                previous = self.plan.new.entities[step.entity].renamed_from
                assert previous is not None
                self.ops.rename_table(previous, step.entity)
        created = [s.entity for s in steps if s.kind == "create_entity"]
        if created or old is None:
            names = created if old is not None else list(self.plan.new.entities)
            self.new_meta.create_all(self.conn, tables=[self.new_meta.tables[n] for n in names], checkfirst=False)
        if old is not None:
            for entity in self.plan.new.entities.values():
                source = old.entities.get(entity.name) or (
                    old.entities.get(entity.renamed_from) if entity.renamed_from else None
                )
                if source is None:
                    continue
                entity_steps = [s for s in steps if s.entity == entity.name and s.kind != "definition_only"]
                entity_steps = [s for s in entity_steps if s.kind not in ("rename_entity", "create_entity")]
                if entity_steps:
                    self.migrate_entity(source, entity, entity_steps)
            self.drop_entities([s.entity for s in steps if s.kind == "drop_entity"])

    def drop_entities(self, names: list[str]) -> None:
        if not names or self.old_meta is None:
            return
        order = [t.name for t in reversed(self.old_meta.sorted_tables) if t.name in names]
        for name in order:
            self.ops.drop_table(name)

    # -- one entity ---------------------------------------------------------------------
    def migrate_entity(self, old: EntityDef, new: EntityDef, steps: list[MigrationStep]) -> None:
        table = new.name
        by_kind: dict[str, list[MigrationStep]] = {}
        for s in steps:
            by_kind.setdefault(s.kind, []).append(s)
        renamed: dict[str, str] = {}
        for s in by_kind.get("rename_field", []):
            if s.field:
                origin = new.fields[s.field].renamed_from
                assert origin is not None, f"{table}.{s.field} is renamed but names no renamed_from"
                renamed[s.field] = origin

        def old_field(name: str) -> FieldDef:
            return old.fields[renamed.get(name) or name]

        retyped = [s for s in by_kind.get("change_type", []) + by_kind.get("remove_choices", []) if s.field is not None]
        rewrites = {
            s.field: old_field(s.field)
            for s in retyped
            if s.field and s.kind == "change_type" and not same_value_kind(old_field(s.field), new.fields[s.field])
        }
        # Indexes, uniques and foreign keys over a column that is dropped or replaced go
        # first: SQLite cannot rebuild a table whose index names a missing column, and
        # PostgreSQL drops such constraints with the column (a later drop would fail).
        doomed = {s.field for s in by_kind.get("drop_field", []) if s.field}
        doomed |= {renamed.get(name) or name for name in rewrites}
        for columns, index_name in self.reflect_indexes(table).items():
            if columns & doomed:
                self.ops.drop_index(index_name, table_name=table)
        existing_uniques = self.reflect_uniques(table)
        existing_fks = self.reflect_foreign_keys(table)
        doomed_uniques = [name for cols, name in existing_uniques.items() if cols & doomed]
        doomed_fks = [existing_fks.pop(col) for col in doomed if col in existing_fks]
        existing_uniques = {cols: name for cols, name in existing_uniques.items() if not cols & doomed}

        for s in retyped:
            assert s.field is not None
            before, after = old_field(s.field), new.fields[s.field]
            column = renamed.get(s.field) or s.field
            if s.field in rewrites:
                self.rewrite_into_temp(table, column, before, after)
            elif s.lost or s.changed:
                self.update_in_place(table, column, before, after)

        new_table = self.new_meta.tables[table]
        # Alembic's annotation says dict[str, str]; it hands the dict to MetaData, which
        # also takes the callables NAMING_CONVENTION uses.
        with self.ops.batch_alter_table(
            table,
            recreate="auto",
            naming_convention=NAMING_CONVENTION,  # type: ignore[arg-type]
            table_kwargs={"sqlite_autoincrement": True},
        ) as batch:
            for name in doomed_uniques:
                batch.drop_constraint(name, type_="unique")
            for name in doomed_fks:
                batch.drop_constraint(name, type_="foreignkey")
            for name, source in renamed.items():
                if name not in rewrites:
                    batch.alter_column(source, new_column_name=name)
            for s in by_kind.get("drop_field", []):
                assert s.field is not None
                batch.drop_column(s.field)
            for name in rewrites:
                batch.drop_column(renamed.get(name) or name)
                batch.alter_column(_TEMP_PREFIX + name, new_column_name=name)
            for s in by_kind.get("add_field", []):
                assert s.field is not None
                f = new.fields[s.field]
                batch.add_column(sa.Column(f.name, column_type(f), nullable=True))
                if f.type == "reference":
                    self.create_fk(batch, new_table, f)
            for name in rewrites:
                if new.fields[name].type == "reference":
                    self.create_fk(batch, new_table, new.fields[name])
            for s in by_kind.get("change_type", []) + by_kind.get("remove_choices", []):
                assert s.field is not None
                if s.field in rewrites or s.kind != "change_type":
                    continue
                before, after = old_field(s.field), new.fields[s.field]
                if storage_signature(before) != storage_signature(after):
                    self.alter_type(batch, s.field, before, after)
                if after.type == "reference" and before.target != after.target:
                    self.drop_fk(batch, existing_fks, s.field)
                    self.create_fk(batch, new_table, after)
            for s in by_kind.get("change_reference", []):
                assert s.field is not None
                self.drop_fk(batch, existing_fks, s.field)
                self.create_fk(batch, new_table, new.fields[s.field])
            for s in by_kind.get("drop_unique", []):
                dropped = existing_uniques.get(frozenset(s.columns))
                if dropped:
                    batch.drop_constraint(dropped, type_="unique")
            # the uniques of a replaced column were dropped with it: the new table's come back
            unique_columns = [s.columns for s in by_kind.get("add_unique", [])]
            for c in new_table.constraints:
                if isinstance(c, sa.UniqueConstraint):
                    names = tuple(col.name for col in c.columns)
                    if set(names) & rewrites.keys() and names not in unique_columns:
                        unique_columns.append(names)
            for together in unique_columns:
                added = self.unique_name(new_table, together)
                assert added is not None, f"{table}{together} is not unique in the compiled table"
                batch.create_unique_constraint(added, list(together))

        existing_indexes = self.reflect_indexes(table)
        for s in by_kind.get("drop_index", []):
            dropped_index = existing_indexes.get(frozenset(s.columns))
            if dropped_index:
                self.ops.drop_index(dropped_index, table_name=table)
        wanted = [s.columns or ((s.field,) if s.field else ()) for s in by_kind.get("add_index", [])]
        wanted += [(s.field,) for s in by_kind.get("add_field", []) if s.field]
        # the indexes of a replaced column were dropped with it: the new table's come back
        wanted += [
            tuple(c.name for c in i.columns) for i in new_table.indexes if {c.name for c in i.columns} & rewrites.keys()
        ]
        for index_columns in wanted:
            index = self.index_name(new_table, index_columns)
            if index is not None and frozenset(index_columns) not in existing_indexes:
                self.ops.create_index(index, table, list(index_columns))
                existing_indexes[frozenset(index_columns)] = index  # a field and its index come once
        for s in by_kind.get("fill_default", []):
            assert s.field is not None
            self.fill_default(table, new.fields[s.field])

    # -- data -----------------------------------------------------------------------------
    def rewrite_into_temp(self, table: str, column: str, before: FieldDef, after: FieldDef) -> None:
        temp = _TEMP_PREFIX + after.name
        self.ops.add_column(table, sa.Column(temp, column_type(after), nullable=True))
        target = sa.table(table, sa.column("id"), sa.column(temp, column_type(after)))
        stmt = target.update().where(target.c.id == sa.bindparam("_id")).values({temp: sa.bindparam("_v")})
        self.progress.start(f"convert {table}.{after.name}", None)
        batch: list[dict[str, Any]] = []
        target_table = after.target if after.type == "reference" else None
        for c in iter_conversions(self.conn, table, column, before, after, target_table=target_table):
            if c.outcome != "lost":
                batch.append({"_id": c.record_id, "_v": c.value})
            if len(batch) >= 5000:
                self.conn.execute(stmt, batch)
                self.progress.advance(len(batch))
                batch = []
        if batch:
            self.conn.execute(stmt, batch)
            self.progress.advance(len(batch))
        self.progress.finish()

    def update_in_place(self, table: str, column: str, before: FieldDef, after: FieldDef) -> None:
        """Empty the values that do not convert and write the changed ones, before the
        column's type is altered (a same-kind change: the old column holds the new values)."""
        target = sa.table(table, sa.column("id"), sa.column(column, column_type(before)))
        stmt = target.update().where(target.c.id == sa.bindparam("_id")).values({column: sa.bindparam("_v")})
        rows = [
            {"_id": c.record_id, "_v": c.value}
            for c in iter_conversions(
                self.conn,
                table,
                column,
                before,
                after,
                target_table=after.target if after.type == "reference" else None,
            )
            if c.outcome != "same"
        ]
        for start in range(0, len(rows), 5000):
            self.conn.execute(stmt, rows[start : start + 5000])

    def fill_default(self, table: str, f: FieldDef) -> None:
        value = field_validator(f).validate({f.name: f.default}, partial=True)[f.name]
        target = sa.table(table, sa.column(f.name, column_type(f)))
        self.conn.execute(target.update().where(target.c[f.name].is_(None)).values({f.name: value}))

    # -- DDL helpers ------------------------------------------------------------------------
    def alter_type(self, batch: Any, name: str, before: FieldDef, after: FieldDef) -> None:
        new_type = column_type(after)
        options: dict[str, Any] = {}
        if not self.sqlite:
            compiled = new_type.compile(dialect=self.conn.dialect)
            options["postgresql_using"] = f'"{name}"::{compiled}'
        batch.alter_column(name, type_=new_type, existing_type=column_type(before), existing_nullable=True, **options)

    def create_fk(self, batch: Any, table: sa.Table, f: FieldDef) -> None:
        for fk in table.foreign_key_constraints:
            if [c.name for c in fk.columns] == [f.name]:
                batch.create_foreign_key(
                    _constraint_name(fk, table),
                    f.target,
                    [f.name],
                    ["id"],
                    ondelete=fk.ondelete,
                )
                return

    def drop_fk(self, batch: Any, existing: dict[str, str], column: str) -> None:
        name = existing.get(column)
        if name:
            batch.drop_constraint(name, type_="foreignkey")

    def unique_name(self, table: sa.Table, columns: tuple[str, ...]) -> str | None:
        for c in table.constraints:
            if isinstance(c, sa.UniqueConstraint) and frozenset(col.name for col in c.columns) == frozenset(columns):
                return _constraint_name(c, table)
        return None

    def index_name(self, table: sa.Table, columns: tuple[str, ...]) -> str | None:
        for index in table.indexes:
            if [c.name for c in index.columns] == list(columns):
                return _constraint_name(index, table)
        return None

    # -- reflection of what is really there (names may predate a rename) -------------------
    def reflect_foreign_keys(self, table: str) -> dict[str, str]:
        inspector = sa.inspect(self.conn)
        return {
            fk["constrained_columns"][0]: name
            for fk in inspector.get_foreign_keys(table)
            if (name := fk.get("name")) and len(fk["constrained_columns"]) == 1
        }

    def reflect_uniques(self, table: str) -> dict[frozenset[str], str]:
        inspector = sa.inspect(self.conn)
        return {
            frozenset(u["column_names"]): name
            for u in inspector.get_unique_constraints(table)
            if (name := u.get("name"))
        }

    def reflect_indexes(self, table: str) -> dict[frozenset[str], str]:
        inspector = sa.inspect(self.conn)
        return {
            frozenset(c for c in i["column_names"] if c): name
            for i in inspector.get_indexes(table)
            if (name := i.get("name")) and not i.get("unique")
        }


def _constraint_name(constraint: Any, table: sa.Table) -> str:
    """The naming-convention name of a constraint, as SQLAlchemy would emit it."""
    name = constraint.name
    if name is None or type(name).__name__ == "_NoneName":
        raise MigrationFailedError(f"a constraint on {table.name} has no name; check NAMING_CONVENTION")
    return str(name)
