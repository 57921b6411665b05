"""Workflow records with a history that could have happened.

Each record starts in the initial state of each of its workflows when it is created and
walks along transitions, with odds that depend on the kind of workflow: a sales funnel goes
forward stage by stage (about 60% each) and loses deals at every stage, so that about a
third of the closed ones are won; an approval mostly goes through, with a rejection and a
resubmission now and then; a status (active, frozen, cancelled) mostly stays; a level
(basic, silver, gold) climbs a pyramid. Time passes in every state (hours for approvals,
days to weeks for sales stages, an SLA is usually kept); nothing happens after ``now``. The
workflows of one record move in time order, so one can wait for another (a project's
pipeline starts once its approval went through).

A transition is taken only when the engine would allow it: the actor holds one of its roles
(and is not the creator under separation of duties), the guard holds, and the target state's
required fields have values (filled as a user would before moving on). Its ``set`` actions,
assignments and created records are applied as the engine applies them, and one history row
is written per state change, the creation row first. An overdue state with an escalation
transition is escalated by the system user, as ``crm workflow tick`` would have done.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
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
from ._workflow_kinds import (
    LIFECYCLE_STATES,
    MEDIAN_HOURS,
    MOVING_KINDS,
    NEGATIVE_WORDS,
    WEIGHTS,
    WON_WORDS,
    choose,
    funnel_weights,
    matches,
    stale_after,
    workflow_kind,
)

StepKind = Literal["forward", "negative", "backward", "escalate"]
_EMPTY: tuple[Any, ...] = (None, "", [])
_LIFETIME_HOURS = 24.0 * 120
_MAX_STEPS = 16
#: times a record may find its next move not (yet) allowed before it stays where it is
_MAX_WAITS = 3
_MIN_GAP = 60.0

#: fill(field) -> JSON value or None: what a user types before a transition
Filler = Callable[[str], Any]
#: convert(changes) -> typed values or None when invalid (the entity's validator)
Converter = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Step:
    name: str
    to_state: str
    kind: StepKind
    compiled: Any
    #: (name, definition) of the transition's inputs, by name
    inputs: tuple[tuple[str, InputDef], ...]
    #: the ``set`` actions, and whether anything (guard, action) reads the record at all
    sets: tuple[Any, ...]
    reads: bool

    @classmethod
    def build(cls, name: str, to_state: str, kind: StepKind, compiled: Any) -> Step:
        actions = compiled.actions
        sets = tuple(a for a in actions if a.definition.kind == "set")
        reads = compiled.guard is not None or any(a.definition.kind in ("set", "create") for a in actions)
        return cls(name, to_state, kind, compiled, tuple(sorted(compiled.definition.inputs.items())), sets, reads)


@dataclass
class WalkRecord:
    """One record being walked: its JSON values (what gets validated and written), the
    typed values guards read, who created and owns it."""

    record_id: int
    json: dict[str, Any]
    typed: dict[str, Any]
    created_by: str
    owner: int
    created: float
    zh: bool
    #: values guards see for fields scorings fill later (an evaluation score), when empty
    stand_ins: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    #: (entity, JSON values, actor, at) of records transitions' create actions made
    created_records: list[tuple[str, dict[str, Any], str, float]] = field(default_factory=list)
    changes: int = 0
    last: float = 0.0
    #: transitions whose guard held on a stand-in score (its inputs must earn it after the load)
    relied: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class WalkEnv:
    """What every move of one run needs besides the record."""

    rng: random.Random
    now: float
    team: Team
    fill: Filler
    convert: Converter
    #: fields a user may change (not read-only, not set by workflows or scorings)
    editable: frozenset[str] = frozenset()
    #: rules that keep a record's values adding up (a collected amount within the amount)
    rules: Sequence[Callable[[dict[str, Any]], None]] = ()
    #: amounts that only grow (collected so far): a new payment adds, never takes back
    grows: frozenset[str] = frozenset()
    #: an entity's field defaults as JSON (what a record made by an action starts with)
    defaults: Callable[[str], Mapping[str, Any]] = lambda _entity: {}


@dataclass
class _Cursor:
    """Where one workflow of a record stands."""

    walker: WorkflowWalker
    state: str
    #: when the record entered the state (escalations count from there), and the clock
    entered: float
    clock: float
    visits: dict[str, int]
    moves: int = 0
    waits: int = 0
    #: a move that was not allowed yet, tried again later (a pipeline waits for its approval)
    retry: Step | None = None
    #: moves given up on in this state (their guard never held): the record does something else
    blocked: set[str] = field(default_factory=set)
    #: the state's escalation fired (or was refused) for this entry
    escalated: bool = False


def walk_record(walkers: list[WorkflowWalker], record: WalkRecord, env: WalkEnv) -> None:
    """Walk every workflow of ``record``, moves of all of them in time order."""
    cursors = [walker.start(record, env) for walker in walkers]
    planned: dict[int, tuple[float, Step, bool]] = {}
    for i, cursor in enumerate(cursors):
        move = cursor.walker.plan(cursor, env)
        if move is not None:
            planned[i] = move
    while planned:
        i = min(planned, key=lambda k: (planned[k][0], k))
        at, step, escalation = planned.pop(i)
        cursor = cursors[i]
        actor = SYSTEM_USER.name if escalation else None
        if cursor.walker.take(step, record, env, at, actor=actor):
            cursor.state = step.to_state
            cursor.entered = cursor.clock = at
            cursor.visits[step.to_state] = cursor.visits.get(step.to_state, 0) + 1
            cursor.waits = 0
            cursor.retry = None
            cursor.blocked.clear()
            cursor.escalated = False
            record.last = max(record.last, at)
        elif escalation:
            cursor.escalated = True  # the tick found it refused and does not retry
        else:
            cursor.waits += 1  # not allowed yet: maybe later (another workflow moves first)
            cursor.clock = at
            cursor.retry = step if cursor.waits <= _MAX_WAITS else None
            if cursor.retry is None:
                cursor.blocked.add(step.name)
        cursor.moves += 1
        if cursor.moves < _MAX_STEPS:
            move = cursor.walker.plan(cursor, env)
        elif cursor.moves < 2 * _MAX_STEPS:  # enough back and forth: only closing what went stale
            move = cursor.walker.close_stale(cursor, env)
        else:
            move = None
        if move is not None:
            planned[i] = move


class WorkflowWalker:
    def __init__(self, workflow: WorkflowDef, service: WorkflowService) -> None:
        self.workflow = workflow
        compiled = service.compiled(workflow)
        self.initial = workflow.initial_state
        depth = {self.initial: 0}
        queue = deque([self.initial])
        while queue:
            state = queue.popleft()
            for _name, t in sorted(workflow.transitions.items()):
                if state in t.from_states and t.to_state not in depth:
                    depth[t.to_state] = depth[state] + 1
                    queue.append(t.to_state)
        escalations = {
            s.escalation.transition
            for s in workflow.states.values()
            if s.escalation is not None and s.escalation.transition
        }
        self.kind = workflow_kind(workflow)
        self.steps: dict[str, list[Step]] = {s: [] for s in workflow.states}
        for name, t in sorted(workflow.transitions.items()):
            if _links_created(compiled.transitions[name].actions):
                # its records point at one another (created.NAME.id): ids the bulk writer gives
                # only later, so the demo takes the other ways through the workflow instead
                continue
            if name in escalations or matches(name, ("escalat",)):
                kind: StepKind = "escalate"
            elif matches(name, NEGATIVE_WORDS) or matches(t.to_state, NEGATIVE_WORDS):
                kind = "negative"
            else:
                kind = "forward"
            for state in t.from_states:
                step_kind = kind
                if kind == "forward" and (t.to_state == state or depth.get(t.to_state, 99) < depth.get(state, 0)):
                    step_kind = "backward"  # rework: back to an earlier state (resubmit after a rejection)
                self.steps.setdefault(state, []).append(
                    Step.build(name, t.to_state, step_kind, compiled.transitions[name])
                )
        self.median = MEDIAN_HOURS[self.kind] * 3600.0
        self.weights = WEIGHTS[self.kind]
        if self.kind == "funnel":
            stages = min(
                (
                    depth[s.name]
                    for s in workflow.states.values()
                    if s.final and s.name in depth and matches(s.name, WON_WORDS)
                ),
                default=0,
            )
            if stages:
                self.weights = funnel_weights(stages)

    # -- one record ------------------------------------------------------------------------
    def start(self, record: WalkRecord, env: WalkEnv) -> _Cursor:
        """The record enters the initial state when it is created (the first history row)."""
        wf = self.workflow
        self._enter_requirements(record, wf.states[self.initial], env)
        record.json[wf.field] = record.typed[wf.field] = self.initial
        record.history.append(
            (wf.entity, record.record_id, wf.name, None, None, self.initial, record.created_by, record.created, None)
        )
        return _Cursor(self, self.initial, record.created, record.created, {self.initial: 1})

    def plan(self, cursor: _Cursor, env: WalkEnv) -> tuple[float, Step, bool] | None:
        """The cursor's next move: (when, transition, whether the SLA fires it), or None
        when the record stays where it is."""
        current = self.workflow.states[cursor.state]
        if current.final:
            return None
        rng = env.rng
        dwell = max(self._dwell(rng, current, cursor.state == self.initial), _MIN_GAP)
        step = cursor.retry if cursor.retry is not None else self._decide(cursor, rng)
        at = cursor.clock + dwell
        escalation = None if cursor.escalated else self._escalation(current, cursor.state)
        if escalation is not None:
            esc_step, after = escalation
            due = max(cursor.entered + after, cursor.clock + _MIN_GAP)
            # the SLA runs out before anyone moves the record: the tick escalates it
            if due <= env.now and (step is None or due < at):
                return due, esc_step, True
        deadline = self._deadline(cursor, current, rng)
        if deadline is not None and (step is None or at > deadline) and deadline <= env.now:
            # nobody leaves a deal or a request open for years: it is closed before it goes stale
            step = step if step is not None else self._closing(cursor, rng)
            at = max(deadline, cursor.clock + _MIN_GAP)
        if step is None or at > env.now:
            return None
        return at, step, False

    def close_stale(self, cursor: _Cursor, env: WalkEnv) -> tuple[float, Step, bool] | None:
        """The move that closes a record about to go stale, if it is due by now."""
        current = self.workflow.states[cursor.state]
        deadline = None if current.final else self._deadline(cursor, current, env.rng)
        step = cursor.retry or self._closing(cursor, env.rng)
        at = None if deadline is None else max(deadline, cursor.clock + _MIN_GAP)
        if at is None or at > env.now or step is None:
            return None
        return at, step, False

    def _deadline(self, cursor: _Cursor, state: StateDef, rng: random.Random) -> float | None:
        """When a record in ``state`` has to move on to keep within :func:`stale_after`."""
        if self.kind not in MOVING_KINDS or state.name in LIFECYCLE_STATES:
            return None
        return cursor.entered + stale_after(state).total_seconds() * rng.uniform(0.3, 0.9)

    def _closing(self, cursor: _Cursor, rng: random.Random) -> Step | None:
        """The way out of a state that has waited long enough: a stalled deal is pushed on
        (about half of them, so that the won share of closed deals holds) or given up on;
        other records move on (a receivable is collected in the end); else whatever is left."""
        steps = [s for s in self.steps.get(cursor.state, ()) if s.name not in cursor.blocked and s.kind != "escalate"]
        pushed = self.kind != "funnel" or rng.random() < 0.5
        order = ("forward", "negative", "backward") if pushed else ("negative", "forward", "backward")
        for kind in order:
            found = next((s for s in steps if s.kind == kind), None)
            if found is not None:
                return found
        return None

    def _decide(self, cursor: _Cursor, rng: random.Random) -> Step | None:
        weights = self.weights
        options: list[tuple[Step | None, float]] = [(None, weights[3])]
        for step in self.steps.get(cursor.state, ()):
            if step.name in cursor.blocked:
                continue
            if step.kind == "forward":
                options.append((step, weights[0]))
            elif step.kind == "negative":
                options.append((step, weights[1]))
            elif step.kind == "backward" and cursor.visits.get(step.to_state, 0) < 2:
                options.append((step, weights[2]))
        forward = sum(1 for s, _ in options if s is not None and s.kind == "forward")
        if forward > 1:  # several ways forward share the forward odds
            options = [(s, w / forward if s is not None and s.kind == "forward" else w) for s, w in options]
        return options[choose(rng, [w for _, w in options])][0]

    def _escalation(self, state: StateDef, name: str) -> tuple[Step, float] | None:
        escalation = state.escalation
        if escalation is None or not escalation.transition:
            return None
        step = next((s for s in self.steps.get(name, ()) if s.name == escalation.transition), None)
        return None if step is None else (step, escalation.after.total_seconds())

    def _dwell(self, rng: random.Random, state: StateDef, initial: bool) -> float:
        if state.name in LIFECYCLE_STATES:
            median = _LIFETIME_HOURS * 3600.0
        elif state.escalation is not None:
            # a state with an SLA is mostly left in time: about one in six breaches it
            median = state.escalation.after.total_seconds() * 0.4
        else:
            median = self.median * (0.5 if initial and self.kind == "funnel" else 1.0)
        return math.exp(math.log(median) + 1.0 * rng.gauss(0.0, 1.0))

    def _enter_requirements(self, record: WalkRecord, state: StateDef, env: WalkEnv) -> bool:
        """Give the state's required fields values, as a user would before moving the record."""
        for name in state.required:
            if record.typed.get(name) in _EMPTY and name != self.workflow.field:
                value = env.fill(name)
                if value is None:
                    return False
                typed = env.convert({name: value})
                if typed is None:
                    return False
                record.json[name] = value
                record.typed.update(typed)
        return True

    def take(self, step: Step, record: WalkRecord, env: WalkEnv, at: float, *, actor: str | None = None) -> bool:
        """Run ``step`` on the record at ``at`` if the engine would allow it; True when it did."""
        user = self._actor(step, record, env, actor)
        if user is None:
            return False
        moment = datetime.fromtimestamp(round(at), UTC)
        inputs = {
            key: value
            for key, spec in step.inputs
            if (value := _input_value(spec, env.rng, record.zh, moment)) is not None
        }
        target = self.workflow.states[step.to_state]
        if not self._enter_requirements(record, target, env):
            return False
        checked = self._checked_changes(step, record, env, user, inputs, moment)
        if checked is None:
            return False
        changes, typed, data = checked
        if target.required:
            after = {**record.typed, **typed}
            if any(after.get(f) in _EMPTY for f in target.required if f != self.workflow.field):
                return False
        record.json.update(changes)
        record.typed.update(typed)
        record.json[self.workflow.field] = record.typed[self.workflow.field] = step.to_state
        record.changes += 1
        if data:
            data["record"] = dict(record.typed)
        self._run_actions(step, record, env, data, user["name"], at)
        # the state before is the last row of this workflow (another one may interleave)
        before = next((row[5] for row in reversed(record.history) if row[2] == self.workflow.name), None)
        record.history.append(
            (
                self.workflow.entity,
                record.record_id,
                self.workflow.name,
                step.name,
                before,
                step.to_state,
                user["name"],
                at,
                to_jsonable(inputs) or None,
            )
        )
        return True

    def _actor(self, step: Step, record: WalkRecord, env: WalkEnv, actor: str | None) -> dict[str, Any] | None:
        """Who runs ``step`` (as the guard's ``user``): ``actor`` (the system), or a member
        holding one of its roles, the owner preferred, never the creator when it says so."""
        if actor is not None:
            return {"name": actor, "roles": list(SYSTEM_USER.roles), "team": None}
        t = step.compiled.definition
        creator = record.created_by if t.not_by_creator else None
        picked = env.team.pick(t.roles, env.rng, prefer=record.owner, exclude=creator)
        if picked is None:
            return None
        member = env.team.members[picked]
        return {"name": member.name, "roles": list(member.roles), "team": member.team}

    def _checked_changes(
        self,
        step: Step,
        record: WalkRecord,
        env: WalkEnv,
        user: dict[str, Any],
        inputs: dict[str, Any],
        moment: datetime,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
        """(changes as JSON, as stored, the data the guard saw) when the guard holds (met
        if need be) and its ``set`` actions give valid values; None otherwise."""
        if not step.reads:
            return {}, {}, {}
        ct = step.compiled
        seen = dict(record.typed)
        for name_, value in record.stand_ins.items():
            if seen.get(name_) is None:
                seen[name_] = value
        data = {"record": seen, "changes": {}, "inputs": inputs, "user": user, "now": moment}
        changes: dict[str, Any] = {}
        try:
            if ct.guard is not None and not ct.guard.matches(data) and not self._meet(step, record, env, data):
                return None
            if ct.guard is not None and any(
                path.startswith("record.") and path[7:] in record.stand_ins and record.typed.get(path[7:]) is None
                for path in ct.guard.variables
            ):
                record.relied.append((self.workflow.name, step.name))
            for action in step.sets:
                changes.update((k, to_jsonable(v)) for k, v in action.values.evaluate(data).items())
        except LogicError:
            return None
        converted = env.convert(changes) if changes else {}
        if converted is None:
            return None
        return changes, converted, data

    def _run_actions(
        self, step: Step, record: WalkRecord, env: WalkEnv, data: dict[str, Any], name: str, at: float
    ) -> None:
        """The transition's ``assign`` and ``create`` actions (``set`` ran before the move)."""
        for action in step.compiled.actions:
            kind = action.definition.kind
            if kind == "assign":
                self._assign(action.definition, record, env.team, env.rng)
            elif kind == "create" and action.definition.entity:
                try:
                    values = {k: to_jsonable(val) for k, val in action.values.evaluate(data).items()}
                except LogicError:
                    continue
                record.created_records.append((action.definition.entity, values, name, at))
            elif kind == "update" and action.definition.children is not None:
                self._update_made(action, record, env, data)

    def _update_made(self, action: Any, record: WalkRecord, env: WalkEnv, data: dict[str, Any]) -> None:
        """An ``update`` of children, on the children this record's own actions made (a
        re-check task its review created, closed by its approval): the only children a
        record has while it walks."""
        entity, reference = action.definition.children
        where = action.where
        for made, values, _actor, _at in record.created_records:
            if made != entity or values.get(reference) != record.record_id:
                continue
            child = {**env.defaults(entity), **values}
            try:
                if where is not None and not where.matches({**data, "child": child}):
                    continue
                values.update((k, to_jsonable(v)) for k, v in action.values.evaluate({**data, "child": child}).items())
            except LogicError:
                continue

    def _meet(self, step: Step, record: WalkRecord, env: WalkEnv, data: dict[str, Any]) -> bool:
        """Change the fields a guard reads, as a user would to meet it (a discount within
        the limit, a due date passed); True when the guard then holds. Fields read-only in
        the current state, and those workflows or scorings own, are never changed."""
        guard = step.compiled.guard
        current = self.workflow.states[data["record"][self.workflow.field]]
        names = sorted({path[len("record.") :].split(".")[0] for path in guard.variables if path.startswith("record.")})
        names = [n for n in names if n in env.editable and n not in current.read_only]
        if not names:
            return False
        saved = {n: (record.json.get(n), record.typed.get(n)) for n in names}
        for _ in range(3):
            for name in names:
                value = env.fill(name)
                before = saved[name][0]
                if (
                    name in env.grows
                    and value is not None
                    and before is not None
                    and (Decimal(str(value)) < Decimal(str(before)))
                ):
                    value = before
                typed = env.convert({name: value}) if value is not None else None
                if typed is not None:
                    record.json[name] = value
                    record.typed.update(typed)
            if env.rules:
                settled = dict(record.json)
                for rule in env.rules:
                    rule(settled)
                moved = {k: v for k, v in settled.items() if v != record.json.get(k) and v is not None}
                typed = env.convert(moved) if moved else {}
                if typed:
                    record.json.update(moved)
                    record.typed.update(typed)
            seen = dict(record.typed)
            for name, value in record.stand_ins.items():
                if seen.get(name) is None:
                    seen[name] = value
            data["record"] = seen
            try:
                if guard.matches(data):
                    return True
            except LogicError:
                pass
        for name, (json_value, typed_value) in saved.items():
            record.json[name] = json_value
            record.typed[name] = typed_value
        return False

    def _assign(self, action: Any, record: WalkRecord, team: Team, rng: random.Random) -> None:
        candidates = [
            i
            for i in team.holders((action.role,) if action.role else ())
            if action.team is None or team.members[i].team == action.team
        ]
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


def _links_created(actions: Sequence[Any]) -> bool:
    """Whether an action's values read a record an earlier action created (``created.NAME``)."""
    return any(
        path.startswith("created.") for a in actions for rule in a.values.rules.values() for path in rule.variables
    )
