"""The ``automation`` document kind: what the engine does by itself when a record changes,
when a date comes, or on a schedule. The frozen model, the draft, the checks, the stored
form and the :data:`AUTOMATION` kind, in the order data flows.

An automation names an entity, a trigger, an optional ``when`` rule and actions. Its
actions are the actions of a workflow transition (``set``, ``create``, ``update``,
``transition``, ``assign``, ``rescore``, ``notify``) plus ``webhook``; they are checked by
the same code (``_workflow_actions``), with a rule scope that also reads ``before`` (the
values a change replaced) and ``event``. What runs them is ``engine.automations``.

Checks, each with its pointer: the entity exists; a trigger's options fit its event
(``fields`` for ``updated``, ``transitions`` for ``transitioned``, ``field``/``offset``/
``yearly``/``catch_up`` for ``date``, ``cron`` for ``schedule``); named fields and
transitions exist; a date trigger counts from a date or datetime field; offsets are signed
durations in days or weeks; a cron has five valid fields; a ``transition`` action names a
transition of the record it runs on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, get_args

from engine.errors import Problem
from engine.metadata._cron import cron_problem
from engine.metadata._entities import Lookup, driven_map
from engine.metadata._fields import label_from_json, label_or_derived
from engine.metadata._model import Definitions, EntityDef, Label, SourceRef
from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION, DocumentKind, Placed, Resolution, build_each
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._roles import known_roles, notify_role_problems
from engine.metadata._workflow_actions import RuleScope, build_actions, rule_problems
from engine.metadata._workflow_model import ActionDef, WorkflowDef
from engine.metadata._workflows import action_to_json

TriggerEvent = Literal["created", "updated", "deleted", "transitioned", "date", "schedule"]
TRIGGER_EVENTS: tuple[TriggerEvent, ...] = get_args(TriggerEvent)
#: Events that come from a change to one record (the others come from the clock).
RECORD_EVENTS: tuple[TriggerEvent, ...] = ("created", "updated", "deleted", "transitioned")
Mode = Literal["transaction", "background"]

#: Which trigger options each event takes.
_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "created": (),
    "updated": ("fields",),
    "deleted": (),
    "transitioned": ("transitions",),
    "date": ("field", "offset", "yearly", "catch_up"),
    "schedule": ("cron",),
}
_OFFSET = re.compile(r"(?P<sign>[+-])?P(?:(?P<weeks>\d{1,4})W)?(?:(?P<days>\d{1,5})D)?")
#: How late a yearly occurrence may still fire when no catch_up is written.
YEARLY_CATCH_UP = timedelta(days=7)


@dataclass(frozen=True)
class TriggerDef:
    """What sets an automation off (see the meta-schema for each event's options)."""

    event: TriggerEvent
    fields: tuple[str, ...] = ()
    transitions: tuple[str, ...] = ()
    field: str | None = None
    offset: timedelta = timedelta(0)
    yearly: bool = False
    catch_up: timedelta | None = None
    cron: str | None = None

    @property
    def on_record(self) -> bool:
        """Whether a change to a record fires it (rather than the clock)."""
        return self.event in RECORD_EVENTS


@dataclass(frozen=True)
class AutomationDef:
    """An ``automation`` document, checked and frozen."""

    name: str
    entity: str
    label: Label
    trigger: TriggerDef
    actions: tuple[ActionDef, ...]
    when: Any = None
    mode: Mode = "transaction"
    enabled: bool = True
    description: Label | None = None
    source: SourceRef | None = field(default=None, compare=False, repr=False)


def automation_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> Placed:
    spec = {k: v for k, v in document.items() if k not in ("$schema", "schema_version", "kind")}
    return Placed(str(document["name"]), spec, {}, where, bundle)


def parse_offset(text: str) -> timedelta | str:
    """The signed duration ``text`` means (``-P60D``, ``P1D``, ``P2W``), or why it means none."""
    match = _OFFSET.fullmatch(text)
    if match is None or (match["weeks"] is None and match["days"] is None):
        return 'write a signed ISO 8601 duration in days or weeks, such as "-P60D" (60 days before) or "P1D"'
    days = int(match["weeks"] or 0) * 7 + int(match["days"] or 0)
    return timedelta(days=-days if match["sign"] == "-" else days)


def _trigger(
    spec: Mapping[str, Any], where: SourceRef, entity: EntityDef | None, workflows: list[WorkflowDef]
) -> tuple[TriggerDef, list[Problem]]:
    event: TriggerEvent = spec["event"]
    problems: list[Problem] = []
    for option in spec:
        if option != "event" and option not in _OPTIONS[event]:
            takes = quoted_list(_OPTIONS[event]) if _OPTIONS[event] else "no other option"
            message = f"a {event} trigger takes {takes}, not {option!r}."
            problems.append(problem("invalid_trigger", message, child(where, option)))
    offset, catch_up = timedelta(0), None
    for option in ("offset", "catch_up"):
        if option in spec:
            parsed = parse_offset(spec[option])
            if isinstance(parsed, str):
                problems.append(problem("invalid_offset", f"{spec[option]!r}: {parsed}.", child(where, option)))
            elif option == "offset":
                offset = parsed
            else:
                catch_up = abs(parsed)
    if event == "date":
        problems.extend(_date_field_problems(spec, where, entity))
    if event == "schedule":
        reason = cron_problem(spec["cron"]) if "cron" in spec else 'a schedule trigger needs "cron"'
        if reason is not None:
            problems.append(problem("invalid_cron", reason + ".", child(where, "cron" if "cron" in spec else "event")))
    if entity is not None:
        for index, name in enumerate(spec.get("fields", ())):
            if name not in entity.fields and name != "owner":
                message = f"{name!r} is not a field of {entity.name!r}.{did_you_mean(name, list(entity.fields))}"
                problems.append(problem("unknown_field", message, child(child(where, "fields"), index)))
        known = sorted({t for w in workflows for t in w.transitions})
        for index, name in enumerate(spec.get("transitions", ())):
            if name not in known:
                hint = did_you_mean(name, known) or (f" Its transitions: {quoted_list(known)}." if known else "")
                message = f"{entity.name!r} has no transition {name!r}.{hint}"
                problems.append(problem("unknown_transition", message, child(child(where, "transitions"), index)))
    trigger = TriggerDef(
        event=event,
        fields=tuple(spec.get("fields", ())),
        transitions=tuple(spec.get("transitions", ())),
        field=spec.get("field"),
        offset=offset,
        yearly=bool(spec.get("yearly", False)),
        catch_up=catch_up,
        cron=spec.get("cron"),
    )
    return trigger, problems


def _date_field_problems(spec: Mapping[str, Any], where: SourceRef, entity: EntityDef | None) -> list[Problem]:
    name = spec.get("field")
    if name is None:
        return [problem("invalid_trigger", 'a date trigger needs "field": the date it counts from.', where)]
    if entity is None:
        return []
    found = entity.fields.get(name)
    if found is None and name not in ("created_at", "updated_at"):
        dates = [n for n, f in entity.fields.items() if f.type in ("date", "datetime")]
        message = f"{name!r} is not a field of {entity.name!r}.{did_you_mean(name, dates)}"
        return [problem("unknown_field", message, child(where, "field"))]
    if found is not None and found.type not in ("date", "datetime"):
        message = f"{name!r} is a {found.type} field; a date trigger counts from a date or datetime field."
        return [problem("invalid_trigger", message, child(where, "field"))]
    return []


def _transition_problems(
    actions: tuple[ActionDef, ...], entity: EntityDef, lookup_workflows: Mapping[str, WorkflowDef]
) -> list[Problem]:
    """``transition`` actions naming a transition the record they run on does not have."""
    problems: list[Problem] = []
    for action in actions:
        if action.kind != "transition" or action.source is None:
            continue
        on = entity.name
        if action.target is not None:
            reference = entity.fields.get(action.target)
            if reference is None or reference.target is None:
                continue  # reported by the action's own checks
            on = reference.target
        known = sorted({t for w in lookup_workflows.values() if w.entity == on for t in w.transitions})
        if action.transition not in known:
            hint = did_you_mean(action.transition or "", known) or (
                f" Its transitions: {quoted_list(known)}." if known else f" No workflow drives {on!r}."
            )
            message = f"{on!r} has no transition {action.transition!r}.{hint}"
            problems.append(problem("unknown_transition", message, child(child(action.source, "transition"), "name")))
    return problems


def transition_action_problems(resolution: Resolution) -> list[Problem]:
    """The workflows' own ``transition`` actions, checked once every workflow is built."""
    workflows: Mapping[str, WorkflowDef] = resolution.definitions("workflow")
    entities: Mapping[str, EntityDef] = resolution.definitions("entity")
    problems: list[Problem] = []
    for workflow in workflows.values():
        entity = entities.get(workflow.entity)
        if entity is None:
            continue
        for transition in workflow.transitions.values():
            problems.extend(_transition_problems(transition.actions, entity, workflows))
    return problems


def _notify_role_problems(resolution: Resolution) -> list[Problem]:
    """The roles the automations' notify actions tell, once roles are built."""
    roles = resolution.definitions("role")
    known = known_roles(roles, resolution.broken("role"))
    automations: Mapping[str, AutomationDef] = resolution.definitions("automation")
    return [p for a in automations.values() for p in notify_role_problems(a.actions, roles, known)]


def _build_one(
    draft: Placed, lookup: Lookup, workflows: Mapping[str, WorkflowDef]
) -> tuple[AutomationDef, list[Problem]]:
    spec = draft.spec
    where = draft.source
    problems: list[Problem] = []
    entity = lookup.entity(spec["entity"], draft.bundle)
    if entity is None:
        problems.extend(lookup.unknown_entity(spec["entity"], draft.bundle, child(where, "entity")))
    own = [w for w in workflows.values() if entity is not None and w.entity == entity.name]
    trigger, found = _trigger(spec["trigger"], child(where, "trigger"), entity, own)
    problems.extend(found)
    scope = RuleScope(entity, None, "automation", automation=True)
    if "when" in spec:
        problems.extend(rule_problems(spec["when"], child(where, "when"), scope))
    actions, found = build_actions(
        spec["actions"], child(where, "actions"), entity=entity, scope=scope, lookup=lookup, bundle=draft.bundle
    )
    problems.extend(found)
    if entity is not None:
        problems.extend(_transition_problems(actions, entity, workflows))
    automation = AutomationDef(
        name=draft.name,
        entity=spec["entity"],
        label=label_or_derived(spec, draft.name),
        trigger=trigger,
        actions=actions,
        when=spec.get("when"),
        mode=spec.get("mode", "transaction"),
        enabled=spec.get("enabled", True),
        description=label_from_json(spec.get("description")),
        source=where,
    )
    return automation, problems


def _build(resolution: Resolution) -> tuple[Mapping[str, AutomationDef], list[Problem]]:
    workflows: Mapping[str, WorkflowDef] = resolution.definitions("workflow")
    driven = driven_map((w.entity, w.field) for w in workflows.values())
    lookup = dataclasses.replace(Lookup.of(resolution), driven=driven)
    return build_each(resolution.drafts("automation"), lambda d: _build_one(d, lookup, workflows))


def automation_to_json(automation: AutomationDef, definitions: Definitions | None = None) -> dict[str, Any]:
    """One automation as an automation document (reads back into an equal one)."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "automation", "name": automation.name}
    out["entity"] = automation.entity
    if automation.label != derive_label(automation.name):
        out["label"] = automation.label.to_json()
    if automation.description is not None:
        out["description"] = automation.description.to_json()
    out["trigger"] = _trigger_json(automation.trigger)
    if automation.when is not None:
        out["when"] = automation.when
    out["actions"] = [action_to_json(a) for a in automation.actions]
    if automation.mode != "transaction":
        out["mode"] = automation.mode
    if not automation.enabled:
        out["enabled"] = False
    return out


def _signed_days(value: timedelta) -> str:
    return f"{'-' if value < timedelta(0) else ''}P{abs(value.days)}D"


def _trigger_json(trigger: TriggerDef) -> dict[str, Any]:
    out: dict[str, Any] = {"event": trigger.event}
    if trigger.fields:
        out["fields"] = list(trigger.fields)
    if trigger.transitions:
        out["transitions"] = list(trigger.transitions)
    if trigger.field is not None:
        out["field"] = trigger.field
    if trigger.event == "date":
        out["offset"] = _signed_days(trigger.offset)
    if trigger.yearly:
        out["yearly"] = True
    if trigger.catch_up is not None:
        out["catch_up"] = _signed_days(trigger.catch_up)
    if trigger.cron is not None:
        out["cron"] = trigger.cron
    return out


AUTOMATION = DocumentKind(
    name="automation",
    plural="automations",
    summary="what the engine does by itself when a record changes, a date comes or a schedule fires",
    draft=automation_draft,
    build=_build,
    to_json=automation_to_json,
    after=("entity", "workflow", "role"),
    # the workflows' own transition actions are checked here, once every workflow is built
    checks=(transition_action_problems, _notify_role_problems),
)
