"""The checks a record passes before it is written, beyond its own values (which the
compiled validator checks): workflow-driven and read-only fields, references to existing
records, unique values. Each raises with one problem per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import ConflictError, Problem, RecordValidationError, ReferenceIntegrityError
from engine.metadata import EntityDef

if TYPE_CHECKING:
    from engine.runtime import CompiledModel


def check_workflow_fields(
    model: CompiledModel,
    definition: EntityDef,
    current: Mapping[str, Any],
    changed: Mapping[str, Any],
    via_workflow: bool,
    allow_read_only: bool,
) -> None:
    """Workflow-driven fields change only through transitions; a state's read-only fields not at all."""
    problems = []
    for w in model.definitions.workflows_for(definition.name):
        if w.field in changed and not via_workflow:
            names = ", ".join(t for t, d in w.transitions.items() if current.get(w.field) in d.from_states)
            problems.append(
                Problem(
                    code="workflow_field",
                    field=w.field,
                    message=f"{w.field} changes only through workflow {w.name}'s transitions"
                    + (f" (from {current.get(w.field)}: {names})" if names else ""),
                )
            )
        state = w.states.get(current.get(w.field) or "")
        if state is not None and not allow_read_only:
            for name in state.read_only:
                if name in changed:
                    problems.append(
                        Problem(
                            code="read_only_in_state",
                            field=name,
                            message=f"{name} cannot change while the record is {state.name}",
                        )
                    )
    if problems:
        raise RecordValidationError(problems)


def check_references(model: CompiledModel, tx: Connection, definition: EntityDef, values: Mapping[str, Any]) -> None:
    """Every reference in ``values`` names an existing record of its target."""
    problems = []
    for f in definition.references():
        value = values.get(f.name)
        if value is None or f.target is None:
            continue
        target = model.table(f.target)
        if tx.execute(sa.select(target.c.id).where(target.c.id == value)).first() is None:
            problems.append(
                Problem(
                    code="unknown_reference",
                    field=f.name,
                    message=f"{f.target} {value} does not exist; pick an existing {f.target} id",
                )
            )
    if problems:
        raise ReferenceIntegrityError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)


def unique_conflicts(
    tx: Connection,
    definition: EntityDef,
    table: sa.Table,
    values: Mapping[str, Any],
    own_id: int | None,
    only: set[str] | None = None,
) -> list[Problem]:
    """One problem per unique value (single field or group) of ``values`` another record holds."""
    groups = [(f.name,) for f in definition.fields.values() if f.unique] + list(definition.unique)
    problems = []
    for cols in groups:
        if only is not None and not set(cols) & only:
            continue
        if any(values.get(c) is None for c in cols):
            continue
        query = sa.select(table.c.id).where(*(table.c[c] == values[c] for c in cols))
        if own_id is not None:
            query = query.where(table.c.id != own_id)
        other = tx.execute(query.limit(1)).scalar()
        if other is not None:
            shown = " + ".join(f'{c} "{values[c]}"' for c in cols)
            problems.append(
                Problem(
                    code="unique",
                    field=cols[0],
                    message=f"{definition.name} {other} already has {shown}; values must be unique",
                )
            )
    return problems


def check_unique(
    tx: Connection,
    definition: EntityDef,
    table: sa.Table,
    values: Mapping[str, Any],
    own_id: int | None,
    only: set[str] | None = None,
) -> None:
    """No other record holds the unique values (single fields and groups) of ``values``."""
    problems = unique_conflicts(tx, definition, table, values, own_id, only)
    if problems:
        raise ConflictError("; ".join(f"{p.field}: {p.message}" for p in problems), problems)


def integrity_reason(exc: sa.exc.IntegrityError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
    return f"a database constraint refused it ({text})"
