"""The public entry points: compile a rule once, evaluate it many times."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Problem

from ._codegen import generate
from ._compiler import Compiler, check_shape
from ._errors import LogicError
from ._limits import DEFAULT_LIMITS, Limits
from ._nodes import Fn, copy_json
from ._values import truthy

# Rules whose canonical JSON is longer than this are compiled afresh instead of cached, so
# the cache of evaluate() stays small whatever rules it sees.
_CACHE_KEY_LIMIT = 64_000


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    """A rule checked and compiled into Python code; evaluate it as often as needed.

    ``evaluate(data=None)`` gives the rule's value on ``data`` (a mapping such as
    ``{"record": ..., "user": ...}``) and raises :class:`EvaluationError` when the data
    makes the rule fail (NaN, invalid arguments, a ``throw``), or
    :class:`LimitExceededError` at a safety limit. It is the compiled function itself, not
    a method around it: guards run it on every transition.

    :param source: a copy of the rule as written.
    :param variables: every path the rule reads from the evaluation data (``var`` paths as
        written, ``val``/``exists`` segments joined with dots, the keys of ``missing``
        and ``missing_some``), for "unknown field" checks. Paths computed at run time and
        paths inside iterator bodies (which read the current item) are not listed.
    :param limits: the limits it was compiled under and runs under.
    :param evaluate: the compiled function, ``evaluate(data=None) -> value``.
    """

    source: Any
    variables: frozenset[str]
    limits: Limits
    evaluate: Callable[..., Any] = field(repr=False)

    def matches(self, data: Any = None) -> bool:
        """Whether the rule's value on ``data`` is truthy (what a guard or a check wants)."""
        return truthy(self.evaluate(data))


def compile_rule(rule: Any, *, limits: Limits = DEFAULT_LIMITS, generate_code: bool = True) -> CompiledRule:
    """Validate ``rule`` (JSON Logic) and compile it.

    :param limits: bounds on the rule and on each evaluation.
    :param generate_code: compile the rule into one generated Python function, with
        closures only for what it does not inline (faster); False keeps closures alone.
        Both give the same results, and the tests hold them to it.
    :raises LogicError: with every problem of the rule, each with an RFC 6901 pointer inside
        the rule (prefix it with the rule's own pointer in its document).
    """
    problems = check_shape(rule, limits)
    if problems:
        raise LogicError(problems)
    compiler = Compiler(limits)
    node = compiler.node(rule, "")
    if compiler.problems:
        raise LogicError(compiler.problems)
    if generate_code:
        run = generate(rule, limits, framed=compiler.framed)
    else:
        run = _entry(node.fn, limits.max_steps if compiler.framed else None)
    return CompiledRule(source=copy_json(rule), variables=frozenset(compiler.variables), limits=limits, evaluate=run)


def _entry(fn: Fn, steps: int | None) -> Callable[..., Any]:
    """The evaluate function of a rule kept as closures."""
    if steps is None:
        return lambda data=None: fn(data, None)
    return lambda data=None: fn(data, ([steps, steps], None))


def validate_rule(rule: Any, *, limits: Limits = DEFAULT_LIMITS) -> list[Problem]:
    """Every problem of ``rule``, or ``[]`` when it compiles. Pointers are inside the rule."""
    try:
        compile_rule(rule, limits=limits)
    except LogicError as error:
        return list(error.problems)
    return []


def evaluate(rule: Any, data: Any = None) -> Any:
    """Compile ``rule`` (cached by its canonical JSON) and evaluate it on ``data``.

    For a rule used more than once, prefer :func:`compile_rule` at load time.
    """
    try:
        key = json.dumps(rule, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return compile_rule(rule).evaluate(data)  # reports what makes it un-JSON
    if len(key) > _CACHE_KEY_LIMIT:
        return compile_rule(rule).evaluate(data)
    return _compiled(key).evaluate(data)


@functools.lru_cache(maxsize=512)
def _compiled(key: str) -> CompiledRule:
    return compile_rule(json.loads(key))
