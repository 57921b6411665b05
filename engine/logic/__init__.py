"""The condition language: JSON Logic, validated against an allow-list and compiled.

Workflow guards, scoring rules and validation rules are JSON Logic evaluated over data
like ``{"record": {...}, "changes": {...}, "inputs": {...}, "user": {...}, "now": "..."}``.
See README.md beside this file for the constraints and docs/conditions.md for the language.
"""

from ._api import CompiledRule, compile_rule, evaluate, validate_rule
from ._errors import (
    INVALID_ARGUMENTS,
    NAN,
    EvaluationError,
    LimitExceededError,
    LogicError,
)
from ._fields import fields_read
from ._limits import DEFAULT_LIMITS, Limits
from ._operators import OPERATOR_NAMES
from ._values import truthy

__all__ = [
    "DEFAULT_LIMITS",
    "INVALID_ARGUMENTS",
    "NAN",
    "OPERATOR_NAMES",
    "CompiledRule",
    "EvaluationError",
    "LimitExceededError",
    "Limits",
    "LogicError",
    "compile_rule",
    "evaluate",
    "fields_read",
    "truthy",
    "validate_rule",
]
