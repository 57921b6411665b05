"""Workflow records with a history that could have happened.

Each record starts in the initial state when it is created and walks along transitions:
forward with a funnel's odds (each next stage reached by about 60%), lost or rejected at
each stage, back to an earlier state after a rejection now and then, or it stays where it is.
Time passes in every state (hours for approvals, days to weeks for sales stages); the walk
stops at ``now``. A transition is taken only when the engine would allow it: the actor holds
one of its roles (and is not the creator under separation of duties), the guard holds, and
the target state's required fields have values (filled as a user would before moving on).
Its ``set`` actions, assignments and created records are applied as the engine applies them,
and one history row is written per state change, the creation row first.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from engine.logic import LogicError
from engine.metadata import WorkflowDef
from engine.metadata._workflow_model import InputDef, StateDef
from engine.storage import to_jsonable
from engine.users import SYSTEM_USER
from engine.workflow import WorkflowService

from . import _vocabulary as v
from ._team import Team

StepKind = Literal["forward", "negative", "backward", "escalate"]
_EMPTY = (None, "", [])
_NEGATIVE = ("lost", "lose", "reject", "cancel", "void", "fail", "decline", "churn", "disqualif", "dead",
             "refuse", "abandon", "close_lost", "withdraw", "terminate", "invalid", "deny", "denied")
_APPROVAL = ("approv", "review", "submit", "audit", "sign", "check", "verify")
_MAX_STEPS = 16
#: share of closed funnel records that are won
_WON_SHARE = 0.33
_MIN_GAP = 60.0

#: (forward, negative, backward, stop) weights by kind of workflow
_WEIGHTS: Mapping[str, tuple[float, float, float, float]] = {
    "funnel": (0.62, 0.25, 0.25, 0.13),
    "approval": (0.80, 0.12, 0.60, 0.08),
}
#: median hours spent in a state before moving on, by kind of workflow
_MEDIAN_HOURS: Mapping[str, float] = {"funnel": 24.0 * 6, "approval": 14.0}

#: fill(field, record) -> JSON value or None: what a user types before a transition
Filler = Callable[[str], Any]
#: convert(changes) -> typed values or None when invalid (the entity's validator)
Converter = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Step:
    name: str
    to_state: str
    kind: StepKind
    compiled: Any


@dataclass
class WalkRecord:
    """One record being walked: its JSON values (what gets validated and written), the
    typed values guards read, who created and owns it."""

    json: dict[str, Any]
    typed: dict[str, Any]
    created_by: str
    owner: int
    created: float
    zh: bool
    history: list[tuple[Any, ...]] = field(default_factory=list)
    #: (entity, JSON values, actor, at) of records transitions' create actions made
    created_records: list[tuple[str, dict[str, Any], str, float]] = field(default_factory=list)
    changes: int = 0
    last: float = 0.0


def _matches(name: str, words: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(w in lowered for w in words)


class WorkflowWalker:
    def __init__(self, workflow: WorkflowDef, service: WorkflowService) -> None:
        self.workflow = workflow
        compiled = service.compiled(workflow)
        self.initial = workflow.initial_state
        depth = {self.initial: 0}
        queue = deque([self.initial])
        while queue:
            state = queue.popleft()
            for t in workflow.transitions.values():
                if state in t.from_states and t.to_state not in depth:
                    depth[t.to_state] = depth[state] + 1
                    queue.append(t.to_state)
        escalations = {s.escalation.transition for s in workflow.states.values()
                       if s.escalation is not None and s.escalation.transition}
        names = " ".join([*workflow.transitions, *workflow.states])
        self.kind = "approval" if _matches(names, _APPROVAL) and not _matches(names, ("won", "win")) else "funnel"
        self.steps: dict[str, list[Step]] = {s: [] for s in workflow.states}
        for name, t in workflow.transitions.items():
            if name in escalations or _matches(name, ("escalat",)):
                kind: StepKind = "escalate"
            elif _matches(name, _NEGATIVE) or _matches(t.to_state, _NEGATIVE):
                kind = "negative"
            else:
                kind = "forward"
            for state in t.from_states:
                step_kind = kind
                if kind == "forward" and (t.to_state == state or depth.get(t.to_state, 99) < depth.get(state, 0)):
                    step_kind = "backward"  # rework: back to an earlier state (resubmit after a rejection)
                self.steps.setdefault(state, []).append(Step(name, t.to_state, step_kind, compiled.transitions[name]))
        self.median = _MEDIAN_HOURS[self.kind] * 3600.0
        self.weights = _WEIGHTS[self.kind]
        if self.kind == "funnel":
            stages = min((depth[s.name] for s in workflow.states.values()
                          if s.final and s.name in depth and not _matches(s.name, _NEGATIVE)), default=0)
            if stages:
                self.weights = _funnel_weights(stages)

    # -- one record ------------------------------------------------------------------------
    def walk(self, record: WalkRecord, rng: random.Random, now: float, team: Team, fill: Filler,
             convert: Converter, record_id: int) -> None:
        wf = self.workflow
        state = self.initial
        self._enter_requirements(record, wf.states[state], fill, convert)
        record.json[wf.field] = record.typed[wf.field] = state
        t = record.created
        record.history.append((wf.entity, record_id, wf.name, None, None, state, record.created_by, t, None))
        visits: dict[str, int] = {state: 1}
        weights = self.weights
        for _ in range(_MAX_STEPS):
            current = wf.states[state]
            if current.final:
                break
            dwell = max(self._dwell(rng, state == self.initial), _MIN_GAP)
            escalation = self._escalation(current, state)
            if escalation is not None:
                step, after = escalation
                # the SLA ran out before anyone moved the record: the tick escalated it
                if t + after <= now and (dwell > after or t + dwell > now) and self._take(
                    step, record, rng, t + after, team, fill, convert, record_id, actor=SYSTEM_USER.name
                ):
                    t += after
                    state = step.to_state
                    visits[state] = visits.get(state, 0) + 1
                    continue
            at = t + dwell
            if at > now:
                break
            options: list[tuple[Step | None, float]] = [(None, weights[3])]
            for step in self.steps.get(state, ()):
                if step.kind == "forward":
                    options.append((step, weights[0]))
                elif step.kind == "negative":
                    options.append((step, weights[1]))
                elif step.kind == "backward" and visits.get(step.to_state, 0) < 2:
                    options.append((step, weights[2]))
            forward = sum(1 for s, _ in options if s is not None and s.kind == "forward")
            if forward > 1:  # several ways forward share the forward odds
                options = [(s, w / forward if s is not None and s.kind == "forward" else w) for s, w in options]
            moved = False
            while options:
                chosen = _choose(rng, [w for _, w in options])
                step = options[chosen][0]
                if step is None:
                    break
                if self._take(step, record, rng, at, team, fill, convert, record_id):
                    moved = True
                    t = at
                    state = step.to_state
                    visits[state] = visits.get(state, 0) + 1
                    break
                options.pop(chosen)
            if not moved:
                break
        record.last = max(record.last, t)

    def _escalation(self, state: StateDef, name: str) -> tuple[Step, float] | None:
        escalation = state.escalation
        if escalation is None or not escalation.transition:
            return None
        step = next((s for s in self.steps.get(name, ()) if s.name == escalation.transition), None)
        return None if step is None else (step, escalation.after.total_seconds())

    def _dwell(self, rng: random.Random, initial: bool) -> float:
        median = self.median * (0.5 if initial and self.kind == "funnel" else 1.0)
        return math.exp(math.log(median) + 1.0 * rng.gauss(0.0, 1.0))

    def _enter_requirements(self, record: WalkRecord, state: StateDef, fill: Filler, convert: Converter) -> bool:
        """Give the state's required fields values, as a user would before moving the record."""
        for name in state.required:
            if record.typed.get(name) in _EMPTY and name != self.workflow.field:
                value = fill(name)
                if value is None:
                    return False
                typed = convert({name: value})
                if typed is None:
                    return False
                record.json[name] = value
                record.typed.update(typed)
        return True

    def _take(self, step: Step, record: WalkRecord, rng: random.Random, at: float, team: Team, fill: Filler,
              convert: Converter, record_id: int, *, actor: str | None = None) -> bool:
        ct = step.compiled
        t = ct.definition
        if actor is None:
            creator = record.created_by if t.not_by_creator else None
            picked = team.pick(t.roles, rng, prefer=record.owner, exclude=creator)
            if picked is None:
                return False
            member = team.members[picked]
            user = {"name": member.name, "roles": list(member.roles), "team": member.team}
        else:
            user = {"name": actor, "roles": list(SYSTEM_USER.roles), "team": None}
        moment = datetime.fromtimestamp(round(at), UTC)
        inputs = {name: value for name, spec in t.inputs.items()
                  if (value := _input_value(spec, rng, record.zh, moment)) is not None}
        target = self.workflow.states[step.to_state]
        if not self._enter_requirements(record, target, fill, convert):
            return False
        data = {"record": dict(record.typed), "changes": {}, "inputs": inputs, "user": user, "now": moment}
        try:
            if ct.guard is not None and not ct.guard.matches(data):
                return False
            set_values: dict[str, Any] = {}
            for action in ct.actions:
                if action.definition.kind == "set":
                    set_values.update(action.values.evaluate(data))
        except LogicError:
            return False
        changes = {k: to_jsonable(val) for k, val in set_values.items()}
        typed = convert(changes) if changes else {}
        if typed is None:
            return False
        if any({**record.typed, **typed}.get(name) in _EMPTY for name in target.required if name != self.workflow.field):
            return False
        record.json.update(changes)
        record.typed.update(typed)
        record.json[self.workflow.field] = record.typed[self.workflow.field] = step.to_state
        record.changes += 1
        data["record"] = dict(record.typed)
        for action in ct.actions:
            kind = action.definition.kind
            if kind == "assign":
                self._assign(action.definition, record, team, rng)
            elif kind == "create" and action.definition.entity:
                try:
                    values = {k: to_jsonable(val) for k, val in action.values.evaluate(data).items()}
                except LogicError:
                    continue
                record.created_records.append((action.definition.entity, values, user["name"], at))
        # the state before is the last row of this workflow (another one may interleave)
        before = next((row[5] for row in reversed(record.history) if row[2] == self.workflow.name), None)
        record.history.append((self.workflow.entity, record_id, self.workflow.name, step.name, before,
                               step.to_state, user["name"], at, to_jsonable(inputs) or None))
        return True

    def _assign(self, action: Any, record: WalkRecord, team: Team, rng: random.Random) -> None:
        candidates = [i for i in team.holders((action.role,) if action.role else ())
                      if action.team is None or team.members[i].team == action.team]
        if not candidates:
            return
        chosen = candidates[rng.randrange(len(candidates))]
        name = team.members[chosen].name
        target = action.field or "owner"
        if target == "owner":
            if record.owner != chosen:
                record.owner = chosen
                record.changes += 1
            return
        if record.json.get(target) != name:
            record.json[target] = record.typed[target] = name
            record.changes += 1


