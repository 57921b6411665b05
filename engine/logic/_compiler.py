"""The compiler: one walk over a rule that checks it and builds its closures.

The walk collects every problem (with an RFC 6901 pointer inside the rule) instead of
stopping at the first, so an admin sees all mistakes of a rule at once. Operators are
looked up in the allow-list of :mod:`._operators`; nothing else is ever called.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from engine.errors import Problem
from engine.suggestions import suggest

from ._limits import Limits
from ._nodes import Fn, Node, Site, charge, child, constant
from ._operators import OPERATORS
from ._values import is_array

_PLACEHOLDER = constant(None)


class Spread:
    """The arguments of an operator that evaluates all of them.

    ``nodes`` are the compiled arguments when the rule wrote an array; otherwise the one
    argument is an expression and ``fn`` spreads the array it gives (or wraps a single
    value), which is how ``{"max": {"var": "amounts"}}`` works.
    """

    __slots__ = ("fn", "nodes")

    def __init__(self, fn: Fn, nodes: list[Node] | None) -> None:
        self.fn = fn
        self.nodes = nodes

    @property
    def static(self) -> bool:
        """Whether every argument is a literal."""
        return self.nodes is not None and all(node.const for node in self.nodes)


class Compiler:
    """State of one compilation: problems found, variables read, what evaluation needs.

    :param limits: the limits the rule is compiled under.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.problems: list[Problem] = []
        self.variables: set[str] = set()
        #: whether evaluation needs a frame (a step budget, scopes to climb)
        self.framed = False
        #: how many ``val`` nodes read an enclosing scope
        self.climbs = 0
        #: scopes between the node being compiled and the evaluation data
        self.depth = 0

    def problem(self, code: str, message: str, pointer: str) -> Node:
        """Record a problem; the placeholder returned keeps the walk going."""
        self.problems.append(Problem(code, message, pointer=pointer))
        return _PLACEHOLDER

    def note_variable(self, segments: tuple[tuple[str, int | None], ...], *, from_root: bool = False) -> None:
        """Record a path read from the evaluation data itself (not from an item); a path
        read where the data is an item counts only ``from_root`` (``val`` climbed back)."""
        if (self.depth == 0 or from_root) and segments:
            self.variables.add(".".join(key for key, _ in segments))

    def node(self, value: Any, pointer: str) -> Node:
        """Compile one JSON value of a rule."""
        kind = type(value)
        if kind is dict:
            if not value:
                return constant({})
            if len(value) != 1:
                return self.problem(
                    "invalid_operation",
                    "an operation is an object with exactly one key, the operator; to use an "
                    'object as a value, write {"preserve": {...}}',
                    pointer,
                )
            ((op, args),) = value.items()
            build = OPERATORS.get(op)
            if build is None:
                return self.problem("unknown_operator", _unknown(op, OPERATORS), pointer)
            return build(self, args, Site(op, pointer, child(pointer, op)))
        if kind is list or kind is tuple:
            items = self.nodes(value, pointer)
            if all(item.const for item in items):
                return constant([item.value for item in items])
            fns = tuple(item.fn for item in items)
            return Node(lambda data, frame: [fn(data, frame) for fn in fns])
        return constant(value)

    def nodes(self, values: list[Any] | tuple[Any, ...], pointer: str) -> list[Node]:
        return [self.node(item, child(pointer, index)) for index, item in enumerate(values)]

    def scoped(self, value: Any, pointer: str) -> tuple[Node, bool]:
        """Compile the body of an iterator or a ``try`` fallback, whose data is not the
        evaluation data; also say whether it climbs to enclosing scopes."""
        before = self.climbs
        self.depth += 1
        try:
            node = self.node(value, pointer)
        finally:
            self.depth -= 1
        return node, self.climbs > before

    def arguments(self, args: Any, site: Site, *, least: int = 0, most: int | None = None) -> list[Node] | None:
        """The compiled arguments of an operator that must be given a literal array."""
        if not isinstance(args, (list, tuple)):
            self.problem(
                "invalid_arguments",
                f'{site.op!r} takes an array of arguments, like {{"{site.op}": [...]}}',
                site.args_pointer,
            )
            return None
        if not self._count_ok(len(args), site, least, most):
            return None
        return self.nodes(args, site.args_pointer)

    def spread(self, args: Any, site: Site, *, least: int = 0, most: int | None = None) -> Spread:
        """The arguments of an operator that evaluates all of them (see :class:`Spread`)."""
        if isinstance(args, (list, tuple)):
            self._count_ok(len(args), site, least, most)
            return _listed(self.nodes(args, site.args_pointer))
        node = self.node(args, site.args_pointer)
        if node.const and isinstance(node.value, (list, tuple)):
            # {"preserve": [...]} : a literal array given as one expression
            self._count_ok(len(node.value), site, least, most)
            return _listed([constant(item) for item in node.value])
        if node.const and not isinstance(node.value, dict):
            self._count_ok(1, site, least, most)
            return _listed([node])
        fn = node.fn
        at = site.pointer

        def spread(data: Any, frame: Any) -> list[Any]:
            value = fn(data, frame)
            if type(value) is list:
                if frame is not None and len(value) > 64:
                    charge(frame, len(value) >> 4, at)
                return value
            if is_array(value):
                return list(value)
            return [value]

        return Spread(spread, None)

    def _count_ok(self, count: int, site: Site, least: int, most: int | None) -> bool:
        if count < least or (most is not None and count > most):
            if most is None:
                wanted = f"at least {least}"
            elif least == most:
                wanted = f"exactly {least}"
            else:
                wanted = f"{least} to {most}"
            self.problem(
                "invalid_arguments",
                f"{site.op!r} takes {wanted} argument{'s' if (most or least) != 1 else ''}, not {count}",
                site.args_pointer,
            )
            return False
        return True


