"""What a transition does and when it may: its actions, and the guards and computed values
they hold (JSON Logic, checked through ``engine.logic``).

Check the JSON Logic rules of a workflow: guards and computed action values.

A rule is checked twice: by ``engine.logic`` (operators, arguments, size), whose problems
keep their codes and are re-pointed from inside the rule to the rule's place in the
document; then the paths it reads are checked against the data a workflow rule is given:

- ``record.F`` and ``changes.F``: F a field or system field of the entity;
- ``inputs.X``: X an input of the transition (escalations have no inputs);
- ``user.name``, ``user.roles``, ``user.team``;
- ``now``.

Freeze the actions of a transition or an escalation into :class:`ActionDef` objects, and
check them against the entities they write.

A value in ``set`` and ``create`` follows one rule: a JSON object is a JSON Logic rule,
computed when the action runs (``{"var": "now"}``, ``{"var": "inputs.reason"}``); any
other value (a string, a number, a boolean, null, an array) is written as it is, and is
checked here against the field like a default. A literal object, for a ``json`` field,
is written with JSON Logic's literal operator: ``{"preserve": {...}}``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.errors import Problem
from engine.logic import LogicError, compile_rule
from engine.metadata._entities import Lookup
from engine.metadata._field_types import field_type
from engine.metadata._model import SYSTEM_FIELDS, EntityDef, FieldDef, SourceRef
from engine.metadata._problems import PROBLEM_CODES, child, did_you_mean, problem, quoted_list
from engine.metadata._recipients import recipient_field_problems, recipients_from_json, user_field_problems
from engine.metadata._values import default_problem
from engine.metadata._workflow_model import ActionDef

#: What a rule may read of the acting user.
USER_KEYS = ("name", "roles", "team")
#: The top-level keys of the data a workflow rule is given.
ROOTS = ("record", "changes", "inputs", "user", "now")


@dataclass(frozen=True)
class RuleScope:
    """What a rule may read: the entity of ``record``/``changes`` and the inputs.

    :param entity: the entity whose record the rule sees, or ``None`` when it is unknown
        (its problem is reported elsewhere; paths into it are then not checked).
    :param inputs: the names ``inputs.X`` may use; ``None`` when there are no inputs at all
        (an escalation runs without a user, so without a form).
    """

    entity: EntityDef | None
    inputs: tuple[str, ...] | None
    what: str = "transition"
    #: Records earlier ``create`` actions named (``as``), which ``created.NAME.FIELD`` reads.
    created: tuple[tuple[str, EntityDef | None], ...] = ()
    #: The entity of ``child.FIELD``: the children an ``update`` action's ``where`` reads.
    child: EntityDef | None = None
    #: Whether ``before.FIELD`` and ``event.KEY`` may be read (automations).
    automation: bool = False

    def with_created(self, name: str, entity: EntityDef | None) -> RuleScope:
        """This scope, where later rules may also read ``created.NAME``."""
        return dataclasses.replace(self, created=(*self.created, (name, entity)))


def rule_problems(rule: Any, where: SourceRef, scope: RuleScope) -> list[Problem]:
    """Every problem of ``rule`` written at ``where``, located in its document."""
    try:
        compiled = compile_rule(rule, generate_code=False)
    except LogicError as error:
        return [relocated_rule_problem(p, where) for p in error.problems]
    problems: list[Problem] = []
    for path in sorted(compiled.variables):
        reason = _variable_problem(path, scope)
        if reason is not None:
            code, message = reason
            problems.append(problem(code, message, where))
    return problems


def relocated_rule_problem(found: Problem, where: SourceRef) -> Problem:
    """A problem ``engine.logic`` found inside a rule, located in the rule's document."""
    # Codes of the rule language are registered as definition codes too; one it gains
    # later is still reported, as "invalid", rather than lost.
    code = found.code if found.code in PROBLEM_CODES else "invalid"
    message = found.message if found.message.endswith((".", "?", "!")) else found.message + "."
    return Problem(code, message, file=where.file, pointer=where.pointer + (found.pointer or ""))


def _field_problem(path: str, key: str, entity: EntityDef | None) -> tuple[str, str] | None:
    if not key or entity is None or key in entity.fields or key in SYSTEM_FIELDS:
        return None
    names = [*entity.fields, *SYSTEM_FIELDS]
    return "unknown_field", (
        f"the rule reads {path!r}, but {key!r} is not a field of {entity.name!r}.{did_you_mean(key, names)}"
    )


