"""Check the JSON Logic rules of a workflow: guards and computed action values.

A rule is checked twice: by ``engine.logic`` (operators, arguments, size), whose problems
keep their codes and are re-pointed from inside the rule to the rule's place in the
document; then the paths it reads are checked against the data a workflow rule is given:

- ``record.F`` and ``changes.F``: F a field or system field of the entity;
- ``inputs.X``: X an input of the transition (escalations have no inputs);
- ``user.name``, ``user.roles``, ``user.team``;
- ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import Problem
from engine.logic import LogicError, compile_rule
from engine.metadata._model import SYSTEM_FIELDS, EntityDef, SourceRef
from engine.metadata._problems import PROBLEM_CODES, did_you_mean, problem, quoted_list

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


def _variable_problem(path: str, scope: RuleScope) -> tuple[str, str] | None:
    root, _, rest = path.partition(".")
    key = rest.partition(".")[0]
    if root in ("record", "changes"):
        entity = scope.entity
        if not rest or entity is None or key in entity.fields or key in SYSTEM_FIELDS:
            return None
        names = [*entity.fields, *SYSTEM_FIELDS]
        return "unknown_field", (
            f"the rule reads {path!r}, but {key!r} is not a field of {entity.name!r}.{did_you_mean(key, names)}"
        )
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
    hint = did_you_mean(root, ROOTS)
    return "unknown_variable", (
        f"the rule reads {path!r}, which is not in the data a workflow rule is given.{hint} "
        f"It may read record.FIELD, changes.FIELD, inputs.NAME, user.name, user.roles, "
        "user.team and now."
    )
