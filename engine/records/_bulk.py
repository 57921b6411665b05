"""Bulk edit: the same values written over many records, each on its own, with a result per record.

Every record goes through the paths a single edit takes, as the user who asks: the record
service's update (permissions, validation, references, conditions, derived fields, duplicate
rules, audit rows, events, and ``cascade_owner`` when the owner changes) and, for a workflow's
state field, the workflow service (the transition from the record's state to the one asked
for, with its roles, guard, required inputs and actions). A record is never written directly
into another state.

Records are independent: each is written inside its own savepoint of one transaction, so one
record's refusal undoes only that record's writes, and the others are applied. With
``atomic=True`` a single refusal undoes them all (the results still say what each record
would have done). A ``dry_run`` does everything, reports what would change (old → new per
field), and rolls the whole transaction back: nothing is written, no event is published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.clock import utcnow
from engine.errors import CrmError, Problem, UsageError
from engine.metadata import EntityDef, TransitionDef, WorkflowDef
from engine.storage import to_jsonable, unit_of
from engine.users import SystemActor

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from engine.runtime import CrmEngine
    from engine.users import User

#: The most records one bulk edit may name.
MAX_BULK = 500
#: Ids are 64-bit integers: anything larger names no record.
_MAX_ID = 2**63
#: Columns the engine keeps itself: never reported as a change.
_KEPT = frozenset({"id", "version", "updated_at", "created_at", "created_by"})


class BulkTooLargeError(UsageError):
    """A bulk edit names more records than :data:`MAX_BULK`."""

    code = "batch_too_large"
    http_status = 413


class NoTransitionError(CrmError):
    """No single transition leads from a record's state to the state a bulk edit asks for."""

    code = "transition_refused"
    http_status = 409


@dataclass(frozen=True)
class FieldChange:
    """One field of one record: its value before the edit and after it."""

    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": to_jsonable(self.old), "new": to_jsonable(self.new)}


