"""Errors of the condition language.

Two moments can go wrong. Compiling: the rule is not one this engine runs (an unknown
operator, malformed arguments, too deep or too large): :class:`LogicError`, with one
:class:`~engine.errors.Problem` per mistake and RFC 6901 pointers *inside the rule* (the
caller prefixes the pointer of the rule in its own document). Evaluating: a valid rule met
data it cannot work with (JSON Logic's ``NaN`` and ``Invalid Arguments`` errors, or a
``throw``): :class:`EvaluationError`, which ``try`` can catch. Running out of a safety
budget is :class:`LimitExceededError`, which ``try`` deliberately cannot catch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from engine.errors import CrmError, Problem

#: JSON Logic's error type for a value that is not a number where one is needed.
NAN = "NaN"
#: JSON Logic's error type for arguments an operator cannot take.
INVALID_ARGUMENTS = "Invalid Arguments"
#: Error type of :class:`LimitExceededError` (never produced by JSON Logic itself).
LIMIT_EXCEEDED = "Limit Exceeded"

#: Problem codes of evaluation errors, by JSON Logic error type.
_PROBLEM_CODES: Mapping[str, str] = {
    NAN: "not_a_number",
    INVALID_ARGUMENTS: "invalid_arguments",
}


class LogicError(CrmError):
    """A rule that cannot be compiled; ``problems`` point inside the rule."""

    code: ClassVar[str] = "invalid_rule"
    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 422

    def __init__(self, problems: Iterable[Problem], message: str | None = None) -> None:
        problems = tuple(problems)
        if message is None:
            message = problems[0].message if len(problems) == 1 else f"{len(problems)} problems in the rule"
        super().__init__(message, problems)


class EvaluationError(LogicError):
    """A valid rule failed on the data it was given.

    :param payload: the JSON Logic error object, ``{"type": "NaN"}`` and the like; what a
        ``try`` fallback sees as its data.
    :param problem_code: stable code of the single problem (``not_a_number``...).
    :param message: what went wrong, for a person.
    :param pointer: RFC 6901 pointer of the failing operation inside the rule.
    """

    code: ClassVar[str] = "rule_failed"
    exit_code: ClassVar[int] = 3

    def __init__(
        self,
        payload: Mapping[str, Any],
        *,
        problem_code: str,
        message: str,
        pointer: str | None = None,
    ) -> None:
        self.payload: dict[str, Any] = dict(payload)
        kind = self.payload.get("type")
        self.error_type: str = kind if isinstance(kind, str) else repr(kind)
        super().__init__([Problem(problem_code, message, pointer=pointer)], message)


class LimitExceededError(EvaluationError):
    """Evaluation stopped at a safety limit (steps, string or array size, nesting)."""

    code: ClassVar[str] = "rule_limit_exceeded"

    def __init__(self, problem_code: str, message: str, pointer: str | None = None) -> None:
        super().__init__(
            {"type": LIMIT_EXCEEDED},
            problem_code=problem_code,
            message=message,
            pointer=pointer,
        )


def failure(error_type: str, message: str, pointer: str | None) -> EvaluationError:
    """The :class:`EvaluationError` of one of JSON Logic's own error types."""
    return EvaluationError(
        {"type": error_type},
        problem_code=_PROBLEM_CODES.get(error_type, "thrown"),
        message=message,
        pointer=pointer,
    )
