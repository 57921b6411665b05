"""The services' problems as sentences in the signed-in user's language.

The services refuse with problems that carry a stable code (``required``, ``choice``,
``wrong_state``, ``required_field``...), the field or fields they are about, and an English
message written for the CLI and the API, with raw names. The pages say the same thing from
the code, with the labels of the entity's fields, the workflow's states and transitions
and the roles, in English or Chinese. A code without a sentence here (or one whose labels
cannot be found) keeps the service's message, so nothing a service says is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import CrmError, Problem
from engine.metadata import Definitions, EntityDef, FieldDef, Label, TransitionDef, WorkflowDef, field_type
from engine.workflow import HIDDEN_FIELDS

from ._i18n import current_language, word

_VERBS = {
    "read": ("read", "查看"),
    "create": ("create", "新建"),
    "update": ("change", "修改"),
    "delete": ("delete", "删除"),
}


@dataclass(frozen=True)
class Situation:
    """What a problem is about: an entity, perhaps one record of it, perhaps a transition."""

    definitions: Definitions
    entity: EntityDef
    record: Mapping[str, Any] | None = None
    workflow: WorkflowDef | None = None
    transition: TransitionDef | None = None
    #: the roles of the user refused
    roles: tuple[str, ...] = ()


#: code → (English, Chinese); ``{field}`` and the like are labels, already quoted.
_SENTENCES: Mapping[str, tuple[str, str]] = {
    # record fields
    "required": ("{field} is required; give it a value", "{field}为必填项,请填写"),
    "choice": ("{field} must be one of: {choices}", "{field}只能是以下之一:{choices}"),
    "min_length": ("{field} must be at least {n} characters long", "{field}至少需要 {n} 个字符"),
    "max_length": ("{field} must be at most {n} characters long; shorten it", "{field}最多 {n} 个字符,请缩短"),
    "pattern": ("{field} must match the pattern {n}", "{field}必须符合格式 {n}"),
    "minimum": ("{field} must be at least {n}", "{field}不能小于 {n}"),
    "maximum": ("{field} must be at most {n}", "{field}不能大于 {n}"),
    "scale": ("{field} must have at most {n} digits after the decimal point", "{field}小数点后最多 {n} 位"),
    "precision": ("{field} must have at most {n} digits before the decimal point", "{field}整数部分最多 {n} 位"),
    "duplicate": (
        "{field} lists a value more than once; give each value once",
        "{field}中有重复的值,每个值只能出现一次",
    ),
    "read_only": ("{field} is read-only once the record exists", "{field}在记录创建后不能修改"),
    "read_only_field": ("{field} is read-only for your roles", "您的角色不能修改{field}"),
    "hidden_field": ("{field} is hidden from your roles", "{field}对您的角色不可见"),
    "workflow_field": ("{field} changes only through the transitions of its workflow", "{field}只能通过流程操作更改"),
    "read_only_in_state": ("{field} cannot change while the record is {state}", "记录处于{state}时不能修改{field}"),
    "unknown_reference": (
        "{field}: that {target} record does not exist; pick an existing one",
        "{field}所选的{target}记录不存在,请选择已有记录",
    ),
    "unique": (
        "another {entity} record already has this {field}; values must be unique",
        "已有其他{entity}记录使用相同的{field},该值必须唯一",
    ),
    "stale_version": (
        "this record was changed by someone else since you read it; reload it and try again",
        "此记录在您读取后已被他人修改,请刷新后重试",
    ),
    "forbidden_operation": ("your roles may not {verb} {entity} records", "您的角色无权{verb}{entity}记录"),
    "forbidden_record": (
        "your roles let you read this record but not {verb} it",
        "您的角色可以查看此记录,但无权{verb}",
    ),
    "restricted": (
        "{count} {entity} records refer to it through {field}; delete them or point them elsewhere first",
        "有 {count} 条{entity}记录通过{field}引用它,请先删除它们或改为引用其他记录",
    ),
    # workflow refusals
    "no_assignee": (
        "this step assigns the record to a user with the role {role}{team}, and there is none; "
        "ask an administrator to create one",
        "此步骤要把记录分配给{team}角色为{role}的用户,但没有这样的用户,请联系管理员创建",
    ),
    "wrong_state": (
        "{transition} starts from {states}; the record is {state}",
        "{transition}只能从{states}开始,此记录当前为{state}",
    ),
    "role": ("{transition} needs the role {roles}; you have {held}", "{transition}需要{roles}角色,您的角色为{held}"),
    "separation_of_duties": (
        "{transition} must be done by someone other than the record's creator",
        "{transition}须由记录创建人以外的人执行",
    ),
    "input_required": ("{transition} needs {inputs}", "{transition}需要填写{inputs}"),
    "input_invalid": ("{input} is not valid: {detail}", "{input}的值无效"),
    "guard": ("the condition of {transition} is not met: {rule}", "不满足{transition}的执行条件:{rule}"),
    "required_field": (
        "fill in {fields} before the record can enter {state}",
        "进入{state}前需要填写{fields}",
    ),
}

#: English sentences of a field's ``type`` and ``format`` problems, per field type.
_TYPES: Mapping[str, tuple[str, str]] = {
    "text": ("{field} must be text", "{field}必须是文本"),
    "integer": ("{field} must be a whole number", "{field}必须是整数"),
    "decimal": ("{field} must be a number such as 12.50", "{field}必须是数字,例如 12.50"),
    "boolean": ("{field} must be yes or no", "{field}只能是“是”或“否”"),
    "date": ("{field} must be a date written YYYY-MM-DD", "{field}必须是日期,格式为 YYYY-MM-DD"),
    "datetime": (
        "{field} must be a date and time like 2026-01-31T09:30:00Z",
        "{field}必须是日期时间,例如 2026-01-31T09:30:00Z",
    ),
    "enum": _SENTENCES["choice"],
    "multi_enum": ("{field} must be a list of choices from: {choices}", "{field}只能从以下选项中选择:{choices}"),
    "reference": ("{field} must be an existing {target} record", "{field}必须是已存在的{target}记录"),
}
_FORMATS: Mapping[str, tuple[str, str]] = {
    "email": ("{field} must be an email address like name@example.com", "{field}必须是邮箱地址,例如 name@example.com"),
    "phone": (
        "{field} must be a phone number: 5 to 32 digits, spaces, ( ) . - and an optional leading +",
        "{field}必须是电话号码:5 到 32 位数字,可含空格、( ) . - 及开头的 +",
    ),
    "url": (
        "{field} must be an http:// or https:// address with a host",
        "{field}必须是以 http:// 或 https:// 开头的网址",
    ),
    "date": ("{field} must be a real calendar date written YYYY-MM-DD", "{field}必须是有效日期,格式为 YYYY-MM-DD"),
    "datetime": (
        "{field} must be a valid date and time like 2026-01-31T09:30:00Z",
        "{field}必须是有效的日期时间,例如 2026-01-31T09:30:00Z",
    ),
    "json": ("{field} must be valid JSON", "{field}必须是有效的 JSON"),
    "multi_enum": ("{field} must be a list of choices", "{field}必须是选项列表"),
}


def _zh() -> bool:
    return current_language() == "zh"


def _label(label: Label) -> str:
    return label.get(current_language())


def _quoted(text: str) -> str:
    return f"「{text}」" if _zh() else f"“{text}”"


def _listed(items: Iterable[str], *, either: bool = False) -> str:
    items = list(items)
    if _zh():
        return ("或" if either else "、").join(items)
    return (" or " if either else ", ").join(items)


def _sentence(pair: tuple[str, str], **values: object) -> str:
    text = pair[1] if _zh() else pair[0]
    out = text.format(**values)
    return out[:1].upper() + out[1:]


# -- one problem ---------------------------------------------------------------------------------
def describe(situation: Situation, code: str, message: str, fields: Iterable[str] = ()) -> str:
    """A problem of ``code`` about ``fields``, in the user's language with labels (else ``message``)."""
    names = tuple(n for n in fields if n)
    try:
        text = _workflow_text(situation, code, message, names) if code in _WORKFLOW_CODES else None
        if text is None:
            text = _field_text(situation, code, message, names)
    except (KeyError, IndexError, ValueError):  # a name the definitions do not know: the service's words
        text = None
    return text if text is not None else message


