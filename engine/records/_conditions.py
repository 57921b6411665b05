"""``required_when`` and ``read_only_when``: rules over ``record`` (after the change) and
``before`` (as it was; empty for a new record), checked by every writer (API, CLI, admin,
workflows, import) through the record service and the importer.

An empty value is ``None`` or text that is blank; a field is changed when its value after the
change differs from ``before`` (for a new record: when it is given and not empty).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from engine.clock import utcnow
from engine.errors import Problem
from engine.logic import CompiledRule, EvaluationError, LimitExceededError, compile_rule
from engine.metadata import EntityDef

#: Compiled rules by the identity of the rule in its (frozen, long-lived) field definition; the
#: rule is kept beside its compiled form so its id cannot be reused while it is cached.
_compiled: dict[int, tuple[Any, CompiledRule]] = {}
_lock = threading.Lock()


def _rule(rule: Any) -> CompiledRule:
    found = _compiled.get(id(rule))
    if found is None or found[0] is not rule:
        with _lock:
            found = _compiled[id(rule)] = (rule, compile_rule(rule))
    return found[1]


def _holds(rule: Any, data: Mapping[str, Any]) -> bool:
    try:
        return _rule(rule).matches(data)
    except (EvaluationError, LimitExceededError):
        return False  # a rule that cannot be decided does not bind (the definitions were checked)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def conditions_holding(
    definition: EntityDef, before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> tuple[frozenset[str], frozenset[str]]:
    """The fields whose ``required_when`` holds, and those whose ``read_only_when`` holds (what
    an edit form marks: required, and not to be changed)."""
    fields = [f for f in definition.fields.values() if f.required_when is not None or f.read_only_when is not None]
    if not fields:
        return frozenset(), frozenset()
    data = {"record": dict(after), "before": dict(before or {}), "now": utcnow()}
    required = frozenset(f.name for f in fields if f.required_when is not None and _holds(f.required_when, data))
    fixed = frozenset(f.name for f in fields if f.read_only_when is not None and _holds(f.read_only_when, data))
    return required, fixed


def conditional_problems(
    definition: EntityDef, before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> list[Problem]:
    """A ``required`` problem for each field whose ``required_when`` holds and that is empty,
    a ``read_only`` problem for each field whose ``read_only_when`` holds and that changed."""
    required, fixed = conditions_holding(definition, before, after)
    problems = []
    for name in sorted(required | fixed, key=list(definition.fields).index):
        f = definition.fields[name]
        value = after.get(name)
        if name in required and _empty(value):
            rule = json.dumps(f.required_when, ensure_ascii=False)
            problems.append(Problem(code="required", field=name, message=f"{name} is required here ({rule})"))
        changed = (before or {}).get(name) != value if before is not None else not _empty(value)
        if name in fixed and changed:
            rule = json.dumps(f.read_only_when, ensure_ascii=False)
            problems.append(Problem(code="read_only", field=name, message=f"{name} cannot change here ({rule})"))
    return problems
