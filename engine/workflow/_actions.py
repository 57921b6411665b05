"""Transition actions after the state change: create a record, assign an owner, rescore, notify.

``set`` actions are merged into the state change itself (one audited update, one version).
The others run here in definition order, inside the transition's transaction; hooks that
reach outside (notify, rescore) wait for the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import Problem
from engine.metadata._workflow_model import ActionDef, WorkflowDef
from engine.storage import assignment_cursors, to_jsonable, unit_of
from engine.users import SYSTEM_USER, SystemActor, User

from ._checks import TransitionRefusedError, guard_data
from ._compiled import CompiledAction

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


class ActionRunner:
    def __init__(
        self,
        engine: CrmEngine,
        tx: Connection,
        entity: str,
        workflow: WorkflowDef,
        transition: str,
        user: User,
        now: datetime,
    ) -> None:
        self.engine = engine
        self.tx = tx
        self.entity = entity
        self.workflow = workflow
        self.transition = transition
        self.user = user
        #: what the actions write as: the system, for the user who ran the transition
        self.actor = SystemActor.workflow_action(user.name)
        self.now = now
        self.unit = unit_of(tx)  # plugin hooks and rescoring wait for its commit

    def run(
        self, actions: tuple[CompiledAction, ...], record: dict[str, Any], inputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Run the non-``set`` actions in order; returns the record as they leave it."""
        created: dict[str, dict[str, Any]] = {}
        for action in actions:
            kind = action.definition.kind
            if kind == "set":
                continue
            data = guard_data(record, self.user, inputs, self.now) | {"created": created}
            if kind == "create":
                made = self.create(action, data)
                if action.definition.as_name is not None:
                    created[action.definition.as_name] = made
            elif kind == "update":
                run_update(self.engine, self.tx, self.entity, action, record, data, self.actor)
            elif kind == "transition":
                record = run_transition(self.engine, self.tx, self.entity, action.definition, record, self.now)
            elif kind == "assign":
                record = self.assign(action.definition, record)
            elif kind == "rescore":
                self.rescore(action.definition, record)
            elif kind == "notify":
                self.notify(action, record, data)
        return record

    def run_set(self, actions: tuple[CompiledAction, ...], record: dict[str, Any]) -> dict[str, Any]:
        """Escalation actions: ``set`` values as one update, then the others."""
        data = guard_data(record, self.user, {}, self.now)
        values: dict[str, Any] = {}
        for action in actions:
            if action.definition.kind == "set":
                values.update(action.values.evaluate(data))
        if values:
            record = self.engine.records.update(
                self.entity,
                record["id"],
                {k: to_jsonable(v) for k, v in values.items()},
                actor=self.actor,
                conn=self.tx,
            )
        return self.run(actions, record, {})

    def create(self, action: CompiledAction, data: Mapping[str, Any]) -> dict[str, Any]:
        target = action.definition.entity
        assert target is not None
        values = {k: to_jsonable(v) for k, v in action.values.evaluate(data).items()}
        return dict(self.engine.records.create(target, values, actor=self.actor, conn=self.tx))

    def assign(self, action: ActionDef, record: dict[str, Any]) -> dict[str, Any]:
        finals = [s.name for s in self.workflow.states.values() if s.final]
        rule = f"{self.entity}:{self.workflow.name}:{self.transition}"
        open_when = (self.workflow.field, finals)
        return assign(self.engine, self.tx, self.entity, action, record, (rule, self.transition), self.actor, open_when)

    def rescore(self, action: ActionDef, record: dict[str, Any]) -> None:
        engine, entity, record_id, scorings = self.engine, self.entity, record["id"], list(action.scorings)
        self.unit.after_commit(
            lambda: engine.plugins.hook.crm_rescore(
                engine=engine, entity=entity, record_ids=[record_id], scorings=scorings
            )
        )
        self.unit.after_commit(lambda: engine.scoring.rescore(entity, [record_id], scorings))

    def notify(self, action: CompiledAction, record: dict[str, Any], data: Mapping[str, Any]) -> None:
        topic = action.definition.topic or self.transition
        notify(self.engine, self.tx, self.entity, action, record, data, topic=topic, actor=self.user.name)


def notify(
    engine: CrmEngine,
    tx: Connection,
    entity: str,
    action: CompiledAction,
    record: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    topic: str,
    actor: str,
) -> list[int]:
    """Run a ``notify`` action: a notification for each of its recipients in ``tx`` (their
    title and message computed from ``data``), and the ``crm_notify`` hook after the commit.
    Returns the ids of the notifications written."""
    ids: list[int] = []
    if action.definition.recipients:
        texts = action.texts.evaluate(data)
        ids = engine.notifications.send(
            tx,
            to=action.definition.recipients,
            entity=entity,
            record=record,
            topic=topic,
            title=_text(texts.get("title")),
            message=_text(texts.get("message")),
            actor=actor,
            data=data,
        )
    saved = dict(record)
    unit_of(tx).after_commit(
        lambda: engine.plugins.hook.crm_notify(engine=engine, topic=topic, entity=entity, record=saved, actor=actor)
    )
    return ids


