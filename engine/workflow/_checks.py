"""Asking before doing: which transitions a user may run on a record, and why not.

The same answer backs ``crm workflow check``, the refusal message of ``crm transition``
and (with the web layer) the buttons on a record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.compile import RecordValidator, compile_csv_reader, compile_validator
from engine.errors import CrmError, Problem
from engine.logic import CompiledRule, LogicError, fields_read
from engine.metadata import EntityDef, FieldDef, Label
from engine.metadata._workflow_model import InputDef, TransitionDef, WorkflowDef
from engine.users import User

from ._compiled import CompiledTransition

_EMPTY: tuple[object, ...] = (None, "", [])
#: What a refusal says instead of naming fields hidden from the user (or a condition reading them).
HIDDEN_FIELDS = "fields you may not see"
_HIDDEN_DATA = f"it depends on {HIDDEN_FIELDS}"


@dataclass(frozen=True)
class Refusal:
    """Why a transition cannot run now (``code`` is stable; ``fields`` name what is missing)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            out["fields"] = list(self.fields)
        return out


@dataclass(frozen=True)
class TransitionCheck:
    workflow: str
    name: str
    label: Label
    from_states: tuple[str, ...]
    to_state: str
    reasons: tuple[Refusal, ...]
    inputs: Mapping[str, InputDef] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return not self.reasons

    def to_json(self, language: str = "en") -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "transition": self.name,
            "label": self.label.get(language),
            "to": self.to_state,
            "available": self.available,
            "reasons": [r.to_json() for r in self.reasons],
            "inputs": {
                name: {
                    "type": i.type,
                    "required": i.required,
                    "label": i.label.get(language),
                    **({"choices": list(i.choices)} if i.choices else {}),
                }
                for name, i in self.inputs.items()
            },
        }


class TransitionRefusedError(CrmError):
    """A transition was refused; each problem is one reason (state, role, guard, ...)."""

    code = "transition_refused"
    exit_code = 8
    http_status = 409


