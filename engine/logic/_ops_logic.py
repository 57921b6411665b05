"""Control operators: ``if``/``?:``, ``and``, ``or``, ``!``, ``!!``, ``??``, ``throw``, ``try``,
``log``.

``if``, ``and``, ``or``, ``??`` and ``try`` are lazy: an argument is evaluated only when
the result depends on it, so ``{"and": [{"var": "x"}, {"/": [1, {"var": "x"}]}]}`` never
divides by zero. Because they are lazy they must be given a literal array.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import EvaluationError, LimitExceededError
from ._nodes import Node, Site, child, constant
from ._values import is_array, is_object, truthy

if TYPE_CHECKING:
    from ._compiler import Compiler

_log = logging.getLogger("engine.logic")


def build_if(c: Compiler, args: Any, site: Site) -> Node:
    """``{"if": [cond, then, cond2, then2, ..., else]}``; ``?:`` is the same operator."""
    nodes = c.arguments(args, site)
    if nodes is None:
        return constant(None)
    if not nodes:
        return constant(None)
    if len(nodes) == 1:
        return nodes[0]
    fns = [node.fn for node in nodes]
    if len(fns) == 2:
        test, then = fns
        return Node(lambda data, frame: then(data, frame) if truthy(test(data, frame)) else None)
    if len(fns) == 3:
        test, then, other = fns

        def if_else(data: Any, frame: Any) -> Any:
            value = test(data, frame)
            if value is True or (value is not False and truthy(value)):
                return then(data, frame)
            return other(data, frame)

        return Node(if_else)
    # zip stops at the shorter slice, so an odd last item (the else) is not a test
    branches = list(zip(fns[0::2], fns[1::2], strict=False))
    fallback = fns[-1] if len(fns) % 2 else None

    def chain(data: Any, frame: Any) -> Any:
        for test, then in branches:
            if truthy(test(data, frame)):
                return then(data, frame)
        return fallback(data, frame) if fallback is not None else None

    return Node(chain)


def _short_circuit(stops_at: bool) -> Callable[[Compiler, Any, Site], Node]:
    """The builder of ``and`` (``stops_at`` False) or ``or`` (True): the first value whose
    truthiness is ``stops_at``, else the last; ``[]`` is false."""

    def build(c: Compiler, args: Any, site: Site) -> Node:
        nodes = c.arguments(args, site)
        if not nodes:
            return constant(False)
        if len(nodes) == 1:
            return nodes[0]
        fns = tuple(node.fn for node in nodes)

        def short_circuit(data: Any, frame: Any) -> Any:
            value = None
            for fn in fns:
                value = fn(data, frame)
                if truthy(value) == stops_at:
                    return value
            return value

        return Node(short_circuit)

    return build


#: ``{"and": [a, b, ...]}``: the first falsy value, else the last.
build_and = _short_circuit(False)
#: ``{"or": [a, b, ...]}``: the first truthy value, else the last.
build_or = _short_circuit(True)


def _operand(c: Compiler, args: Any, site: Site) -> Node:
    """The one operand of ``!``, ``!!``, ``throw`` and ``log``: the first array item (the
    others are checked but unused), or the argument itself."""
    if isinstance(args, (list, tuple)):
        nodes = c.nodes(args, site.args_pointer)
        return nodes[0] if nodes else constant(None)
    return c.node(args, site.args_pointer)


def build_not(c: Compiler, args: Any, site: Site) -> Node:
    """``{"!": value}``: true when the value is falsy."""
    fn = _operand(c, args, site).fn
    return Node(lambda data, frame: not truthy(fn(data, frame)))


def build_truthy(c: Compiler, args: Any, site: Site) -> Node:
    """``{"!!": value}``: the value's truthiness as a boolean."""
    fn = _operand(c, args, site).fn
    return Node(lambda data, frame: truthy(fn(data, frame)))


def build_coalesce(c: Compiler, args: Any, site: Site) -> Node:
    """``{"??": [a, b, ...]}``: the first value that is not null (null when none is)."""
    nodes = c.arguments(args, site)
    if not nodes:
        return constant(None)
    fns = tuple(node.fn for node in nodes)

    def coalesce(data: Any, frame: Any) -> Any:
        for fn in fns:
            value = fn(data, frame)
            if value is not None:
                return value
        return None

    return Node(coalesce)


def build_throw(c: Compiler, args: Any, site: Site) -> Node:
    """``{"throw": "reason"}`` or ``{"throw": {"type": "reason", ...}}``: fail with that
    error, which a ``try`` can catch."""
    fn = _operand(c, args, site).fn
    at = site.pointer

    def throw(data: Any, frame: Any) -> Any:
        value = fn(data, frame)
        if is_array(value):
            value = value[0] if value else None
        payload = dict(value) if is_object(value) else {"type": value}
        kind = payload.get("type")
        shown = kind if isinstance(kind, str) else repr(kind)
        raise EvaluationError(payload, problem_code="thrown", message=f"the rule threw {shown[:200]!r}", pointer=at)

    return Node(throw)


def build_try(c: Compiler, args: Any, site: Site) -> Node:
    """``{"try": [attempt, fallback, ...]}``: the first that does not fail. A fallback's data
    is the error (``{"type": "NaN"}``); ``{"val": [[2], ...]}`` reads the data around it.
    Safety limits are not errors a rule can catch."""
    if isinstance(args, (list, tuple)):
        if not args:
            return c.problem("invalid_arguments", "'try' takes at least one argument", site.args_pointer)
        first = c.node(args[0], child(site.args_pointer, 0))
        compiled = [c.scoped(item, child(site.args_pointer, i)) for i, item in enumerate(args[1:], start=1)]
    else:
        first = c.node(args, site.args_pointer)
        compiled = []
    attempt = first.fn
    fallbacks = tuple(node.fn for node, _ in compiled)
    scoped = any(climbs for _, climbs in compiled)

    def try_(data: Any, frame: Any) -> Any:
        try:
            return attempt(data, frame)
        except LimitExceededError:
            raise
        except EvaluationError as caught:
            error = caught
        for fallback in fallbacks:
            inner = (frame[0], (None, data, frame[1])) if scoped else frame
            try:
                return fallback(dict(error.payload), inner)
            except LimitExceededError:
                raise
            except EvaluationError as caught:
                error = caught
        raise error

    return Node(try_)


def build_log(c: Compiler, args: Any, site: Site) -> Node:
    """``{"log": value}``: the value, unchanged; also logged at DEBUG on ``engine.logic``."""
    fn = _operand(c, args, site).fn
    at = site.pointer

    def log(data: Any, frame: Any) -> Any:
        value = fn(data, frame)
        _log.debug("rule log at %s: %r", at or "/", value)
        return value

    return Node(log)
