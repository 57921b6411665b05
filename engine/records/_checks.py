"""The checks a record passes before it is written, beyond its own values (which the
compiled validator checks): workflow-driven and read-only fields, references to existing
records the user may read, owners that are active users, unique values.

The first three return their problems (one per field), so that the service reports every
problem of a request at once; unique values, checked last, raise a conflict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from engine.compile import record_problem
from engine.errors import ConflictError, Problem
from engine.metadata import EntityDef
from engine.storage import users
from engine.users import SYSTEM_USER, Actor, SystemActor

if TYPE_CHECKING:
    from engine.runtime import CompiledModel


#: The read scope of a user on an entity's table: a condition, ``None`` for every record.
ReadScope = Callable[[str, sa.Table], "ColumnElement[bool] | None"]


def workflow_field_problems(
    model: CompiledModel,
    definition: EntityDef,
    current: Mapping[str, Any],
    changed: Mapping[str, Any],
    actor: Actor,
) -> list[Problem]:
    """Workflow-driven fields change only through transitions (an actor that
    :attr:`~engine.users.SystemActor.writes_workflow_fields`); a state's read-only fields not
    at all (but for an actor that :attr:`~engine.users.SystemActor.writes_read_only`)."""
    problems = []
    system = actor if isinstance(actor, SystemActor) else None
    writes_workflow_fields = system is not None and system.writes_workflow_fields
    writes_read_only = system is not None and system.writes_read_only
    for w in model.definitions.workflows_for(definition.name):
        if w.field in changed and not writes_workflow_fields:
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
        if state is not None and not writes_read_only:
            for name in state.read_only:
                if name in changed:
                    problems.append(
                        Problem(
                            code="read_only_in_state",
                            field=name,
                            message=f"{name} cannot change while the record is {state.name}",
                        )
                    )
    return problems


def reference_problems(
    model: CompiledModel,
    tx: Connection,
    definition: EntityDef,
    values: Mapping[str, Any],
    read_scope: ReadScope | None = None,
) -> list[Problem]:
    """Every reference in ``values`` names an existing record of its target that the user
    may read (``read_scope``; ``None``: the system, every record). A record outside the
    user's scope is refused exactly like a missing one, so the answer reveals nothing."""
    problems = []
    for f in definition.references():
        value = values.get(f.name)
        if value is None or f.target is None:
            continue
        target = model.table(f.target)
        query = sa.select(target.c.id).where(target.c.id == value)
        scope = None if read_scope is None else read_scope(f.target, target)
        if scope is not None:
            query = query.where(scope)
        if tx.execute(query).first() is None:
            problems.append(
                Problem(
                    code="unknown_reference",
                    field=f.name,
                    message=f"{f.target} {value} does not exist; pick an existing {f.target} id",
                )
            )
    return problems


def unknown_owners(tx: Connection, names: set[str]) -> set[str]:
    """The names among ``names`` that are not active users (the built-in ``system`` is one)."""
    wanted = sorted(names - {SYSTEM_USER.name})
    found: set[str] = set()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        query = sa.select(users.c.name).where(users.c.name.in_(chunk), users.c.active.is_(True))
        found.update(row[0] for row in tx.execute(query))
    return set(wanted) - found


def owner_problems(tx: Connection, definition: EntityDef, values: Mapping[str, Any]) -> list[Problem]:
    """An ``owner`` given in ``values`` must be an existing, active user."""
    owner = values.get("owner")
    if owner is None or not unknown_owners(tx, {owner}):
        return []
    return [record_problem(definition, "owner", "unknown_owner")]


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