def problem_text(situation: Situation, problem: Problem) -> str:
    """A :class:`Problem` as :func:`describe` says it (or from its ``values``, for the
    problems whose words name records of other entities or roles)."""
    if problem.values is not None and problem.code in _VALUED:
        try:
            return _VALUED[problem.code](situation, problem.values)
        except (KeyError, TypeError):  # values of another shape: the service's words
            return problem.message
    return describe(situation, problem.code, problem.message, (problem.field or "").split(","))


def _restricted_text(situation: Situation, values: Mapping[str, object]) -> str:
    child = situation.definitions.entities[str(values["entity"])]
    return _sentence(
        _SENTENCES["restricted"],
        count=values["count"],
        entity=_label(child.label),
        field=_field_label(child, str(values["field"])),
    )


def _no_assignee_text(situation: Situation, values: Mapping[str, object]) -> str:
    team = values.get("team")
    where = "" if not team else (f"{team} 团队中" if _zh() else f" in team {team}")
    return _sentence(_SENTENCES["no_assignee"], role=_role_label(situation, str(values["role"])), team=where)


_VALUED: Mapping[str, Callable[[Situation, Mapping[str, object]], str]] = {
    "restricted": _restricted_text,
    "no_assignee": _no_assignee_text,
}


def error_text(situation: Situation | None, error: CrmError, problems: Iterable[Problem] | None = None) -> str:
    """What a refusal says: its problems in the user's language; the service's own message
    (with every reason it gives) when none of them has a sentence here, or it is about no
    entity (``situation`` None)."""
    shown = list(error.problems if problems is None else problems)
    said = [p.message if situation is None else problem_text(situation, p) for p in shown]
    if any(text != p.message for text, p in zip(said, shown, strict=True)):
        return "; ".join(dict.fromkeys(said))
    reasons = [p.message for p in error.problems if p.message and p.message not in error.message]
    return error.message + ("" if not reasons else " — " + "; ".join(reasons))