def guard_data(record: Mapping[str, Any], user: User, inputs: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What guards and action rules see: ``record``, ``changes``, ``inputs``, ``user``, ``now``."""
    return {
        "record": dict(record),
        "changes": {},
        "inputs": dict(inputs),
        "user": {"name": user.name, "roles": list(user.roles), "team": user.team},
        "now": now,
    }


def inputs_entity(transition: TransitionDef) -> EntityDef:
    """The transition's inputs as an entity, so they are checked by the record validator."""
    fields = {
        name: FieldDef(
            name=name,
            type=i.type,
            label=i.label,
            required=i.required,
            choices=tuple(_choice(c) for c in i.choices),
            max_length=i.max_length if i.max_length is not None else (255 if i.type == "string" else None),
            precision=18 if i.type == "decimal" else None,
            scale=6 if i.type == "decimal" else None,
        )
        for name, i in transition.inputs.items()
    }
    return EntityDef(name=f"{transition.name}_inputs", label=transition.label, fields=fields)


def _choice(value: str) -> Any:
    from engine.metadata import Choice

    return Choice(value=value, label=Label(value))


def input_validator(transition: TransitionDef) -> RecordValidator:
    return compile_validator(inputs_entity(transition))


def inputs_from_text(transition: TransitionDef, given: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``--input key=value`` text into typed inputs (the CSV cell rules apply)."""
    entity = inputs_entity(transition)
    header = list(given)
    reader = compile_csv_reader(entity, header)
    if reader.header_problems:
        known = ", ".join(transition.inputs) or "none"
        raise TransitionRefusedError(
            f"{transition.name} has no input named {', '.join(str(p.field) for p in reader.header_problems)} "
            f"(its inputs: {known})",
            [Problem(code="unknown_input", field=p.field, message=p.message) for p in reader.header_problems],
        )
    values, problems = reader.convert([given[h] for h in header])
    if problems or values is None:
        raise TransitionRefusedError(
            "invalid input: " + "; ".join(f"{p.field}: {p.message}" for p in problems),
            [
                dataclasses.replace(p, code="input_invalid" if p.code != "required" else "input_required")
                for p in problems
            ],
        )
    out = dict(zip(reader.columns, values, strict=True))
    return {k: v for k, v in out.items() if k in given}


def refusals(
    workflow: WorkflowDef,
    compiled: CompiledTransition,
    record: Mapping[str, Any],
    user: User,
    inputs: Mapping[str, Any] | None,
    prospective: Mapping[str, Any],
    now: datetime,
    *,
    escalation: bool = False,
    hidden: frozenset[str] = frozenset(),
) -> list[Refusal]:
    """Every reason ``user`` may not run the transition on ``record`` now.

    ``inputs`` None means "not known yet" (asking which transitions are available):
    missing inputs are then not a reason. ``prospective`` is the record as it would be
    after the transition's ``set`` actions (what the target state's required fields see).
    ``escalation``: the SLA fires it, not a person, so roles and separation of duties do
    not apply (state, guard and required fields still do).
    ``hidden``: the entity's fields hidden from ``user``; a reason never names them, nor shows
    a guard that reads them (or may: a guard that reads the whole record), nor its error.
    """
    t = compiled.definition
    reasons: list[Refusal] = []
    state = record.get(workflow.field)
    if state not in t.from_states:
        reasons.append(
            Refusal("wrong_state", f"{t.name} starts from {', '.join(t.from_states)}; the record is {state}")
        )
    if not escalation:
        reasons.extend(_actor_refusals(t, record, user))
    if inputs is not None and t.inputs:
        reasons.extend(_input_refusals(t, inputs))
    if compiled.guard is not None:
        reasons.extend(_guard_refusals(compiled.guard, t, record, user, inputs, now, hidden))
    reasons.extend(_required_field_refusals(workflow, t, prospective, hidden))
    return reasons


def _actor_refusals(t: TransitionDef, record: Mapping[str, Any], user: User) -> list[Refusal]:
    """Who may run the transition: its roles and separation of duties."""
    reasons = []
    if not user.has_any_role(t.roles):
        held = ", ".join(user.roles) or "none"
        reasons.append(Refusal("role", f"{t.name} needs role {' or '.join(t.roles)}; {user.name} has {held}"))
    if t.not_by_creator and record.get("created_by") == user.name:
        reasons.append(
            Refusal(
                "separation_of_duties",
                f"{t.name} must be done by someone other than the record's creator ({user.name})",
            )
        )
    return reasons


def _input_refusals(t: TransitionDef, inputs: Mapping[str, Any]) -> list[Refusal]:
    """The transition's inputs that are missing or invalid."""
    _checked, problems = input_validator(t).check(dict(inputs), partial=False)
    missing = tuple(sorted(p.field or "" for p in problems if p.code == "required"))
    reasons = []
    if missing:
        reasons.append(Refusal("input_required", f"{t.name} needs input {', '.join(missing)}", missing))
    for p in problems:
        if p.code != "required":
            reasons.append(Refusal("input_invalid", f"input {p.field}: {p.message}", (p.field or "",)))
    return reasons


def _guard_refusals(
    guard: CompiledRule,
    t: TransitionDef,
    record: Mapping[str, Any],
    user: User,
    inputs: Mapping[str, Any] | None,
    now: datetime,
    hidden: frozenset[str],
) -> list[Refusal]:
    """The transition's condition, unless it holds; shown only when it reads no hidden field."""
    read = fields_read(guard) if hidden else frozenset()  # only asked when something is hidden
    secret = bool(hidden) and (read is None or bool(read & hidden))
    try:
        passed = guard.matches(guard_data(record, user, inputs or {}, now))
    except LogicError as exc:
        said = _HIDDEN_DATA if secret else exc.message
        return [Refusal("guard_error", f"the condition of {t.name} could not be evaluated: {said}")]
    if passed:
        return []
    rule = _HIDDEN_DATA if secret else json.dumps(t.when, ensure_ascii=False, default=str)
    return [Refusal("guard", f"the condition of {t.name} is not met: {rule}")]


def _required_field_refusals(
    workflow: WorkflowDef, t: TransitionDef, prospective: Mapping[str, Any], hidden: frozenset[str]
) -> list[Refusal]:
    """The target state's required fields that would be empty, hidden ones not named."""
    target = workflow.states[t.to_state]
    empty = tuple(f for f in target.required if prospective.get(f) in _EMPTY)
    if not empty:
        return []
    named = tuple(f for f in empty if f not in hidden)
    what = ", ".join(named) if named else ""
    if len(named) < len(empty):
        what = f"{what} and {HIDDEN_FIELDS}" if what else HIDDEN_FIELDS
    return [Refusal("required_field", f"{t.to_state} needs a value in {what} before the record can enter it", named)]
