"""Running transitions: one transaction for checks, the state change, actions and history.

A record's state field changes only here. The transaction: read the record (a stale
``expected_version`` is a conflict), collect every refusal (state, role, separation of
duties, inputs, guard, required fields of the target state), then write the state and
the ``set`` actions as one audited update guarded by the version (so of several racing
attempts exactly one wins), the history row, and the other actions in order. Any failure
rolls back all of it. Plugins hear about it (``crm_transition``) after the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, PermissionDeniedError, Problem, UnknownNameError, UsageError
from engine.metadata._workflow_model import TransitionDef, WorkflowDef
from engine.storage import (
    RECORD_TRANSITIONED,
    DomainEvent,
    RowInserter,
    to_jsonable,
    unit_of,
    workflow_history,
    workflow_history_row,
    written_since_deletion,
)
from engine.suggestions import did_you_mean
from engine.users import Actor, SystemActor, User

from ._actions import ActionRunner
from ._checks import TransitionCheck, TransitionRefusedError, guard_data, input_validator, refusals
from ._compiled import CompiledWorkflow
from ._views import WorkflowView

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

_HISTORY = RowInserter(workflow_history)


class AmbiguousTransitionError(UsageError):
    """A transition name found in several workflows of one entity, and no workflow named."""

    code = "ambiguous_transition"
    http_status = 422

    def __init__(self, entity: str, transition: str, workflows: tuple[str, ...]) -> None:
        names = ", ".join(workflows)
        super().__init__(
            f'transition "{transition}" exists in several workflows of {entity} ({names}); name the workflow',
            [
                Problem(code="ambiguous_transition", field="workflow", message=f'"{transition}" of workflow {w}')
                for w in workflows
            ],
        )
        self.workflows = workflows


class UnknownTransitionError(UnknownNameError):
    """No workflow of the entity has a transition of that name."""

    def __init__(self, entity: str, transition: str, known: tuple[str, ...]) -> None:
        names = sorted(known)
        if names:
            hint = did_you_mean(transition, names, otherwise=f" Known: {', '.join(names)}.")
        else:
            hint = f" {entity} has no workflow."
        super().__init__(
            f'{entity} has no transition "{transition}".{hint}',
            [Problem(code="unknown_transition", field="transition", message=f'there is no transition "{transition}"')],
        )


class UnknownWorkflowError(UsageError):
    """A workflow named to disambiguate a transition that does not have that transition."""

    code = "unknown_workflow"

    def __init__(self, entity: str, transition: str, workflow: str, having: tuple[str, ...]) -> None:
        names = ", ".join(having)
        super().__init__(
            f'{entity} has no workflow "{workflow}" with the transition "{transition}"; it is in {names}',
            [Problem(code="unknown_workflow", field="workflow", message=f"use one of {names}")],
        )
        self.workflows = having


class WorkflowService:
    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._compiled: dict[tuple[int, str], CompiledWorkflow] = {}
        self._lock = threading.Lock()

    # -- definitions -------------------------------------------------------------------
    def workflows(self, entity: str) -> tuple[WorkflowDef, ...]:
        self._engine.model.entity(entity)
        return self._engine.model.definitions.workflows_for(entity)

    def views(self, entity: str, actor: Actor) -> tuple[WorkflowView, ...]:
        """The workflows of ``entity`` as ``actor`` may see them (hidden fields and the guards
        that read them left out); every field for the system."""
        hidden = self._engine.permissions.hidden_fields(actor, entity)
        return tuple(WorkflowView.of(self.compiled(w), hidden) for w in self.workflows(entity))

    def compiled(self, workflow: WorkflowDef) -> CompiledWorkflow:
        key = (self._engine.version, workflow.name)
        found = self._compiled.get(key)
        if found is None:
            with self._lock:
                found = self._compiled.setdefault(key, CompiledWorkflow.build(workflow))
        return found

    def find_transition(self, entity: str, name: str, workflow: str | None = None) -> tuple[WorkflowDef, TransitionDef]:
        """The transition ``name`` of one of the entity's workflows, and that workflow: the one
        decision every edge asks for.

        :param workflow: the workflow meant, needed when several have a transition ``name``.
        :raises UnknownTransitionError: no workflow of the entity has it (with a suggestion).
        :raises UnknownWorkflowError: ``workflow`` is not one of those that have it.
        :raises AmbiguousTransitionError: several have it and ``workflow`` is not given.
        """
        workflows = self.workflows(entity)
        having = tuple(w for w in workflows if name in w.transitions)
        if not having:
            raise UnknownTransitionError(entity, name, tuple({t for w in workflows for t in w.transitions}))
        if workflow is not None:
            chosen = [w for w in having if w.name == workflow]
            if not chosen:
                raise UnknownWorkflowError(entity, name, workflow, tuple(w.name for w in having))
            having = tuple(chosen)
        if len(having) > 1:
            raise AmbiguousTransitionError(entity, name, tuple(w.name for w in having))
        return having[0], having[0].transitions[name]

    # -- asking --------------------------------------------------------------------------
    def check(self, entity: str, record_id: int, user: User, *, now: datetime | None = None) -> list[TransitionCheck]:
        """Every transition of the entity's workflows with whether ``user`` may run it now, and why not.

        A record the user may not see is not found (a transition's own ``roles`` decide who
        runs it on the records they see).
        """
        now = now or utcnow()
        self._engine.records.get(entity, record_id, actor=user)
        record = self._engine.records.get(entity, record_id, actor=SystemActor.workflow(user.name))
        try:
            self._engine.permissions.check_record(user, entity, record, "transition")
        except PermissionDeniedError:
            return []  # read through a related record or the pool: nothing to run
        hidden = self._engine.permissions.hidden_fields(user, entity)
        out = []
        for workflow in self.workflows(entity):
            compiled = self.compiled(workflow)
            for name, ct in compiled.transitions.items():
                prospective = {**record, **self._set_values(ct, record, user, {}, now)}
                reasons = refusals(workflow, ct, record, user, None, prospective, now, hidden=hidden)
                t = ct.definition
                out.append(
                    TransitionCheck(workflow.name, name, t.label, t.from_states, t.to_state, tuple(reasons), t.inputs)
                )
        return out

    # -- doing ----------------------------------------------------------------------------
    def run(
        self,
        entity: str,
        record_id: int,
        transition: str,
        *,
        user: User,
        inputs: Mapping[str, Any] | None = None,
        comment: str | None = None,
        expected_version: int | None = None,
        workflow: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Run ``transition`` on a record as ``user``; returns the record after it (without
        the fields hidden from ``user``). The record must be in the user's read scope (else it
        is not found); the transition's ``roles`` decide the rest, and actions may set any field.

        Raises :class:`TransitionRefusedError` with every reason, :class:`ConflictError`
        when the record changed (stale ``expected_version`` or a concurrent transition).
        """
        definition, _t = self.find_transition(entity, transition, workflow)
        with self._engine.db.write() as tx:
            record = self.run_in(
                tx,
                entity,
                record_id,
                definition,
                transition,
                user=user,
                inputs=inputs or {},
                comment=comment,
                expected_version=expected_version,
                now=now or utcnow(),
            )
        return self._engine.permissions.visible(user, entity, record)

    def run_in(
        self,
        tx: Connection,
        entity: str,
        record_id: int,
        workflow: WorkflowDef,
        transition: str,
        *,
        user: User,
        inputs: Mapping[str, Any],
        comment: str | None,
        expected_version: int | None,
        now: datetime,
        escalation: bool = False,
    ) -> dict[str, Any]:
        """The transition inside the caller's transaction (escalations use it too)."""
        records = self._engine.records
        compiled = self.compiled(workflow)
        ct = compiled.transitions[transition]
        t = ct.definition
        moving = SystemActor.workflow(user.name)
        record = records.get(entity, record_id, actor=moving, conn=tx)
        if not escalation:
            self._engine.permissions.check_record(user, entity, record, "transition")
        if expected_version is not None and record["version"] != expected_version:
            raise ConflictError(
                f"{entity} {record_id} changed since you read it (version {record['version']}, you had "
                f"{expected_version}); reload it and decide again",
                [Problem(code="stale_version", field="version", message="the record has a newer version")],
            )
        typed_inputs = dict(inputs)
        if t.inputs:
            checked, _problems = input_validator(t).check(dict(inputs), partial=False)
            if checked is not None:
                typed_inputs = checked
        set_values = self._set_values(ct, record, user, typed_inputs, now)
        prospective = {**record, **set_values}
        hidden = frozenset() if escalation else self._engine.permissions.hidden_fields(user, entity)
        reasons = refusals(workflow, ct, record, user, inputs, prospective, now, escalation=escalation, hidden=hidden)
        if reasons:
            raise TransitionRefusedError(
                f"{transition} is not possible on {entity} {record_id}: " + "; ".join(r.message for r in reasons),
                [Problem(code=r.code, message=r.message, field=",".join(r.fields) or None) for r in reasons],
            )
        from_state = record[workflow.field]
        changes = {**{k: to_jsonable(v) for k, v in set_values.items()}, workflow.field: t.to_state}
        updated = records.update(
            entity,
            record_id,
            changes,
            expected_version=record["version"],
            actor=moving,
            conn=tx,
            current=record,
        )
        _HISTORY.insert(
            tx,
            [
                workflow_history_row(
                    entity=entity,
                    record_id=record_id,
                    workflow=workflow.name,
                    transition=transition,
                    from_state=from_state,
                    to_state=t.to_state,
                    actor=user.name,
                    at=now,
                    inputs=to_jsonable(typed_inputs) or None,
                    comment=comment,
                )
            ],
        )
        runner = ActionRunner(self._engine, tx, entity, workflow, transition, user, now)
        updated = runner.run(ct.actions, updated, typed_inputs)
        moved = (from_state, t.to_state)
        self._transitioned(tx, entity, workflow, transition, moved, user, typed_inputs, comment, now, updated)
        return updated

    def _transitioned(
        self,
        tx: Connection,
        entity: str,
        workflow: WorkflowDef,
        transition: str,
        moved: tuple[str | None, str],
        user: User,
        inputs: Mapping[str, Any],
        comment: str | None,
        now: datetime,
        record: dict[str, Any],
    ) -> None:
        """The ``record.transitioned`` event of the unit of work, and ``crm_transition`` after its commit."""
        engine = self._engine
        unit = unit_of(tx)
        from_state, to_state = moved
        payload = {
            "workflow": workflow.name,
            "transition": transition,
            "from_state": from_state,
            "to_state": to_state,
            "inputs": to_jsonable(inputs),
            "comment": comment,
        }
        version = engine.model.version
        unit.emit(
            DomainEvent(RECORD_TRANSITIONED, entity, record["id"], user.name, payload, now, version, record=record)
        )

        def heard() -> None:
            hook = engine.plugins.hook.crm_transition
            if hook.get_hookimpls():  # asked at the commit: no plugin listening, no call
                hook(
                    engine=engine,
                    entity=entity,
                    record=record,
                    workflow=workflow.name,
                    transition=transition,
                    from_state=from_state,
                    to_state=to_state,
                    actor=user.name,
                    inputs=dict(inputs),
                )

        unit.after_commit(heard)

    def _set_values(
        self, ct: Any, record: Mapping[str, Any], user: User, inputs: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        data = guard_data(record, user, inputs, now)
        out: dict[str, Any] = {}
        for action in ct.actions:
            if action.definition.kind == "set":
                out.update(action.values.evaluate(data))
        return out

    # -- reading ---------------------------------------------------------------------------
    def history(self, entity: str, record_id: int, *, actor: Actor) -> list[dict[str, Any]]:
        """Every state change of the record, oldest first (for a user: a record they may
        see, without the workflows whose field is hidden from them)."""
        self._engine.records.get(entity, record_id, actor=actor)
        query = (
            sa.select(workflow_history)
            .where(
                workflow_history.c.entity == entity,
                workflow_history.c.record_id == int(record_id),
                written_since_deletion(workflow_history.c.at, entity, int(record_id)),
            )
            .order_by(workflow_history.c.id)
        )
        hidden = self._engine.permissions.hidden_fields(actor, entity)
        if hidden:
            shown = [w.name for w in self.workflows(entity) if w.field not in hidden]
            query = query.where(workflow_history.c.workflow.in_(shown))
        with self._engine.db.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def record_creation(
        self, tx: Connection, entity: str, record: Mapping[str, Any], actor: str | None, now: datetime
    ) -> None:
        """History rows for a new record entering its workflows' initial states."""
        rows = [
            workflow_history_row(
                entity=entity, record_id=record["id"], workflow=w.name, to_state=record[w.field], actor=actor, at=now
            )
            for w in self._engine.model.definitions.workflows_for(entity)
        ]
        if rows:
            _HISTORY.insert(tx, rows)
