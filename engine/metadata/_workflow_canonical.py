"""Workflows in the canonical stored form: each one a workflow document with only
non-default keys, written in a stable order, that reads back into an equal workflow.

What a document may write in more than one way is written one way: ``"from": "*"`` as the
states it stands for, durations as days, hours, minutes and seconds (``P2W`` → ``P14D``).
A state's label is left out when it is the one the state gets without: its choice's label.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from engine.metadata._durations import format_duration
from engine.metadata._model import DEFAULT_MAX_LENGTH, FieldDef, Label
from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION
from engine.metadata._workflow_actions import DEFAULT_ASSIGN_FIELD
from engine.metadata._workflow_lookup import state_labels
from engine.metadata._workflow_model import (
    ActionDef,
    InputDef,
    StateDef,
    TransitionDef,
    WorkflowDef,
)


def workflow_to_json(workflow: WorkflowDef, field: FieldDef | None = None) -> dict[str, Any]:
    """One workflow as a workflow document with only non-default keys.

    :param field: the enum field the workflow drives, whose choices' labels are the
        default labels of its states (without it, a state's default is derived from its
        name, and a label taken from a choice is written out).
    """
    defaults = state_labels(field)
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "workflow",
        "name": workflow.name,
        "entity": workflow.entity,
        "field": workflow.field,
    }
    _label(out, workflow.label, workflow.name)
    out["states"] = {name: _state(s, defaults) for name, s in workflow.states.items()}
    out["transitions"] = {name: _transition(t) for name, t in workflow.transitions.items()}
    return out


def _label(out: dict[str, Any], label: Label, name: str) -> None:
    if label != derive_label(name):
        out["label"] = label.to_json()


def _state(state: StateDef, defaults: Mapping[str, Label]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if state.label != defaults.get(state.name, derive_label(state.name)):
        out["label"] = state.label.to_json()
    for flag in ("initial", "final"):
        if getattr(state, flag):
            out[flag] = True
    for option in ("required", "read_only"):
        if getattr(state, option):
            out[option] = list(getattr(state, option))
    escalation = state.escalation
    if escalation is not None:
        out["max_duration"] = format_duration(escalation.after)
        written: dict[str, Any] = {}
        if escalation.transition is not None:
            written["transition"] = escalation.transition
        if escalation.actions:
            written["actions"] = [action_to_json(a) for a in escalation.actions]
        out["escalation"] = written
    return out


def _transition(transition: TransitionDef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _label(out, transition.label, transition.name)
    out["from"] = list(transition.from_states)
    out["to"] = transition.to_state
    if transition.when is not None:
        out["when"] = copy.deepcopy(transition.when)
    if transition.roles:
        out["roles"] = list(transition.roles)
    if transition.not_by_creator:
        out["not_by_creator"] = True
    if transition.inputs:
        out["inputs"] = {name: _input(i) for name, i in transition.inputs.items()}
    if transition.actions:
        out["actions"] = [action_to_json(a) for a in transition.actions]
    return out


def _input(value: InputDef) -> dict[str, Any]:
    out: dict[str, Any] = {"type": value.type}
    _label(out, value.label, value.name)
    if value.required:
        out["required"] = True
    if value.choices:
        out["choices"] = list(value.choices)
    if value.max_length is not None and value.max_length != DEFAULT_MAX_LENGTH.get(value.type):
        out["max_length"] = value.max_length
    return out


def action_to_json(action: ActionDef) -> dict[str, Any]:
    """One action as written in a document: ``{"set": {...}}``, ``{"assign": {...}}``..."""
    body: dict[str, Any]
    if action.kind == "set":
        body = _values(action)
    elif action.kind == "create":
        body = {"entity": action.entity}
        if action.values:
            body["values"] = _values(action)
    elif action.kind == "assign":
        body = {"role": action.role}
        if action.team is not None:
            body["team"] = action.team
        if action.strategy != "round_robin":
            body["strategy"] = action.strategy
        if action.field not in (None, DEFAULT_ASSIGN_FIELD):
            body["field"] = action.field
    elif action.kind == "rescore":
        body = {"scorings": list(action.scorings)} if action.scorings else {}
    else:
        body = {"topic": action.topic}
    return {action.kind: body}


def _values(action: ActionDef) -> dict[str, Any]:
    return {name: copy.deepcopy(value) for name, value in action.values.items()}
