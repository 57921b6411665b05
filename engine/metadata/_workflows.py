"""The ``workflow`` document kind: workflows are checked and frozen once entities are,
written back in the stored form, and described by the :data:`WORKFLOW` kind.

Workflows in the canonical stored form: each one a workflow document with only
non-default keys, written in a stable order, that reads back into an equal workflow.

What a document may write in more than one way is written one way: ``"from": "*"`` as the
states it stands for, durations as days, hours, minutes and seconds (``P2W`` → ``P14D``).
A state's label is left out when it is the one the state gets without: its choice's label.

Freeze workflow drafts into :class:`WorkflowDef` objects and check them against the
entities: the driven field, states against its choices, transitions, inputs, guards,
actions, durations and escalations, and the graph (one initial state, every state
reachable, no way out of a final state).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from engine.errors import Problem
from engine.metadata._entities import Lookup, driven_map, state_labels
from engine.metadata._field_types import DEFAULT_MAX_LENGTH
from engine.metadata._fields import label_from_json, label_or_derived
from engine.metadata._model import (
    SYSTEM_FIELDS,
    Definitions,
    EntityDef,
    FieldDef,
    Label,
    SourceRef,
)
from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION, DocumentKind, OverlayKind, Resolution, build_each
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._recipients import recipients_to_json
from engine.metadata._workflow_actions import DEFAULT_ASSIGN_FIELD, RuleScope, build_actions, rule_problems
from engine.metadata._workflow_drafts import PartDraft, WorkflowDraft, apply_workflow_overlays, workflow_draft
from engine.metadata._workflow_model import (
    ActionDef,
    EscalationDef,
    InputDef,
    StateDef,
    TransitionDef,
    WorkflowDef,
    format_duration,
    parse_duration,
)

_TEXT_INPUTS = ("string", "text")


def build_workflows(
    drafts: Mapping[str, WorkflowDraft], entities: Lookup
) -> tuple[dict[str, WorkflowDef], list[Problem]]:
    """Freeze every workflow draft and check it against ``entities``; also that no field
    has two workflows."""
    problems: list[Problem] = []
    owners: dict[tuple[str, str], WorkflowDraft] = {}
    for draft in drafts.values():
        key = (str(draft.spec["entity"]), str(draft.spec["field"]))
        first = owners.get(key)
        if first is None:
            owners[key] = draft
            continue
        message = (
            f"the field {key[1]!r} of {key[0]!r} is already driven by the workflow "
            f"{first.name!r} ({first.source.file}); a field follows one workflow. Drive "
            "another enum field, or merge the two workflows."
        )
        problems.append(problem("field_has_workflow", message, draft.at("field")))
    lookup = dataclasses.replace(entities, driven=driven_map(owners))
    workflows, workflow_problems = build_each(drafts, lambda draft: build_workflow(draft, lookup))
    problems.extend(workflow_problems)
    return workflows, problems


def build_workflow(draft: WorkflowDraft, lookup: Lookup) -> tuple[WorkflowDef, list[Problem]]:
    """The frozen workflow and every problem of it."""
    problems: list[Problem] = []
    entity_name = str(draft.spec["entity"])
    entity = lookup.entity(entity_name, draft.bundle)
    if entity is None:
        problems.extend(lookup.unknown_entity(entity_name, draft.bundle, draft.at("entity")))
    field = _driven_field(draft, entity, problems)
    initial_ok = _initial_problems(draft, problems)
    finals = {name for name, state in draft.states.items() if state.spec.get("final")}
    transitions: dict[str, TransitionDef] = {}
    for name, transition in draft.transitions.items():
        transitions[name] = _transition(transition, draft, finals, entity, lookup, problems)
    defaults = state_labels(field)
    states = {
        name: _state(state, defaults, transitions, entity, lookup, problems) for name, state in draft.states.items()
    }
    if field is not None:
        problems.extend(_choice_problems(draft, field))
    if initial_ok:
        problems.extend(_unreachable(draft, transitions))
    workflow = WorkflowDef(
        name=draft.name,
        entity=entity_name,
        field=str(draft.spec["field"]),
        label=label_or_derived(draft.spec, draft.name),
        states=states,
        transitions=transitions,
        source=draft.source,
    )
    return workflow, problems


def _driven_field(draft: WorkflowDraft, entity: EntityDef | None, problems: list[Problem]) -> FieldDef | None:
    if entity is None:
        return None
    name = str(draft.spec["field"])
    field = entity.fields.get(name)
    enums = [f.name for f in entity.fields.values() if f.type == "enum"]
    if field is None:
        hint = did_you_mean(name, enums or list(entity.fields))
        message = f"{name!r} is not a field of {entity.name!r}.{hint}"
        problems.append(problem("unknown_field", message, draft.at("field")))
        return None
    if field.type != "enum":
        listed = f" Its enum fields: {quoted_list(enums)}." if enums else ""
        message = (
            f"a workflow drives an enum field, whose choices are its states; {name!r} is a {field.type} field.{listed}"
        )
        problems.append(problem("not_enum_field", message, draft.at("field")))
        return None
    return field


def _initial_problems(draft: WorkflowDraft, problems: list[Problem]) -> bool:
    """Report unless exactly one state is initial, and it is not final; say if all is well."""
    initial = [state for state in draft.states.values() if state.spec.get("initial")]
    if not initial:
        message = 'no state is initial; mark the state new records start in with "initial": true.'
        problems.append(problem("initial_state", message, child(draft.source, "states")))
        return False
    for state in initial[1:]:
        message = (
            f"{initial[0].name!r} is the initial state already; a workflow has exactly one. "
            'Remove "initial" here or there.'
        )
        problems.append(problem("initial_state", message, state.at("initial")))
    if initial[0].spec.get("final"):
        message = (
            "the initial state cannot be final: records would start where they end. Make "
            "another state final, or start elsewhere."
        )
        problems.append(problem("initial_state", message, initial[0].at("final")))
    return len(initial) == 1 and not initial[0].spec.get("final")


def _transition(
    draft: PartDraft,
    workflow: WorkflowDraft,
    finals: set[str],
    entity: EntityDef | None,
    lookup: Lookup,
    problems: list[Problem],
) -> TransitionDef:
    spec = draft.spec
    if spec["from"] == "*":
        from_states = tuple(name for name in workflow.states if name not in finals)
    else:
        from_states = tuple(spec["from"])
        for index, name in enumerate(from_states):
            at = child(draft.at("from"), index)
            if name not in workflow.states:
                problems.append(_unknown_state(name, workflow, at))
            elif name in finals:
                message = (
                    f"{name!r} is a final state: records never leave it. Remove it from "
                    '"from", or remove "final" from the state.'
                )
                problems.append(problem("final_state_exit", message, at))
    if spec["to"] not in workflow.states:
        problems.append(_unknown_state(spec["to"], workflow, draft.at("to")))
    inputs = _inputs(spec.get("inputs", {}), draft.at("inputs"), problems)
    scope = RuleScope(entity, tuple(inputs))
    when = spec.get("when")
    if when is not None:
        problems.extend(rule_problems(when, draft.at("when"), scope))
    actions, action_problems = build_actions(
        spec.get("actions", ()),
        draft.at("actions"),
        entity=entity,
        scope=scope,
        lookup=lookup,
        bundle=draft.bundle,
    )
    problems.extend(action_problems)
    return TransitionDef(
        name=draft.name,
        label=label_or_derived(spec, draft.name),
        from_states=from_states,
        to_state=str(spec["to"]),
        when=copy.deepcopy(when),
        roles=tuple(spec.get("roles", ())),
        not_by_creator=bool(spec.get("not_by_creator", False)),
        inputs=MappingProxyType(inputs),
        actions=actions,
        source=draft.source,
    )


def _unknown_state(name: str, workflow: WorkflowDraft, where: SourceRef) -> Problem:
    hint = did_you_mean(name, list(workflow.states))
    message = f"{name!r} is not a state of the workflow {workflow.name!r}.{hint}"
    return problem("unknown_state", message, where)


def _inputs(specs: Mapping[str, Mapping[str, Any]], where: SourceRef, problems: list[Problem]) -> dict[str, InputDef]:
    inputs: dict[str, InputDef] = {}
    for name, spec in specs.items():
        at = child(where, name)
        input_type = spec["type"]
        for option, applies, types in (
            ("choices", input_type == "enum", "enum"),
            ("max_length", input_type in _TEXT_INPUTS, "string and text"),
        ):
            if option in spec and not applies:
                message = (
                    f"{option!r} does not apply to {input_type} inputs (it applies to: "
                    f"{types}); remove it, or change the input's type."
                )
                problems.append(problem("inapplicable_option", message, child(at, option)))
        max_length = spec.get("max_length", DEFAULT_MAX_LENGTH.get(input_type))
        inputs[name] = InputDef(
            name=name,
            type=input_type,
            label=label_or_derived(spec, name),
            required=bool(spec.get("required", False)),
            choices=tuple(spec.get("choices", ())) if input_type == "enum" else (),
            max_length=int(max_length) if input_type in _TEXT_INPUTS and max_length else None,
        )
    return inputs


def _state(
    draft: PartDraft,
    default_labels: Mapping[str, Label],
    transitions: Mapping[str, TransitionDef],
    entity: EntityDef | None,
    lookup: Lookup,
    problems: list[Problem],
) -> StateDef:
    spec = draft.spec
    for option in ("required", "read_only"):
        for index, name in enumerate(spec.get(option, ())):
            if entity is None or name in entity.fields or name in SYSTEM_FIELDS:
                continue
            hint = did_you_mean(name, [*entity.fields, *SYSTEM_FIELDS])
            message = f"{name!r} is not a field of {entity.name!r}.{hint}"
            problems.append(problem("unknown_field", message, child(draft.at(option), index)))
    after = None
    if "max_duration" in spec:
        parsed = parse_duration(spec["max_duration"])
        if isinstance(parsed, str):
            message = f"{spec['max_duration']!r} is not a duration this engine reads: {parsed}."
            problems.append(problem("invalid_duration", message, draft.at("max_duration")))
        else:
            after = parsed
    for present, missing, hint in (
        ("max_duration", "escalation", 'say what happens then, e.g. {"transition": "escalate"}'),
        ("escalation", "max_duration", 'say after how long, e.g. "P3D"'),
    ):
        if present in spec and missing not in spec:
            message = f"missing required key {missing!r}: {present} needs it; {hint}."
            problems.append(problem("required", message, draft.source))
    escalation = None
    if "escalation" in spec:
        escalation = _escalation(draft, transitions, entity, lookup, after, problems)
    label = label_from_json(spec.get("label")) or default_labels.get(draft.name)
    return StateDef(
        name=draft.name,
        label=label or derive_label(draft.name),
        initial=bool(spec.get("initial", False)),
        final=bool(spec.get("final", False)),
        required=tuple(spec.get("required", ())),
        read_only=tuple(spec.get("read_only", ())),
        escalation=escalation,
    )


def _escalation(
    draft: PartDraft,
    transitions: Mapping[str, TransitionDef],
    entity: EntityDef | None,
    lookup: Lookup,
    after: Any,
    problems: list[Problem],
) -> EscalationDef | None:
    spec = draft.spec["escalation"]
    where = draft.at("escalation")
    name = spec.get("transition")
    if name is not None:
        transition = transitions.get(name)
        if transition is None:
            hint = did_you_mean(name, list(transitions))
            message = f"the workflow has no transition {name!r}.{hint}"
            problems.append(problem("unknown_transition", message, child(where, "transition")))
        elif draft.name not in transition.from_states:
            message = (
                f"the transition {name!r} does not leave {draft.name!r} (it goes from "
                f"{quoted_list(transition.from_states)}); escalate with a transition whose "
                "from includes this state."
            )
            problems.append(problem("unknown_transition", message, child(where, "transition")))
    actions, action_problems = build_actions(
        spec.get("actions", ()),
        child(where, "actions"),
        entity=entity,
        scope=RuleScope(entity, None, "escalation"),
        lookup=lookup,
        bundle=draft.bundle,
    )
    problems.extend(action_problems)
    if after is None:
        return None
    return EscalationDef(after=after, transition=name, actions=actions)


def _choice_problems(draft: WorkflowDraft, field: FieldDef) -> list[Problem]:
    problems = []
    choices = field.choice_values
    for name, state in draft.states.items():
        if name not in choices:
            hint = did_you_mean(name, list(choices))
            message = (
                f"{name!r} is not a choice of the field {field.name!r}.{hint} The states of a "
                "workflow are the choices of its field: add the choice to the field (an "
                "entity_overlay's add_choices does that for an inherited entity), or remove "
                "the state."
            )
            problems.append(problem("state_not_choice", message, state.source))
    missing = [c for c in choices if c not in draft.states]
    if missing:
        which = f"choices {quoted_list(missing)} of {field.name!r} are not states"
        if len(missing) == 1:
            which = f"choice {missing[0]!r} of {field.name!r} is not a state"
        message = (
            f"the {which} of the workflow; a record could hold a value the workflow does not "
            "know. Add the states, or remove the choices from the field."
        )
        problems.append(problem("choice_not_state", message, draft.at("field")))
    return problems


def _unreachable(draft: WorkflowDraft, transitions: Mapping[str, TransitionDef]) -> list[Problem]:
    initial = next(name for name, s in draft.states.items() if s.spec.get("initial"))
    reached = {initial}
    frontier = [initial]
    while frontier:
        current = frontier.pop()
        for transition in transitions.values():
            if current in transition.from_states and transition.to_state not in reached:
                reached.add(transition.to_state)
                frontier.append(transition.to_state)
    problems = []
    for name, state in draft.states.items():
        if name not in reached:
            message = (
                f"no sequence of transitions leads from the initial state {initial!r} to "
                f"{name!r}; add a transition to it, or remove the state."
            )
            problems.append(problem("unreachable_state", message, state.source))
    return problems


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
    _label_json(out, workflow.label, workflow.name)
    out["states"] = {name: _state_json(s, defaults) for name, s in workflow.states.items()}
    out["transitions"] = {name: _transition_json(t) for name, t in workflow.transitions.items()}
    return out


def _label_json(out: dict[str, Any], label: Label, name: str) -> None:
    if label != derive_label(name):
        out["label"] = label.to_json()


def _state_json(state: StateDef, defaults: Mapping[str, Label]) -> dict[str, Any]:
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


def _transition_json(transition: TransitionDef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _label_json(out, transition.label, transition.name)
    out["from"] = list(transition.from_states)
    out["to"] = transition.to_state
    if transition.when is not None:
        out["when"] = copy.deepcopy(transition.when)
    if transition.roles:
        out["roles"] = list(transition.roles)
    if transition.not_by_creator:
        out["not_by_creator"] = True
    if transition.inputs:
        out["inputs"] = {name: _input_json(i) for name, i in transition.inputs.items()}
    if transition.actions:
        out["actions"] = [action_to_json(a) for a in transition.actions]
    return out


def _input_json(value: InputDef) -> dict[str, Any]:
    out: dict[str, Any] = {"type": value.type}
    _label_json(out, value.label, value.name)
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
        body = _values_json(action)
    elif action.kind == "create":
        body = {"entity": action.entity}
        if action.values:
            body["values"] = _values_json(action)
        if action.as_name is not None:
            body["as"] = action.as_name
    elif action.kind == "update":
        if action.children is not None:
            body = {"children": {"entity": action.children[0], "reference": action.children[1]}}
        else:
            body = {"target": action.target}
        if action.where is not None:
            body["where"] = copy.deepcopy(action.where)
        body["values"] = _values_json(action)
    elif action.kind == "transition":
        body = {"name": action.transition}
        if action.target is not None:
            body["target"] = action.target
        if action.comment is not None:
            body["comment"] = action.comment
    elif action.kind == "webhook":
        body = {"subscription": action.subscription}
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
        if action.recipients:
            body["to"] = recipients_to_json(action.recipients)
        for key, text in (("title", action.title), ("message", action.message)):
            if text is not None:
                body[key] = copy.deepcopy(text)
    return {action.kind: body}


def _values_json(action: ActionDef) -> dict[str, Any]:
    return {name: copy.deepcopy(value) for name, value in action.values.items()}


#: Input types that hold text, and so accept max_length.


def _build(resolution: Resolution) -> tuple[Mapping[str, WorkflowDef], list[Problem]]:
    return build_workflows(resolution.drafts("workflow"), Lookup.of(resolution))


def _to_json(workflow: WorkflowDef, definitions: Definitions) -> dict[str, Any]:
    entity = definitions.entities.get(workflow.entity)
    return workflow_to_json(workflow, None if entity is None else entity.fields.get(workflow.field))


WORKFLOW = DocumentKind(
    name="workflow",
    plural="workflows",
    summary="the states and guarded transitions of an entity's enum field",
    draft=workflow_draft,
    build=_build,
    to_json=_to_json,
    duplicate_hint=", or change the existing one with a workflow_overlay document",
    overlay=OverlayKind("additions and changes to an inherited workflow", apply_workflow_overlays),
    after=("entity",),
)