def _variable_problem(path: str, scope: RuleScope) -> tuple[str, str] | None:
    root, _, rest = path.partition(".")
    key = rest.partition(".")[0]
    if root in ("record", "changes") or (root == "before" and scope.automation):
        return _field_problem(path, key, scope.entity)
    if root == "child" and scope.child is not None:
        return _field_problem(path, key, scope.child)
    if root == "event" and scope.automation:
        return None
    if root == "created" and scope.created:
        named = dict(scope.created)
        if not rest:
            return None
        if key not in named:
            return "unknown_variable", (
                f"the rule reads {path!r}, but no earlier create action is named {key!r}."
                f'{did_you_mean(key, list(named))} Name a create action with "as".'
            )
        return _field_problem(path, rest.partition(".")[2].partition(".")[0], named[key])
    if root == "inputs":
        if scope.inputs is None:
            return "unknown_variable", (
                f"the rule reads {path!r}, but an {scope.what} has no inputs (it runs "
                "without a user filling a form); use record, user or now."
            )
        if not rest or key in scope.inputs:
            return None
        declared = (
            f"Its inputs: {quoted_list(scope.inputs)}." if scope.inputs else "It declares none: add it under inputs."
        )
        return "unknown_variable", (
            f"the rule reads {path!r}, but {key!r} is not an input of this {scope.what}."
            f"{did_you_mean(key, scope.inputs)} {declared}"
        )
    if root == "user":
        if not rest or key in USER_KEYS:
            return None
        readable = [f"user.{k}" for k in USER_KEYS]
        return "unknown_variable", (
            f"the rule reads {path!r}; of the user, a rule can read {quoted_list(readable)}."
            f"{did_you_mean(f'user.{key}', readable)}"
        )
    if root == "now" and not rest:
        return None
    roots = [*ROOTS, *(("before", "event") if scope.automation else ()), *(("created",) if scope.created else ())]
    roots += ["child"] if scope.child is not None else []
    readable = ["record.FIELD", "changes.FIELD", "inputs.NAME", "user.name", "user.roles", "user.team", "now"]
    if scope.automation:
        readable[1:3] = ["before.FIELD", "event.KEY"]
    readable += ["created.NAME.FIELD"] if scope.created else []
    readable += ["child.FIELD"] if scope.child is not None else []
    return "unknown_variable", (
        f"the rule reads {path!r}, which is not in the data {'an automation' if scope.automation else 'a workflow'} "
        f"rule is given.{did_you_mean(root, roots)} It may read {', '.join(readable[:-1])} and {readable[-1]}."
    )


#: The system field an assign action writes unless it names another field.
DEFAULT_ASSIGN_FIELD = "owner"
#: Field types that can hold a user's name, besides ``owner``.
_USER_FIELD_TYPES = ("string",)


def build_actions(
    actions: Sequence[Mapping[str, Any]],
    where: SourceRef,
    *,
    entity: EntityDef | None,
    scope: RuleScope,
    lookup: Lookup,
    bundle: str,
) -> tuple[tuple[ActionDef, ...], list[Problem]]:
    """The frozen actions written at ``where`` (an ``actions`` list) and their problems.

    :param entity: the entity of the workflow (``None`` when unknown: nothing is checked
        against its fields then).
    :param scope: what rule values may read.
    :param bundle: the bundle the actions are written in (which entities it sees).
    """
    built: list[ActionDef] = []
    problems: list[Problem] = []
    for index, action in enumerate(actions):
        at = child(where, index)
        ((kind, body),) = action.items()
        at_body = child(at, kind)
        if kind == "set":
            problems.extend(_values_problems(body, at_body, entity, scope, lookup))
            built.append(ActionDef("set", values=_frozen_values(body), source=at))
        elif kind == "create":
            target = lookup.entity(body["entity"], bundle)
            if target is None:
                problems.extend(lookup.unknown_entity(body["entity"], bundle, child(at_body, "entity")))
            values = body.get("values", {})
            problems.extend(_values_problems(values, child(at_body, "values"), target, scope, lookup))
            name = body.get("as")
            if name is not None:
                if name in dict(scope.created):
                    message = f"an earlier create action is already named {name!r}; name each created record once."
                    problems.append(problem("duplicate_created", message, child(at_body, "as")))
                scope = scope.with_created(name, target)
            built.append(
                ActionDef("create", values=_frozen_values(values), entity=body["entity"], as_name=name, source=at)
            )
        elif kind == "update":
            update, found = _update_action(body, at_body, entity, scope, lookup, bundle)
            problems.extend(found)
            built.append(dataclasses.replace(update, source=at))
        elif kind == "transition":
            if "target" in body and entity is not None:
                problems.extend(_reference_problems(entity, body["target"], child(at_body, "target"))[1])
            built.append(
                ActionDef(
                    "transition",
                    transition=body["name"],
                    target=body.get("target"),
                    comment=body.get("comment"),
                    source=at,
                )
            )
        elif kind == "webhook":
            built.append(ActionDef("webhook", subscription=body["subscription"], source=at))
        elif kind == "assign":
            name = body.get("field", DEFAULT_ASSIGN_FIELD)
            if entity is not None and "field" in body:
                problems.extend(_assign_field_problems(entity, name, child(at_body, "field")))
            built.append(
                ActionDef(
                    "assign",
                    field=name,
                    role=body["role"],
                    team=body.get("team"),
                    strategy=body.get("strategy", "round_robin"),
                    source=at,
                )
            )
        elif kind == "rescore":
            built.append(ActionDef("rescore", scorings=tuple(body.get("scorings", ())), source=at))
        else:
            notify, found = _notify_action(body, at_body, entity, scope, lookup, bundle)
            problems.extend(found)
            built.append(dataclasses.replace(notify, source=at))
    return tuple(built), problems