@dataclass(frozen=True)
class BulkResult:
    """What happened to one record (or would happen, in a dry run)."""

    id: int
    ok: bool
    version: int | None
    changes: tuple[FieldChange, ...] = ()
    error: CrmError | None = None
    #: The record after the edit (before it when refused), as the user may see it.
    record: Mapping[str, Any] | None = None
    #: The last transition run (or refused) to reach a state asked for.
    transition: str | None = None

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every reason of a refusal, each naming its field when it has one."""
        if self.error is None:
            return ()
        return self.error.problems or (Problem(code=self.error.code, message=self.error.message),)

    def to_json(self, problems: Iterable[Problem] | None = None) -> dict[str, Any]:
        """The result as the API answers it (``problems``: the refusal's, as said to the user)."""
        out: dict[str, Any] = {"id": self.id, "ok": self.ok, "version": self.version}
        out["changes"] = [c.to_json() for c in self.changes]
        if self.error is not None:
            out["code"] = self.error.code
            out["errors"] = [_problem_json(p) for p in (self.problems if problems is None else problems)]
        else:
            out["errors"] = []
        return out


@dataclass(frozen=True)
class BulkOutcome:
    """Every record's result, in the order the ids were given."""

    results: tuple[BulkResult, ...]
    dry_run: bool
    atomic: bool
    #: Whether the changes were written (not in a dry run, nor when ``atomic`` and refused).
    applied: bool

    @property
    def updated(self) -> int:
        """Records whose edit was (or in a dry run would be) accepted."""
        return sum(1 for r in self.results if r.ok)

    @property
    def refused(self) -> int:
        return sum(1 for r in self.results if not r.ok)


class _RollBack(Exception):
    """Leaves the transaction of a dry run (or of a refused atomic edit) without committing."""


def bulk_update(
    engine: CrmEngine,
    entity: str,
    ids: Iterable[Any],
    values: Mapping[str, Any],
    *,
    actor: User,
    versions: Mapping[int, int] | None = None,
    inputs: Mapping[str, Any] | None = None,
    comment: str | None = None,
    dry_run: bool = False,
    atomic: bool = False,
) -> BulkOutcome:
    """Write ``values`` over each record of ``ids`` as ``actor``; one result per record.

    A workflow's state field in ``values`` runs, per record, the one transition from the
    record's state to that state (``inputs`` and ``comment`` are its inputs and comment);
    the other fields are written first (so a guard may rely on them). ``versions`` maps ids
    to the version the caller read (a record changed since is refused as stale).

    Raises, for the request as a whole: :class:`~engine.errors.PermissionDeniedError` when
    ``actor`` may not update the entity or write one of the fields,
    :class:`~engine.errors.UsageError` for unknown fields or bad ids, and
    :class:`BulkTooLargeError` past :data:`MAX_BULK` records.
    """
    model = engine.model
    definition = model.entity(entity)
    chosen = _checked_ids(ids)
    values = _checked_values(definition, values)
    states = _checked_states(model.definitions.workflows_for(entity), values)
    fields = {k: v for k, v in values.items() if k not in states}
    permissions = engine.permissions
    permissions.require(actor, entity, "update")
    permissions.check_writable(actor, entity, list(fields))
    if states:
        permissions.check_writable(actor, entity, [n for n in states if n in permissions.hidden_fields(actor, entity)])
    results: list[BulkResult] = []
    applied = False
    try:
        with engine.db.write() as tx:
            for record_id in chosen:
                expected = (versions or {}).get(record_id)
                results.append(
                    _one(engine, tx, definition, record_id, fields, states, actor, expected, inputs, comment)
                )
            if dry_run or (atomic and any(not r.ok for r in results)):
                raise _RollBack
            applied = True
    except _RollBack:
        pass
    return BulkOutcome(tuple(results), dry_run=dry_run, atomic=atomic, applied=applied)


def _one(
    engine: CrmEngine,
    tx: Connection,
    definition: EntityDef,
    record_id: int,
    fields: Mapping[str, Any],
    states: Mapping[str, tuple[WorkflowDef, str]],
    actor: User,
    expected: int | None,
    inputs: Mapping[str, Any] | None,
    comment: str | None,
) -> BulkResult:
    """One record's edit inside its own savepoint: written, or undone with the reasons."""
    entity = definition.name
    records = engine.records
    before: Mapping[str, Any] | None = None
    name: str | None = None
    try:
        with unit_of(tx).savepoint():
            # read once as stored, the user's read scope checked (NotFoundError as on its page);
            # the update takes it as its ``current`` rather than reading the record again
            stored = records.get(entity, record_id, actor=SystemActor("bulk edit", actor.name), conn=tx)
            engine.permissions.check_record(actor, entity, stored)
            before = engine.permissions.visible(actor, entity, stored)
            after: Mapping[str, Any] = before
            if fields:
                after = records.update(
                    entity, record_id, fields, actor=actor, expected_version=expected, conn=tx, current=stored
                )
                expected = None  # checked: the transition follows this very write
            for field, (workflow, target) in states.items():
                if after.get(field) == target:
                    continue
                name = transition_to(workflow, after.get(field), target)
                moved = engine.workflows.run_in(
                    tx,
                    entity,
                    record_id,
                    workflow,
                    name,
                    user=actor,
                    inputs=inputs or {},
                    comment=comment,
                    expected_version=expected,
                    now=utcnow(),
                )
                after = engine.permissions.visible(actor, entity, moved)
                expected = None
    except CrmError as error:
        version = before["version"] if before else None
        return BulkResult(record_id, False, version, error=error, record=before, transition=name)
    assert before is not None
    return BulkResult(record_id, True, after["version"], _changes(before, after), record=after, transition=name)


def transition_to(workflow: WorkflowDef, state: Any, target: str) -> str:
    """The one transition of ``workflow`` from ``state`` to ``target``; refused when none or
    several lead there (a bulk edit names a state, not a transition)."""
    found = [t.name for t in workflow.transitions.values() if _leads(t, state, target)]
    if len(found) == 1:
        return found[0]
    if not found:
        message = f"no transition of {workflow.name} leads from {state} to {target}"
        raise NoTransitionError(message, [Problem(code="no_transition", field=workflow.field, message=message)])
    message = (
        f"several transitions of {workflow.name} lead from {state} to {target} ({', '.join(found)}); "
        "run the one you mean on the record itself"
    )
    raise NoTransitionError(message, [Problem(code="ambiguous_transition", field=workflow.field, message=message)])


def _leads(transition: TransitionDef, state: Any, target: str) -> bool:
    return transition.to_state == target and ("*" in transition.from_states or state in transition.from_states)


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The fields whose value differs, in the record's order (the engine's own columns left out)."""
    return tuple(FieldChange(k, before.get(k), v) for k, v in after.items() if k not in _KEPT and before.get(k) != v)


def _checked_ids(ids: Iterable[Any]) -> list[int]:
    """The record ids, each once and in order; a clear refusal for anything else."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise UsageError(
            "ids must be a list of record ids like [1, 2, 3]",
            [Problem(code="type", pointer="/ids", message="expected a list of record ids")],
        )
    listed = list(ids)
    if not listed:
        raise UsageError(
            "ids is empty: name the records to change",
            [Problem(code="required", pointer="/ids", message="name at least one record")],
        )
    if len(listed) > MAX_BULK:
        raise BulkTooLargeError(
            f"{len(listed)} records in one bulk edit; at most {MAX_BULK} at a time: split the ids into batches",
            [Problem(code="batch_too_large", pointer="/ids", message=f"at most {MAX_BULK} records")],
        )
    bad = [
        Problem(code="type", pointer=f"/ids/{i}", message="expected a record id (a positive whole number)")
        for i, v in enumerate(listed)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < _MAX_ID
    ]
    if bad:
        raise UsageError("ids must be record ids (positive whole numbers)", bad)
    return list(dict.fromkeys(listed))