def _text(value: Any) -> str | None:
    """A computed title or message as text (``None`` and empty text: none)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(to_jsonable(value))
    return text or None


def assign(
    engine: CrmEngine,
    tx: Connection,
    entity: str,
    action: ActionDef,
    record: dict[str, Any],
    rule: tuple[str, str],
    actor: SystemActor,
    open_when: tuple[str, list[str]] | None,
) -> dict[str, Any]:
    """Run an ``assign`` action on ``record``; returns the record as it leaves it.

    :param rule: the key the round-robin cursor is kept under, and what assigns (the
        transition or automation) as a refusal names it.
    :param open_when: (state field, final states): ``least_loaded`` counts only the records
        not in a final state; ``None`` counts them all.
    """
    field_name = action.field or "owner"
    role = action.role or ""
    candidates = sorted(u.name for u in engine.users.list(role=role, team=action.team, conn=tx))
    if not candidates:
        where = f" in team {action.team}" if action.team else ""
        raise TransitionRefusedError(
            f"{rule[1]} assigns to a user with role {role}{where}, and there is none",
            [
                Problem(
                    code="no_assignee",
                    message=f"create a user with role {role}{where}",
                    values={"role": role, "team": action.team},
                )
            ],
        )
    if action.strategy == "least_loaded":
        chosen = _least_loaded(engine, tx, entity, field_name, candidates, open_when)
    else:
        chosen = _round_robin(tx, f"{rule[0]}:{role}:{action.team or ''}", candidates)
    if record.get(field_name) == chosen:
        return record
    return engine.records.update(entity, record["id"], {field_name: chosen}, actor=actor, conn=tx)


def _round_robin(tx: Connection, rule: str, candidates: list[str]) -> str:
    rule = rule[:255]
    cursor = tx.execute(sa.select(assignment_cursors.c.last_user).where(assignment_cursors.c.rule == rule)).scalar()
    later = [c for c in candidates if cursor is None or c > cursor]
    chosen = later[0] if later else candidates[0]
    if cursor is None:
        tx.execute(assignment_cursors.insert().values(rule=rule, last_user=chosen))
    else:
        tx.execute(assignment_cursors.update().where(assignment_cursors.c.rule == rule).values(last_user=chosen))
    return chosen


def _least_loaded(
    engine: CrmEngine,
    tx: Connection,
    entity: str,
    field_name: str,
    candidates: list[str],
    open_when: tuple[str, list[str]] | None,
) -> str:
    table = engine.model.table(entity)
    column = table.c[field_name]
    query = sa.select(column, sa.func.count()).where(column.in_(candidates)).group_by(column)
    if open_when is not None and open_when[1]:
        query = query.where(table.c[open_when[0]].not_in(open_when[1]))
    load = {name: 0 for name in candidates}
    for name, count in tx.execute(query):
        load[name] = int(count)
    return min(candidates, key=lambda name: (load[name], name))


def run_update(
    engine: CrmEngine,
    tx: Connection,
    entity: str,
    action: CompiledAction,
    record: Mapping[str, Any],
    data: Mapping[str, Any],
    actor: SystemActor,
) -> int:
    """Run an ``update`` action of a record of ``entity``: on the record its reference
    ``target`` points to, or on its ``children`` for which ``where`` holds. Returns how many
    records it updated (none when the reference is empty)."""
    definition = action.definition
    if definition.children is not None:
        child_entity, reference = definition.children
        table = engine.model.table(child_entity)
        query = sa.select(table).where(table.c[reference] == record["id"]).order_by(table.c.id)
        targets = [dict(row) for row in tx.execute(query).mappings()]
        if action.where is not None:
            targets = [row for row in targets if action.where.evaluate({**data, "child": row})]
        written = child_entity
    else:
        assert definition.target is not None
        target_id = record.get(definition.target)
        if target_id is None:
            return 0
        written = engine.model.entity(entity).fields[definition.target].target or ""
        targets = [engine.records.get(written, target_id, actor=actor, conn=tx)]
    for target in targets:
        values = {k: to_jsonable(v) for k, v in action.values.evaluate({**data, "child": target}).items()}
        changed = {k: v for k, v in values.items() if to_jsonable(target.get(k)) != v}
        if changed:
            engine.records.update(written, target["id"], changed, actor=actor, conn=tx)
    return len(targets)


def run_transition(
    engine: CrmEngine,
    tx: Connection,
    entity: str,
    action: ActionDef,
    record: dict[str, Any],
    now: datetime,
    *,
    by: User = SYSTEM_USER,
) -> dict[str, Any]:
    """Run a ``transition`` action as the system: on ``record`` (returned as the transition
    leaves it), or on the record its reference ``target`` points to (``record`` returned as
    it was). An empty reference runs nothing.

    :param by: who the history names: the system, or an administrator identity of the
        system's such as ``system:automation:NAME``.
    """
    on, record_id = entity, record["id"]
    if action.target is not None:
        record_id = record.get(action.target)
        if record_id is None:
            return record
        on = engine.model.entity(entity).fields[action.target].target or ""
    assert action.transition is not None
    service = engine.workflows
    workflow, _ = service.find_transition(on, action.transition, None)
    moved = service.run_in(
        tx,
        on,
        record_id,
        workflow,
        action.transition,
        user=by,
        inputs={},
        comment=action.comment,
        expected_version=None,
        now=now,
        escalation=True,
    )
    return moved if action.target is None else record