def _notify_action(
    body: Mapping[str, Any], where: SourceRef, entity: EntityDef | None, scope: RuleScope, lookup: Lookup, bundle: str
) -> tuple[ActionDef, list[Problem]]:
    """A ``notify`` action: its topic, recipients, and title and message (strings or rules)."""
    recipients = recipients_from_json(body.get("to", ()))
    problems = recipient_field_problems(recipients, entity, child(where, "to"))
    for index, item in enumerate(body.get("to", ())):
        if isinstance(item, dict) and "children" in item:
            at = child(where, "to", index, "children")
            written, found = _children_problems(item["children"], at, entity, lookup, bundle)
            problems.extend(found)
            if written is not None:
                problems.extend(user_field_problems(written, item["children"]["field"], child(at, "field")))
            if "where" in item["children"]:
                child_scope = dataclasses.replace(scope, child=written)
                problems.extend(rule_problems(item["children"]["where"], child(at, "where"), child_scope))
    for key in ("title", "message"):
        if isinstance(body.get(key), dict):
            problems.extend(rule_problems(body[key], child(where, key), scope))
    action = ActionDef(
        "notify",
        topic=body["topic"],
        recipients=recipients,
        title=copy.deepcopy(body.get("title")),
        message=copy.deepcopy(body.get("message")),
    )
    return action, problems


def _reference_problems(entity: EntityDef, name: str, where: SourceRef) -> tuple[str | None, list[Problem]]:
    """The entity the reference field ``name`` of ``entity`` points to, or the problem."""
    field = entity.fields.get(name)
    if field is None:
        message = f"{name!r} is not a field of {entity.name!r}.{did_you_mean(name, list(entity.fields))}"
        return None, [problem("unknown_field", message, where)]
    if field.type != "reference" or field.target is None:
        message = (
            f"{name!r} is a {field.type} field; an action reaches another record only through a "
            "reference field (one that points to a record)."
        )
        return None, [problem("not_reference", message, where)]
    return field.target, []


def _children_problems(
    spec: Mapping[str, Any], at: SourceRef, entity: EntityDef | None, lookup: Lookup, bundle: str
) -> tuple[EntityDef | None, list[Problem]]:
    """The entity of ``children`` (``{"entity", "reference"}``, written at ``at``) and the
    problems: an unknown entity, or a reference that does not point to ``entity``."""
    written = lookup.entity(spec["entity"], bundle)
    if written is None:
        return None, lookup.unknown_entity(spec["entity"], bundle, child(at, "entity"))
    name, problems = _reference_problems(written, spec["reference"], child(at, "reference"))
    if name is not None and entity is not None and name != entity.name:
        message = (
            f"{spec['reference']!r} of {written.name!r} points to {name!r}, not to {entity.name!r}: "
            f"the children of a {entity.name} are the records whose reference points to it."
        )
        problems.append(problem("not_reference", message, child(at, "reference")))
    return written, problems


