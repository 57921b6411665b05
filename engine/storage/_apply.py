"""Carry out a migration plan with Alembic operations, in one transaction.

Alembic's ``Operations`` run the DDL; on SQLite every table change goes through its batch
mode (copy into a new table, swap), which Alembic also makes a no-op wrapper on
PostgreSQL. Each planned operation schedules its own work (:mod:`._operations`) and
:class:`SchemaChange` runs it in order. Everything, DDL, data and the new stored version,
commits together or not at all.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.errors import ConflictError, CrmError, DataLossError, Problem
from engine.metadata import Definitions
from engine.progress import NO_PROGRESS, Progress

from ._database import Database
from ._operations import Operation, RenameEntity
from ._plan import MigrationPlan, plan_migration
from ._schema_change import MigrationFailedError, SchemaChange
from ._state import current_version, load_stored, store
from ._upgrade import keep_ids_used, refuse_unstorable, upgrade_tables, used_ids


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


def _pointer(step: Operation) -> str:
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
            change = SchemaChange(conn, plan.old, plan.new, progress)
            for step in plan.steps:
                step.apply(change)
            change.run()
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
    return {s.previous: s.entity for s in plan.steps if isinstance(s, RenameEntity)}