def _listed(nodes: list[Node]) -> Spread:
    fns = tuple(node.fn for node in nodes)
    if all(node.const for node in nodes):
        values = [node.value for node in nodes]
        if all(isinstance(v, (type(None), bool, int, float, str, Decimal)) for v in values):
            # operators only read their argument list, so one list serves every evaluation
            return Spread(lambda data, frame: values, nodes)
    return Spread(lambda data, frame: [fn(data, frame) for fn in fns], nodes)


def check_shape(rule: Any, limits: Limits) -> list[Problem]:
    """Problems with a rule as JSON: values JSON cannot hold, too deep, too large.

    Iterative, so that a rule nested a million levels deep is reported, not a crash.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(rule, "", 0)]
    nodes = 0
    chars = 0
    while stack:
        value, pointer, depth = stack.pop()
        nodes += 1
        too_much = _too_much(nodes, depth, pointer, limits)
        if too_much is not None:
            return [too_much]
        kind = type(value)
        if kind is str:
            chars += len(value)
            if chars > limits.max_rule_chars:
                return [
                    Problem(
                        "rule_too_large",
                        f"the strings of a rule may hold at most {limits.max_rule_chars} characters",
                        pointer=pointer,
                    )
                ]
        elif not (value is None or kind is bool or kind is int):
            problems.extend(_push_children(value, pointer, depth, stack))
    return problems


def _too_much(nodes: int, depth: int, pointer: str, limits: Limits) -> Problem | None:
    """The problem of a rule that holds too many values or nests too deep, if it does."""
    if nodes > limits.max_nodes:
        return Problem(
            "rule_too_large", f"a rule may hold at most {limits.max_nodes} values; split it or simplify it", pointer=""
        )
    if depth > limits.max_depth:
        return Problem(
            "rule_too_deep",
            f"a rule may nest at most {limits.max_depth} levels deep; flatten it (and/or take many arguments)",
            pointer=pointer,
        )
    return None


def _push_children(value: Any, pointer: str, depth: int, stack: list[tuple[Any, str, int]]) -> list[Problem]:
    """Put the items of a list or object on ``stack``; the problems of a value JSON cannot hold."""
    kind = type(value)
    if kind is float or isinstance(value, Decimal):
        if value.is_finite() if isinstance(value, Decimal) else math.isfinite(value):
            return []
        return [
            Problem("invalid_value", "NaN and infinite numbers are not JSON; write a finite number", pointer=pointer)
        ]
    if kind is list or kind is tuple:
        stack.extend((item, child(pointer, i), depth + 1) for i, item in enumerate(value))
        return []
    if kind is dict:
        problems = []
        for key, item in value.items():
            if isinstance(key, str):
                stack.append((item, child(pointer, key), depth + 1))
            else:
                problems.append(
                    Problem("invalid_value", f"object keys must be strings, not {type(key).__name__}", pointer=pointer)
                )
        return problems
    return [Problem("invalid_value", f"a {type(value).__name__} is not a JSON value; rules are JSON", pointer=pointer)]


def _unknown(op: str, operators: Any) -> str:
    close = suggest(op, operators)
    hint = f"did you mean {close!r}?" if close else "see docs/conditions.md for the operators"
    return f"unknown operator {op!r}; {hint}"