def _update_action(
    body: Mapping[str, Any],
    where: SourceRef,
    entity: EntityDef | None,
    scope: RuleScope,
    lookup: Lookup,
    bundle: str,
) -> tuple[ActionDef, list[Problem]]:
    """An ``update`` action: of the record a reference points to, or of the children."""
    problems: list[Problem] = []
    values = body["values"]
    written: EntityDef | None = None
    children: tuple[str, str] | None = None
    if "target" in body:
        if entity is not None:
            name, problems = _reference_problems(entity, body["target"], child(where, "target"))
            written = lookup.entity(name, bundle) if name is not None else None
    else:
        spec = body["children"]
        children = (spec["entity"], spec["reference"])
        written, found = _children_problems(spec, child(where, "children"), entity, lookup, bundle)
        problems.extend(found)
    if "where" in body:
        problems.extend(rule_problems(body["where"], child(where, "where"), dataclasses.replace(scope, child=written)))
    problems.extend(_values_problems(values, child(where, "values"), written, scope, lookup))
    action = ActionDef(
        "update",
        values=_frozen_values(values),
        entity=written.name if written is not None else None,
        target=body.get("target"),
        children=children,
        where=copy.deepcopy(body.get("where")),
    )
    return action, problems


def _frozen_values(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({name: copy.deepcopy(value) for name, value in values.items()})


def _values_problems(
    values: Mapping[str, Any],
    where: SourceRef,
    entity: EntityDef | None,
    scope: RuleScope,
    lookup: Lookup,
) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in values.items():
        at = child(where, name)
        if entity is not None:
            problems.extend(_target_problems(entity, name, value, at, lookup))
        if isinstance(value, dict):
            problems.extend(rule_problems(value, at, scope))
    return problems


def _target_problems(entity: EntityDef, name: str, value: Any, where: SourceRef, lookup: Lookup) -> list[Problem]:
    if name in lookup.driven_fields(entity.name):
        message = (
            f"{name!r} of {entity.name!r} is driven by a workflow: it changes only by running "
            "that workflow's transitions (and a new record starts in the initial state). "
            "Remove it from the values."
        )
        return [problem("state_field_action", message, where)]
    if name == DEFAULT_ASSIGN_FIELD:
        if isinstance(value, dict) or value is None or isinstance(value, str):
            return []
        written = json.dumps(value, ensure_ascii=False)
        message = f"the owner is a user's name; write a string, not {written}."
        return [problem("invalid_action_value", message, where)]
    field = entity.fields.get(name)
    if field is None:
        if name in SYSTEM_FIELDS:
            message = (
                f"{name!r} is a system field the engine keeps itself; only 'owner' of the "
                "system fields can be set. Remove it."
            )
        else:
            hint = did_you_mean(name, [*entity.fields, DEFAULT_ASSIGN_FIELD])
            message = f"{name!r} is not a field of {entity.name!r}.{hint}"
        return [problem("unknown_field", message, where)]
    if field_type(field.type).assigned:
        message = f"{name!r} is numbered by the engine when a record is created; an action cannot set it. Remove it."
        return [problem("invalid_action_value", message, where)]
    if isinstance(value, dict):
        return []
    reason = _literal_problem(field, value)
    if reason is None:
        return []
    written = json.dumps(value, ensure_ascii=False)
    message = f"{written} is not a valid value of {name!r}: {reason}."
    return [problem("invalid_action_value", message, where)]


def _literal_problem(field: FieldDef, value: Any) -> str | None:
    if value is None:
        return "the field is required, so it cannot be set to null" if field.required else None
    if field.type != "reference":
        return default_problem(field, value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return 'write the id of a record (a whole number from 1), or a rule: {"var": "record.id"}'
    return None


def _assign_field_problems(entity: EntityDef, name: str, where: SourceRef) -> list[Problem]:
    if name == DEFAULT_ASSIGN_FIELD:
        return []
    field = entity.fields.get(name)
    if field is None:
        hint = did_you_mean(name, [*entity.fields, DEFAULT_ASSIGN_FIELD])
        message = f"{name!r} is not a field of {entity.name!r}.{hint}"
        return [problem("unknown_field", message, where)]
    if field.type not in _USER_FIELD_TYPES:
        message = (
            f"{name!r} is a {field.type} field and cannot hold a user's name; assign to "
            f"'owner' (the default) or to a string field."
        )
        return [problem("not_user_field", message, where)]
    return []