def problem_describer(situation: Situation) -> Callable[[Problem], str]:
    """:func:`problem_text` bound to ``situation`` (what a form puts under a field)."""
    return lambda problem: problem_text(situation, problem)


# -- record fields -------------------------------------------------------------------------------
def _field_label(entity: EntityDef, name: str) -> str:
    f = entity.fields.get(name)
    if f is not None:
        return _quoted(_label(f.label))
    if name in ("owner", "created_at", "updated_at", "created_by", "id", "version"):
        return _quoted(str(word(name)))
    raise KeyError(name)


def _choices(f: FieldDef) -> str:
    return _listed(_label(c.label) for c in f.choices)


def _target(situation: Situation, f: FieldDef) -> str:
    target = situation.definitions.entities.get(f.target or "")
    return _label(target.label) if target is not None else str(f.target)


def _field_text(situation: Situation, code: str, message: str, names: tuple[str, ...]) -> str | None:
    entity = situation.entity
    if code in ("forbidden_operation", "forbidden_record"):
        return _permission_text(situation, code, message, names)
    if code == "stale_version":
        return _sentence(_SENTENCES[code])
    if len(names) != 1:
        return None
    name = names[0]
    field = _field_label(entity, name)
    f = entity.fields.get(name)
    if code in ("required", "duplicate", "read_only", "read_only_field", "hidden_field", "workflow_field"):
        return _sentence(_SENTENCES[code], field=field)
    if code == "unique":
        return _sentence(_SENTENCES[code], field=field, entity=_label(entity.label))
    if code == "read_only_in_state":
        state = _current_state(situation, name)
        return None if state is None else _sentence(_SENTENCES[code], field=field, state=_quoted(state))
    if f is None:
        return None
    if code in ("choice", "type", "format", "unknown_reference"):
        return _typed_text(situation, f, code, field)
    amount = {
        "min_length": f.min_length,
        "max_length": f.max_length,
        "pattern": f.pattern,
        "minimum": None if f.minimum is None else format(f.minimum, "f"),
        "maximum": None if f.maximum is None else format(f.maximum, "f"),
        "scale": f.scale,
        "precision": None if f.precision is None or f.scale is None else f.precision - f.scale,
    }.get(code)
    return None if amount is None else _sentence(_SENTENCES[code], field=field, n=amount)


