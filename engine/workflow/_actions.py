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
from engine.users import SystemActor, User

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
        for action in actions:
            kind = action.definition.kind
            if kind == "set":
                continue
            data = guard_data(record, self.user, inputs, self.now)
            if kind == "create":
                self.create(action, data)
            elif kind == "assign":
                record = self.assign(action.definition, record)
            elif kind == "rescore":
                self.rescore(action.definition, record)
            elif kind == "notify":
                self.notify(action.definition, record)
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

    def create(self, action: CompiledAction, data: Mapping[str, Any]) -> None:
        target = action.definition.entity
        assert target is not None
        values = {k: to_jsonable(v) for k, v in action.values.evaluate(data).items()}
        self.engine.records.create(target, values, actor=self.actor, conn=self.tx)

    def assign(self, action: ActionDef, record: dict[str, Any]) -> dict[str, Any]:
        field_name = action.field or "owner"
        role = action.role or ""
        candidates = sorted(u.name for u in self.engine.users.list(role=role, team=action.team))
        if not candidates:
            where = f" in team {action.team}" if action.team else ""
            raise TransitionRefusedError(
                f"{self.transition} assigns to a user with role {role}{where}, and there is none",
                [Problem(code="no_assignee", message=f"create a user with role {role}{where}")],
            )
        if action.strategy == "least_loaded":
            chosen = self._least_loaded(field_name, candidates)
        else:
            chosen = self._round_robin(
                f"{self.entity}:{self.workflow.name}:{self.transition}:{role}:{action.team or ''}", candidates
            )
        if record.get(field_name) == chosen:
            return record
        return self.engine.records.update(
            self.entity, record["id"], {field_name: chosen}, actor=self.actor, conn=self.tx
        )

    def _round_robin(self, rule: str, candidates: list[str]) -> str:
        rule = rule[:255]
        cursor = self.tx.execute(
            sa.select(assignment_cursors.c.last_user).where(assignment_cursors.c.rule == rule)
        ).scalar()
        later = [c for c in candidates if cursor is None or c > cursor]
        chosen = later[0] if later else candidates[0]
        if cursor is None:
            self.tx.execute(assignment_cursors.insert().values(rule=rule, last_user=chosen))
        else:
            self.tx.execute(
                assignment_cursors.update().where(assignment_cursors.c.rule == rule).values(last_user=chosen)
            )
        return chosen

    def _least_loaded(self, field_name: str, candidates: list[str]) -> str:
        table = self.engine.model.table(self.entity)
        column = table.c[field_name]
        finals = [s.name for s in self.workflow.states.values() if s.final]
        query = sa.select(column, sa.func.count()).where(column.in_(candidates)).group_by(column)
        if finals:
            query = query.where(table.c[self.workflow.field].not_in(finals))
        load = {name: 0 for name in candidates}
        for name, count in self.tx.execute(query):
            load[name] = int(count)
        return min(candidates, key=lambda name: (load[name], name))

    def rescore(self, action: ActionDef, record: dict[str, Any]) -> None:
        engine, entity, record_id, scorings = self.engine, self.entity, record["id"], list(action.scorings)
        self.unit.after_commit(
            lambda: engine.plugins.hook.crm_rescore(
                engine=engine, entity=entity, record_ids=[record_id], scorings=scorings
            )
        )
        self.unit.after_commit(lambda: engine.scoring.rescore(entity, [record_id], scorings))

    def notify(self, action: ActionDef, record: dict[str, Any]) -> None:
        engine, entity, actor, topic = self.engine, self.entity, self.user.name, action.topic or self.transition
        self.unit.after_commit(
            lambda: engine.plugins.hook.crm_notify(
                engine=engine, topic=topic, entity=entity, record=record, actor=actor
            )
        )
