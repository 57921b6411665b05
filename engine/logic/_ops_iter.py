"""Iterators: ``map``, ``filter``, ``reduce``, ``all``, ``some``, ``none``.

The only loops of the language, and they run over arrays of the data (or arrays built
from it), never over a count a rule chooses: a rule cannot loop forever. Each visited
item costs one step of ``Limits.max_steps``, which bounds nested iterators too.

Inside the body the data is the item (``reduce``: ``{"current": item, "accumulator":
value}``); ``{"val": [[1], "index"]}`` is the item's index and ``{"val": [[2], "x"]}``
reads ``x`` from the data around the iterator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._nodes import Node, Site, child, constant, out_of_steps
from ._values import describe, invalid, is_array, truthy

if TYPE_CHECKING:
    from ._compiler import Compiler


def _parts(
    c: Compiler, args: Any, site: Site, *, counts: tuple[int, ...], body_required: bool
) -> tuple[Node, Node, Node | None, bool] | None:
    """Compile (source, body, initial value, whether the body climbs scopes)."""
    nodes_ok = isinstance(args, (list, tuple)) and len(args) in counts
    if not nodes_ok:
        wanted = " or ".join(str(n) for n in counts)
        c.problem(
            "invalid_arguments",
            f"{site.op!r} takes an array of {wanted} arguments: the array to go over, then "
            "the expression to apply to each item",
            site.args_pointer,
        )
        return None
    source_value = args[0]
    if not (isinstance(source_value, (list, tuple)) or (isinstance(source_value, dict) and len(source_value) == 1)):
        c.problem(
            "invalid_arguments",
            f'{site.op!r} goes over an array: give one, or an expression such as {{"var": "record.lines"}}',
            child(site.args_pointer, 0),
        )
    if body_required and args[1] is None:
        c.problem(
            "invalid_arguments",
            f"{site.op!r} needs an expression to apply to each item, not null",
            child(site.args_pointer, 1),
        )
    c.framed = True
    source = c.node(source_value, child(site.args_pointer, 0))
    body, scoped = c.scoped(args[1], child(site.args_pointer, 1))
    initial = c.node(args[2], child(site.args_pointer, 2)) if len(args) > 2 else None
    return source, body, initial, scoped


def items_of(value: Any, op: str, at: str, null_is_empty: bool) -> Any:
    """The array an iterator goes over (null is empty for map, filter and reduce)."""
    if value is None and null_is_empty:
        return ()
    if not is_array(value):
        raise invalid(f"{op!r} goes over an array, not {describe(value)}", at)
    return value


def spend(frame: Any, steps: int, at: str) -> Any:
    """Take ``steps`` from the step budget of ``frame`` (one per item an iterator visits)
    and return the budget; running out is :func:`out_of_steps`."""
    budget = frame[0]
    budget[0] -= steps
    if budget[0] < 0:
        raise out_of_steps(budget, at)
    return budget


def _each(op: str) -> Callable[[Compiler, Any, Site], Node]:
    """``{"map": [array, expression]}``: the expression's value for each item;
    ``{"filter": [array, condition]}``: the items for which the condition is truthy."""
    keep_items = op == "filter"

    def build(c: Compiler, args: Any, site: Site) -> Node:
        parts = _parts(c, args, site, counts=(2,), body_required=True)
        if parts is None:
            return constant([])
        source, body, _, scoped = parts
        get, apply = source.fn, body.fn
        at = site.pointer

        def each(data: Any, frame: Any) -> list[Any]:
            items = items_of(get(data, frame), op, at, True)
            budget = spend(frame, len(items), at)
            if scoped:
                scopes = frame[1]
                values = [apply(item, (budget, (i, data, scopes))) for i, item in enumerate(items)]
            else:
                values = [apply(item, frame) for item in items]
            if keep_items:
                return [item for item, value in zip(items, values, strict=True) if truthy(value)]
            return values

        return Node(each)

    return build


def build_reduce(c: Compiler, args: Any, site: Site) -> Node:
    """``{"reduce": [array, expression, initial]}``: folds the array; the expression sees
    ``current`` and ``accumulator``. Without an initial value the first item is one."""
    parts = _parts(c, args, site, counts=(2, 3), body_required=True)
    if parts is None:
        return constant(None)
    source, body, initial, scoped = parts
    get, step = source.fn, body.fn
    start = initial.fn if initial is not None else None
    at = site.pointer

    def reduce_(data: Any, frame: Any) -> Any:
        items = items_of(get(data, frame), "reduce", at, True)
        budget = spend(frame, len(items), at)
        if start is not None:
            accumulator = start(data, frame)
            first = 0
        elif items:
            accumulator, first = items[0], 1
        else:
            return None
        scopes = frame[1]
        for i in range(first, len(items)):
            context = {"current": items[i], "accumulator": accumulator}
            accumulator = step(context, (budget, (i, data, scopes)) if scoped else frame)
        return accumulator

    return Node(reduce_)


def _quantifier(op: str) -> Any:
    """``all`` (false on an empty array, as JSON Logic has it), ``some`` and ``none``."""

    def build(c: Compiler, args: Any, site: Site) -> Node:
        parts = _parts(c, args, site, counts=(2,), body_required=False)
        if parts is None:
            return constant(False)
        source, body, _, scoped = parts
        get, test = source.fn, body.fn
        at = site.pointer
        looking_for = op != "all"  # some/none stop at a truthy item, all at a falsy one

        def quantify(data: Any, frame: Any) -> bool:
            items = items_of(get(data, frame), op, at, False)
            if op == "all" and not items:
                return False
            scopes = frame[1]
            for i, item in enumerate(items):
                budget = spend(frame, 1, at)
                inner = (budget, (i, data, scopes)) if scoped else frame
                if truthy(test(item, inner)) is looking_for:
                    return op == "some"
            return op != "some"

        return Node(quantify)

    return build


BUILDERS = {
    "map": _each("map"),
    "filter": _each("filter"),
    "reduce": build_reduce,
    "all": _quantifier("all"),
    "some": _quantifier("some"),
    "none": _quantifier("none"),
}