def _typed_text(situation: Situation, f: FieldDef, code: str, field: str) -> str | None:
    values = {"field": field, "choices": _choices(f), "target": _target(situation, f)}
    if code in ("choice", "unknown_reference"):
        return _sentence(_SENTENCES[code], **values)
    pair = _FORMATS.get(f.type) if code == "format" else _TYPES.get(field_type(f.type).message_key)
    return None if pair is None else _sentence(pair, **values)


def _current_state(situation: Situation, name: str) -> str | None:
    """The label of the state that makes ``name`` read-only on the situation's record."""
    if situation.record is None:
        return None
    for w in situation.definitions.workflows_for(situation.entity.name):
        state = w.states.get(str(situation.record.get(w.field)))
        if state is not None and name in state.read_only:
            return _label(state.label)
    return None


def _permission_text(situation: Situation, code: str, message: str, names: tuple[str, ...]) -> str | None:
    if len(names) != 1 or names[0] not in _VERBS:
        return None
    operation = names[0]
    verb = _VERBS[operation][1 if _zh() else 0]
    if code == "forbidden_operation":
        if message != f"{operation} {situation.entity.name} is not allowed":
            return None  # about another entity (a workflow action's record): the service's words
        return _sentence(_SENTENCES[code], verb=verb, entity=_label(situation.entity.label))
    return _sentence(_SENTENCES[code], verb=verb)


# -- workflow refusals ---------------------------------------------------------------------------
_WORKFLOW_CODES = frozenset(
    ("wrong_state", "role", "separation_of_duties", "input_required", "input_invalid", "guard", "required_field")
)


def _state_label(workflow: WorkflowDef, name: str) -> str:
    return _quoted(_label(workflow.states[name].label))


def _workflow_text(situation: Situation, code: str, message: str, names: tuple[str, ...]) -> str | None:
    workflow, t = situation.workflow, situation.transition
    if workflow is None or t is None or HIDDEN_FIELDS in message:
        return None  # the service's words name no hidden field; a sentence from labels would
    transition = _quoted(_label(t.label))
    if code == "wrong_state":
        current = None if situation.record is None else situation.record.get(workflow.field)
        if current not in workflow.states:
            return None
        states = _listed((_state_label(workflow, s) for s in t.from_states), either=True)
        return _sentence(
            _SENTENCES[code], transition=transition, states=states, state=_state_label(workflow, str(current))
        )
    if code == "role":
        roles = _listed((_role_label(situation, r) for r in t.roles), either=True)
        held_text = _listed(_role_label(situation, r) for r in situation.roles) or str(word("none"))
        return _sentence(_SENTENCES[code], transition=transition, roles=roles, held=held_text)
    if code == "separation_of_duties":
        return _sentence(_SENTENCES[code], transition=transition)
    if code == "input_required":
        inputs = _listed(_quoted(_label(t.inputs[n].label)) for n in names)
        return _sentence(_SENTENCES[code], transition=transition, inputs=inputs) if names else None
    if code == "input_invalid":
        return _input_text(t, message, names)
    if code == "guard":
        rule = json.dumps(t.when, ensure_ascii=False, default=str)
        return _sentence(_SENTENCES[code], transition=transition, rule=rule)
    # required_field: the target state's fields
    fields = _listed(_field_label(situation.entity, n) for n in names)
    return _sentence(_SENTENCES[code], fields=fields, state=_state_label(workflow, t.to_state)) if names else None


def _role_label(situation: Situation, name: str) -> str:
    role = situation.definitions.roles.get(name)
    return _label(role.label) if role is not None else name


def _input_text(t: TransitionDef, message: str, names: tuple[str, ...]) -> str | None:
    if len(names) != 1:
        return None
    name = names[0]
    given = t.inputs[name]
    label = _quoted(_label(given.label))
    if given.choices:
        return _sentence(_SENTENCES["choice"], field=label, choices=_listed(given.choices))
    prefix = f"input {name}: "
    detail = "" if _zh() else (message[len(prefix) :] if message.startswith(prefix) else message)
    return _sentence(_SENTENCES["input_invalid"], input=label, detail=detail)
