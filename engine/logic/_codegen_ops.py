"""Inline templates of the code generator, one per operator it inlines.

Each handler gets the generator, the operator, its arguments and two pointers (of the
operation, of its arguments), emits statements and returns the name holding the result,
or None to leave the operation to its compiled closure (arguments written as one
expression to spread, scopes climbed, nesting too deep). Every value goes through
``g.ref``: no template formats a value into the source. The rule was validated before,
so the handlers can rely on argument counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._codegen import MAX_INDENT, MAX_LOOPS, SCALARS
from ._ops_data import segment, var_path

if TYPE_CHECKING:
    from ._codegen import Generator

Handler = Callable[["Generator", str, Any, str, str], "str | None"]

_ARITHMETIC = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
_RELATIONS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _too_deep(g: Generator, args: Any) -> bool:
    """Whether nesting one block per argument would pass the indentation budget."""
    return g.indent + len(args) > MAX_INDENT


# Up to this many arguments, lazy operators nest one ``if`` per argument; past it they are
# a flat sequence in a ``for _ in _once:`` loop that ``break``s at the deciding argument.
_NESTED_ARGS = 4


def _flat(g: Generator, args: Any) -> bool | None:
    """True for the flat form, False for nesting, None when neither fits (use closures)."""
    if len(args) <= _NESTED_ARGS and not _too_deep(g, args):
        return False
    if g.loops >= MAX_LOOPS or g.indent + 3 > MAX_INDENT:
        return None
    return True


def _open_once(g: Generator) -> None:
    g.loops += 1
    g.open_block(f"for {g.temp()} in _once:")


def _close_once(g: Generator) -> None:
    g.close_block()
    g.loops -= 1


def _break_if(g: Generator, condition: str) -> None:
    g.open_block(f"if {condition}:")
    g.line("break")
    g.close_block()


def _var(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    default: Any = None
    has_default = False
    if isinstance(args, (list, tuple)):
        if not args:
            return g.base
        path, has_default = args[0], len(args) > 1
        default = args[1] if has_default else None
    else:
        path = args
    if not isinstance(path, (str, int, float, type(None))) or isinstance(path, bool):
        return None
    result = g.path(var_path(path))
    if not has_default:
        return result
    target = g.assign(result)
    g.open_block(f"if {target} is None:")
    g.line(f"{target} = {g.emit(default, f'{site}/1')}")
    g.close_block()
    return target


def _val(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if args is None:
        return g.base
    values = list(args) if isinstance(args, (list, tuple)) else [args]
    if not all(isinstance(value, SCALARS) for value in values):
        return None  # climbing scopes, or computed segments
    return g.path(tuple(segment(value) for value in values if value is not None))


def _lazy(g: Generator, args: Any, flat_form: Callable[[str], None], nested_form: Callable[[str], None]) -> str | None:
    """Emit a lazy operator into a new name, which it returns: ``flat_form(name)`` inside
    a ``for _ in _once:`` loop that may ``break``, or ``nested_form(name)`` with one block
    per argument (None when neither fits: use the closure)."""
    flat = _flat(g, args)
    if flat is None:
        return None
    target = g.temp()
    if flat:
        _open_once(g)
        flat_form(target)
        _close_once(g)
    else:
        nested_form(target)
    return target


def _until(
    g: Generator, args: Any, site: str, goes_on: Callable[[str], str], stops: Callable[[str], str]
) -> str | None:
    """Evaluate ``args`` in order into one name while ``goes_on(name)`` holds, stopping at
    the first value for which ``stops(name)`` (its negation) does; the result is the last
    value evaluated (``and``, ``or``, ``??``)."""

    def flat_form(target: str) -> None:
        for i, item in enumerate(args):
            g.line(f"{target} = {g.emit(item, f'{site}/{i}')}")
            if i < len(args) - 1:
                _break_if(g, stops(target))

    def nested_form(target: str) -> None:
        g.line(f"{target} = {g.emit(args[0], f'{site}/0')}")
        for i, item in enumerate(args[1:], start=1):
            g.open_block(f"if {goes_on(target)}:")
            g.line(f"{target} = {g.emit(item, f'{site}/{i}')}")
        for _ in args[1:]:
            g.close_block()

    return _lazy(g, args, flat_form, nested_form)


def _and_or(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if not args:
        return "False"
    if op == "and":
        return _until(g, args, site, g.truthy, lambda target: f"not {g.truthy(target)}")
    return _until(g, args, site, lambda target: f"not {g.truthy(target)}", g.truthy)


def _if(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if not args:
        return "None"
    if len(args) == 1:
        return g.emit(args[0], f"{site}/0")

    def flat_form(target: str) -> None:
        for i in range(0, len(args) - 1, 2):
            test = g.emit(args[i], f"{site}/{i}")
            g.open_block(f"if {g.truthy(test)}:")
            g.line(f"{target} = {g.emit(args[i + 1], f'{site}/{i + 1}')}")
            g.line("break")
            g.close_block()
        if len(args) % 2:  # the else
            g.line(f"{target} = {g.emit(args[-1], f'{site}/{len(args) - 1}')}")
        else:
            g.line(f"{target} = None")

    def nested_form(target: str) -> None:
        opened = 0
        i = 0
        while True:
            if i == len(args) - 1:  # the else
                g.line(f"{target} = {g.emit(args[i], f'{site}/{i}')}")
                break
            if i >= len(args):
                g.line(f"{target} = None")
                break
            test = g.emit(args[i], f"{site}/{i}")
            g.open_block(f"if {g.truthy(test)}:")
            g.line(f"{target} = {g.emit(args[i + 1], f'{site}/{i + 1}')}")
            g.close_block()
            g.open_block("else:")
            opened += 1
            i += 2
        for _ in range(opened):
            g.close_block()

    return _lazy(g, args, flat_form, nested_form)


def _not(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if isinstance(args, (list, tuple)):
        operand = g.emit(args[0], f"{site}/0") if args else "None"
    else:
        operand = g.emit(args, site)
    return g.assign(f"not {g.truthy(operand)}" if op == "!" else g.truthy(operand))


def _coalesce(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if not args:
        return "None"
    return _until(g, args, site, lambda target: f"{target} is None", lambda target: f"{target} is not None")


def _pair(g: Generator, op: str, left: str, right: str, right_value: Any, at: str) -> str:
    """A boolean expression comparing two names with ``op``, fast path inlined."""
    if op in _RELATIONS:
        symbol = _RELATIONS[op]
        slow = f"_compare({g.ref(op)}, {left}, {right}, {at})"
        left_fast = f"(_type({left}) is _int or _type({left}) is _float)"
        if type(right_value) in (int, float):
            return f"(({left} {symbol} {right}) if {left_fast} else {slow})"
        right_fast = f"(_type({right}) is _int or _type({right}) is _float)"
        return f"(({left} {symbol} {right}) if {left_fast} and {right_fast} else {slow})"
    negate = op in ("!=", "!==")
    fast = f"({left} != {right})" if negate else f"({left} == {right})"
    slow = f"_loose({left}, {right}, {at})" if op in ("==", "!=") else f"_strict({left}, {right})"
    if negate:
        slow = f"not {slow}"
    if type(right_value) is str:
        return f"({fast} if _type({left}) is _str else {slow})"
    same = f"_type({left}) is _type({right}) and (_type({left}) is _str or _type({left}) is _int)"
    return f"({fast} if {same} else {slow})"


def _comparison(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if _too_deep(g, args):
        return None
    at = g.ref(pointer)
    left = g.emit(args[0], f"{site}/0")
    right = g.emit(args[1], f"{site}/1")
    target = g.assign(_pair(g, op, left, right, args[1], at))
    for i, item in enumerate(args[2:], start=2):
        g.open_block(f"if {target}:")
        left, right = right, g.emit(item, f"{site}/{i}")
        g.line(f"{target} = {_pair(g, op, left, right, item, at)}")
    for _ in args[2:]:
        g.close_block()
    return target


def _in(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    if not isinstance(args, (list, tuple)):
        return None
    needle = g.emit(args[0], f"{site}/0")
    haystack = args[1]
    if isinstance(haystack, (list, tuple)) and all(isinstance(x, SCALARS) for x in haystack):
        if all(type(x) is str for x in haystack):
            texts = g.ref(frozenset(haystack))
            return g.assign(f"({needle} in {texts}) if _type({needle}) is _str else _text_in({needle}, {texts})")
        return g.assign(f"_item_in({needle}, {g.ref(tuple(haystack))})")
    hay = g.emit(haystack, f"{site}/1")
    at, limit = g.ref(pointer), g.ref(g.limits.max_string_length)
    # long arrays go through _contains, which charges the step budget for the scan
    short = g.ref(64)
    text_needle = "" if type(args[0]) is str else f"and _type({needle}) is _str "
    fast = f"_type({hay}) is _list {text_needle}and (frame is None or _len({hay}) <= {short})"
    return g.assign(f"({needle} in {hay}) if {fast} else _contains([{needle}, {hay}], frame, {at}, {limit})")


def _missing(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    keys = args if isinstance(args, (list, tuple)) else [args]
    if keys and isinstance(keys[0], (list, tuple)):
        if len(keys) > 1:
            return None  # the other arguments are evaluated, and may fail
        keys = keys[0]
    if not all(isinstance(key, (str, int, float, type(None))) for key in keys):
        return None
    target = g.assign("[]")
    empty = g.ref("")
    for key in keys:
        value = g.path(var_path(key))
        g.open_block(f"if {value} is None or {value} == {empty}:")
        g.line(f"{target}.append({g.ref(key)})")
        g.close_block()
    return target


def _arithmetic(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    items = g.items(args, site)
    if items is None:
        return None
    at = g.ref(pointer)
    if op == "+" and 2 <= len(items) <= 16:
        # small integers cannot overflow 63 bits in a sum of 16: add them inline
        small = g.ref(1 << 58)
        fast = " and ".join(f"_type({a}) is _int and -{small} < {a} < {small}" for a in items)
        return g.assign(f"({' + '.join(items)}) if {fast} else _add([{', '.join(items)}], {at})")
    return g.assign(f"{_ARITHMETIC[op]}([{', '.join(items)}], {at})")


def _text(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    items = g.items(args, site)
    if items is None:
        return None
    at = g.ref(pointer)
    listed = f"[{', '.join(items)}]"
    if op == "cat":
        return g.assign(f"_cat({listed}, frame, {at}, {g.ref(g.limits.max_string_length)})")
    if op == "substr":
        return g.assign(f"_substr({listed}, frame, {at}, {g.ref(g.limits.max_string_length)})")
    return g.assign(f"_merge({listed}, frame, {at}, {g.ref(g.limits.max_array_length)})")


def _iterator(g: Generator, op: str, args: Any, pointer: str, site: str) -> str | None:
    """``map``, ``filter``, ``reduce``, ``all``, ``some``, ``none`` as a ``for`` loop, when
    the body keeps to its item (climbing scopes needs the closure's frames)."""
    if g.loops >= MAX_LOOPS or g.indent + 4 > MAX_INDENT or g.climbs(args[1], f"{site}/1"):
        return None
    at, zero = g.ref(pointer), g.ref(0)
    source = g.emit(args[0], f"{site}/0")
    every = op in ("map", "filter", "reduce")  # visit every item: charged up front
    items = g.assign(f"_items({source}, {g.ref(op)}, {at}, {'True' if every else 'False'})")
    budget = g.assign(f"frame[{zero}]")
    if every:
        _charge(g, budget, f"_len({items})", at)
    result = _start_value(g, op, args, site, items)
    item = g.temp()
    outer = g.base
    g.loops += 1
    g.open_block(f"for {item} in {items}:")
    if not every:
        _charge(g, budget, g.ref(1), at)
    if op == "reduce":
        g.base = g.assign(f"{{{g.ref('current')}: {item}, {g.ref('accumulator')}: {result}}}")
    else:
        g.base = item
    value = g.emit(args[1], f"{site}/1")
    g.base = outer
    _step(g, op, result, item, value)
    g.close_block()
    g.loops -= 1
    return result


def _charge(g: Generator, budget: str, cost: str, at: str) -> None:
    """Take ``cost`` from the evaluation's budget, stopping the rule when it runs out."""
    zero = g.ref(0)
    g.line(f"{budget}[{zero}] -= {cost}")
    g.open_block(f"if {budget}[{zero}] < {zero}:")
    g.line(f"_exhausted({budget}, {at})")
    g.close_block()


def _start_value(g: Generator, op: str, args: Any, site: str, items: str) -> str:
    """The variable an iterator builds its result in, set to its value before the first item."""
    result = g.temp()
    zero = g.ref(0)
    if op == "reduce":
        if len(args) > 2:
            g.line(f"{result} = {g.emit(args[2], f'{site}/2')}")
        else:  # without an initial value, the first item is one
            g.line(f"{result} = None")
            g.open_block(f"if {g.ref(0)} < _len({items}):")
            g.line(f"{result} = {items}[{zero}]")
            g.line(f"{items} = {items}[{g.ref(1)}:]")
            g.close_block()
    elif op in ("map", "filter"):
        g.line(f"{result} = []")
    elif op == "all":
        g.line(f"{result} = _len({items}) > {zero}")  # all is false on an empty array
    else:
        g.line(f"{result} = {'False' if op == 'some' else 'True'}")
    return result


def _step(g: Generator, op: str, result: str, item: str, value: str) -> None:
    """What one item's ``value`` does to the iterator's result."""
    if op == "map":
        g.line(f"{result}.append({value})")
    elif op == "reduce":
        g.line(f"{result} = {value}")
    elif op == "filter":
        g.open_block(f"if {g.truthy(value)}:")
        g.line(f"{result}.append({item})")
        g.close_block()
    else:
        test = g.truthy(value)
        g.open_block(f"if not {test}:" if op == "all" else f"if {test}:")
        g.line(f"{result} = {'True' if op == 'some' else 'False'}")
        g.line("break")
        g.close_block()


INLINE: dict[str, Handler] = {
    "var": _var,
    "val": _val,
    "and": _and_or,
    "or": _and_or,
    "if": _if,
    "?:": _if,
    "!": _not,
    "!!": _not,
    "??": _coalesce,
    "missing": _missing,
    "in": _in,
    "cat": _text,
    "substr": _text,
    "merge": _text,
    **{op: _comparison for op in ("==", "!=", "===", "!==", "<", "<=", ">", ">=")},
    **{op: _arithmetic for op in _ARITHMETIC},
    **{op: _iterator for op in ("map", "filter", "reduce", "all", "some", "none")},
}