def _funnel_weights(stages: int) -> tuple[float, float, float, float]:
    """(forward, negative, backward, stop) so that about 30% of closed records are won.

    With ``f`` forward and ``n`` lost at each of ``stages`` stages (and 10% staying put),
    ``f**stages`` are won and ``n * (1 - f**stages) / (1 - f)`` lost; ``f`` is found by
    bisection and kept within 50-72% (a funnel's stage-to-stage rate).
    """
    stop = 0.10
    low, high = 0.50, 0.72
    for _ in range(30):
        f = (low + high) / 2
        won = f**stages
        lost = (1 - stop - f) * (1 - won) / (1 - f)
        if won / (won + lost) > _WON_SHARE:
            high = f
        else:
            low = f
    f = (low + high) / 2
    return f, 1 - stop - f, 0.25, stop


def _choose(rng: random.Random, weights: list[float]) -> int:
    roll = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        roll -= w
        if roll < 0:
            return i
    return len(weights) - 1


def _input_value(spec: InputDef, rng: random.Random, zh: bool, moment: datetime) -> Any:
    if not spec.required and rng.random() < 0.5:
        return None
    if spec.choices:
        weights = [1.0 / (i + 1) ** 0.9 for i in range(len(spec.choices))]
        return rng.choices(list(spec.choices), weights=weights)[0]
    kind = spec.type
    if kind in ("text", "string"):
        text = (v.REASONS_ZH if zh else v.REASONS_EN)[rng.randrange(len(v.REASONS_ZH))]
        return text[: spec.max_length] if spec.max_length else text
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        return rng.randint(1, 10)
    if kind in ("decimal", "money"):
        return Decimal(rng.randint(100, 100000)) / 100
    if kind == "date":
        return date(moment.year, moment.month, moment.day)
    if kind == "datetime":
        return moment
    return None