def _checked_values(definition: EntityDef, values: Any) -> Mapping[str, Any]:
    """The values, every field among the entity's (one problem per unknown one)."""
    if not isinstance(values, Mapping) or not values:
        raise UsageError(
            'values must be a JSON object of the fields to set, like {"owner": "rita"}',
            [Problem(code="type", pointer="/values", message="expected an object with at least one field")],
        )
    unknown = [k for k in values if k not in definition.fields and k != "owner"]
    if unknown:
        raise UsageError(
            f"{definition.name} has no field {', '.join(unknown)}",
            [
                Problem(
                    code="unknown_field",
                    field=k,
                    pointer=f"/values/{k.replace('~', '~0').replace('/', '~1')}",
                    message=f"{definition.name} has no field {k}",
                )
                for k in unknown
            ],
        )
    fixed = [f.name for f in definition.fields.values() if f.name in values and (f.read_only or f.derived)]
    if fixed:
        raise UsageError(
            f"{', '.join(fixed)} of {definition.name} cannot be set by an edit (read-only or computed)",
            [
                Problem(code="read_only", field=k, pointer=f"/values/{k}", message=f"{k} is not set by edits")
                for k in fixed
            ],
        )
    return values


def _checked_states(workflows: Iterable[WorkflowDef], values: Mapping[str, Any]) -> dict[str, tuple[WorkflowDef, str]]:
    """State field → its workflow and the state asked for, which must be one of its states."""
    out: dict[str, tuple[WorkflowDef, str]] = {}
    for w in workflows:
        if w.field not in values:
            continue
        target = values[w.field]
        if not isinstance(target, str) or target not in w.states:
            raise UsageError(
                f"{w.field} takes a state of workflow {w.name}: {', '.join(w.states)}",
                [
                    Problem(
                        code="invalid_choice",
                        field=w.field,
                        pointer=f"/values/{w.field}",
                        message=f"expected one of {', '.join(w.states)}",
                    )
                ],
            )
        out[w.field] = (w, target)
    return out


def _problem_json(problem: Problem) -> dict[str, Any]:
    out: dict[str, Any] = {"field": problem.field, "code": problem.code, "message": problem.message}
    return out
