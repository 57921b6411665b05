"""Comparison operators: ``==``, ``!=``, ``===``, ``!==``, ``<``, ``<=``, ``>``, ``>=``.

Each takes two or more arguments and holds when every neighbouring pair does, so
``{"<": [0, {"var": "x"}, 10]}`` is "x strictly between 0 and 10". Chains are lazy: once a
pair fails, the rest is not evaluated.

These are the hottest closures of guard rules, so the common shapes (a value against a
literal number or string) get their own closures with the type test inlined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._nodes import Fn, Node, Site, constant
from ._values import RELATIONS, compare, loose_equal, strict_equal

if TYPE_CHECKING:
    from ._compiler import Compiler

# Relation of a pair: (left, right, pointer) -> bool.
Relation = Any


def _chain(fns: tuple[Fn, ...], holds: Relation, at: str) -> Node:
    first, rest = fns[0], fns[1:]

    def chain(data: Any, frame: Any) -> bool:
        left = first(data, frame)
        for fn in rest:
            right = fn(data, frame)
            if not holds(left, right, at):
                return False
            left = right
        return True

    return Node(chain)


def _less(c: Compiler, args: Any, site: Site) -> Node:
    return _relational(c, args, site, "<")


def _less_equal(c: Compiler, args: Any, site: Site) -> Node:
    return _relational(c, args, site, "<=")


def _greater(c: Compiler, args: Any, site: Site) -> Node:
    return _relational(c, args, site, ">")


def _greater_equal(c: Compiler, args: Any, site: Site) -> Node:
    return _relational(c, args, site, ">=")


def _relational(c: Compiler, args: Any, site: Site, op: str) -> Node:
    nodes = c.arguments(args, site, least=2)
    if nodes is None:
        return constant(False)
    at = site.pointer
    if len(nodes) > 2:
        return _chain(tuple(n.fn for n in nodes), lambda a, b, p: compare(op, a, b, p), at)
    left, right = nodes[0].fn, nodes[1].fn
    if nodes[1].const and type(nodes[1].value) in (int, float):
        return Node(_against_number(op, left, nodes[1].value, at))

    holds = RELATIONS[op]

    def relation(data: Any, frame: Any) -> bool:
        a = left(data, frame)
        b = right(data, frame)
        ka, kb = type(a), type(b)
        if (ka is int or ka is float) and (kb is int or kb is float):
            return holds(a, b)
        return compare(op, a, b, at)

    return Node(relation)


def _against_number(op: str, left: Fn, bound: float, at: str) -> Fn:
    """``{"<=": [{"var": "record.amount"}, 1000000]}`` and its siblings."""
    holds = RELATIONS[op]

    def against_number(data: Any, frame: Any) -> bool:
        a = left(data, frame)
        if type(a) is int or type(a) is float:
            return holds(a, bound)
        return compare(op, a, bound, at)

    return against_number


def _equality(c: Compiler, args: Any, site: Site, *, strict: bool, negate: bool) -> Node:
    nodes = c.arguments(args, site, least=2)
    if nodes is None:
        return constant(False)
    at = site.pointer
    same: Callable[[Any, Any, str], bool] = loose_equal
    if strict:
        same = _strict_relation
    holds = same
    if negate:

        def holds(a: Any, b: Any, p: str) -> bool:
            return not same(a, b, p)

    if len(nodes) > 2:
        return _chain(tuple(n.fn for n in nodes), holds, at)
    left, right = nodes[0].fn, nodes[1].fn
    if nodes[1].const and type(nodes[1].value) is str:
        text = nodes[1].value

        def against_text(data: Any, frame: Any) -> bool:
            a = left(data, frame)
            if type(a) is str:
                return (a != text) if negate else (a == text)
            return holds(a, text, at)

        return Node(against_text)

    def equality(data: Any, frame: Any) -> bool:
        a = left(data, frame)
        b = right(data, frame)
        kind = type(a)
        if kind is type(b) and (kind is str or kind is int):
            return (a != b) if negate else (a == b)  # type: ignore[no-any-return]
        return holds(a, b, at)

    return Node(equality)


def _strict_relation(left: Any, right: Any, at: str) -> bool:
    return strict_equal(left, right)


def _equal(c: Compiler, args: Any, site: Site) -> Node:
    return _equality(c, args, site, strict=False, negate=False)


def _not_equal(c: Compiler, args: Any, site: Site) -> Node:
    return _equality(c, args, site, strict=False, negate=True)


def _strict_equal(c: Compiler, args: Any, site: Site) -> Node:
    return _equality(c, args, site, strict=True, negate=False)


def _strict_not_equal(c: Compiler, args: Any, site: Site) -> Node:
    return _equality(c, args, site, strict=True, negate=True)


BUILDERS = {
    "==": _equal,
    "!=": _not_equal,
    "===": _strict_equal,
    "!==": _strict_not_equal,
    "<": _less,
    "<=": _less_equal,
    ">": _greater,
    ">=": _greater_equal,
}
