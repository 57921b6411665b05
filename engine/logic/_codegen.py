"""Code generation: a rule as one Python function instead of a tree of closures.

Guards are mostly paths, comparisons and ``and``/``or``/``if``; as one generated function
they run several times faster than as closures. The generator runs after the closure
compiler has accepted the rule, inlines what :mod:`._codegen_ops` has templates for
(including iterators whose bodies stay in their own scope), and calls the compiled
closure of anything else (``try``, scopes climbed with ``val``, ...).

Safety: the generated source holds no value of the rule. Every literal, path key and
pointer is bound to a parameter ``_kN`` of a factory function; the source is made only
of fixed templates, those names and temporaries ``_tN``, and is checked name by name
before it is compiled (:func:`check_source`). It runs with no builtins at all: the few
it needs are passed in under names of our own.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ._compiler import Compiler
from ._limits import Limits
from ._nodes import copy_json, out_of_steps
from ._ops_data import step
from ._ops_iter import items_of
from ._ops_math import add, divide, multiply, remainder, subtract
from ._ops_text import concat, contains, item_in, merged, substring, text_in
from ._values import compare, loose_equal, strict_equal, truthy


def _exhausted(budget: list[int], at: str) -> None:
    raise out_of_steps(budget, at)


HELPERS: dict[str, Any] = {
    "_type": type,
    "_dict": dict,
    "_int": int,
    "_float": float,
    "_str": str,
    "_list": list,
    "_len": len,
    "_step": step,
    "_truthy": truthy,
    "_compare": compare,
    "_loose": loose_equal,
    "_strict": strict_equal,
    "_copy": copy_json,
    "_text_in": text_in,
    "_item_in": item_in,
    "_contains": contains,
    "_add": add,
    "_sub": subtract,
    "_mul": multiply,
    "_div": divide,
    "_mod": remainder,
    "_cat": concat,
    "_substr": substring,
    "_merge": merged,
    "_items": items_of,
    "_exhausted": _exhausted,
    "_once": (None,),
}
SCALARS = (type(None), bool, int, float, str, Decimal)
#: Python refuses 100 levels of indentation and 20 nested loops; past these, closures.
MAX_INDENT = 40
MAX_LOOPS = 8
_ALLOWED_NAMES = frozenset(HELPERS) | {"data", "frame", "_rule", "_factory", "append", "get"}
_GENERATED_NAME = re.compile(r"_[kt][0-9]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_NUMBER = re.compile(r"(?<![A-Za-z_0-9])[0-9][A-Za-z_0-9.]*")


def generate(rule: Any, limits: Limits, *, framed: bool) -> Callable[..., Any]:
    """The rule as one generated function ``(data=None) -> value``.

    ``rule`` must already have compiled without problems; ``framed`` when it needs a step
    budget and scopes (it has iterators), which the function then makes per call.
    """
    from ._codegen_ops import INLINE

    generator = Generator(limits, INLINE)
    if framed:
        steps = generator.ref(limits.max_steps)
        generator.line(f"frame = ([{steps}, {steps}], None)")
    else:
        generator.line("frame = None")
    result = generator.emit(rule, "")
    generator.line(f"return {result}")
    params = [*HELPERS, *generator.names]
    source = "\n".join(
        [f"def _factory({', '.join(params)}):", "    def _rule(data=None):", *generator.lines, "    return _rule"]
    )
    check_source(source)
    namespace: dict[str, Any] = {"__builtins__": {}}
    # The one exec of the package: of source built from our own templates and names only
    # (checked above), never of text from a rule.
    exec(compile(source, "<rule>", "exec"), namespace)
    factory = namespace["_factory"]
    return factory(*HELPERS.values(), *generator.values)  # type: ignore[no-any-return]


def check_source(source: str) -> None:
    """Refuse generated source holding anything but our templates' tokens: it must be ASCII
    with no quote, comment, backslash or number literal, and every name must be a keyword,
    a helper, or one of our generated names."""
    if not source.isascii() or any(mark in source for mark in "'\"#\\"):
        raise AssertionError("generated rule code holds a string, comment or escape")
    number = _NUMBER.search(source)
    if number is not None:
        raise AssertionError(f"generated rule code holds a literal: {number.group()!r}")
    for name in set(_NAME.findall(source)):
        if not (keyword.iskeyword(name) or name in _ALLOWED_NAMES or _GENERATED_NAME.fullmatch(name)):
            raise AssertionError(f"generated rule code holds a foreign name: {name!r}")


def literal(value: Any) -> bool:
    """Whether ``value`` is a literal in a rule (no operation inside)."""
    if isinstance(value, SCALARS):
        return True
    if isinstance(value, (list, tuple)):
        return all(literal(item) for item in value)
    return isinstance(value, dict) and not value


class Generator:
    """The state of one generation: lines, bound values, the current data's name."""

    def __init__(self, limits: Limits, inline: dict[str, Any]) -> None:
        self.limits = limits
        self.inline = inline
        self.lines: list[str] = []
        self.names: list[str] = []
        self.values: list[Any] = []
        #: name of the current data: ``data``, or an iterator's item
        self.base = "data"
        #: depth of the iterators being inlined
        self.loops = 0
        self.indent = 2
        self._interned: dict[tuple[type, Any], str] = {}
        self._temps = 0
        # path steps already read, per open block: (base, key) -> temporary
        self._paths: list[dict[tuple[str, str], str]] = [{}]

    def line(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    def open_block(self, header: str) -> None:
        self.line(header)
        self.indent += 1
        self._paths.append({})

    def close_block(self) -> None:
        self.indent -= 1
        self._paths.pop()

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def ref(self, value: Any) -> str:
        """The name bound to ``value`` (keywords for the three singletons)."""
        if value is None:
            return "None"
        if value is True:
            return "True"
        if value is False:
            return "False"
        # only str and int are shared: 0.0 and -0.0 are equal keys but different values
        key = (type(value), value) if type(value) in (str, int) else None
        if key is not None and key in self._interned:
            return self._interned[key]
        name = f"_k{len(self.names)}"
        self.names.append(name)
        self.values.append(value)
        if key is not None:
            self._interned[key] = name
        return name

    def assign(self, expression: str) -> str:
        target = self.temp()
        self.line(f"{target} = {expression}")
        return target

    def emit(self, value: Any, pointer: str) -> str:
        """Emit code computing ``value``; return the name holding the result."""
        if literal(value):
            if isinstance(value, SCALARS):
                return self.ref(value)
            return self.assign(f"_copy({self.ref(copy_json(value))})")
        if isinstance(value, (list, tuple)):
            items = [self.emit(item, f"{pointer}/{i}") for i, item in enumerate(value)]
            return self.assign(f"[{', '.join(items)}]")
        if self.indent < MAX_INDENT and isinstance(value, dict) and len(value) == 1:
            ((op, args),) = value.items()
            handler = self.inline.get(op)
            if handler is not None:
                site = f"{pointer}/{op.replace('~', '~0').replace('/', '~1')}"
                result = handler(self, op, args, pointer, site)
                if result is not None:
                    return result  # type: ignore[no-any-return]
        return self.closure(value, pointer)

    def closure(self, value: Any, pointer: str) -> str:
        """Call the closure-compiled form of ``value`` (what is not inlined)."""
        compiler = Compiler(self.limits)
        compiler.depth = 1 if self.loops else 0
        node = compiler.node(value, pointer)
        if node.const:
            if isinstance(node.value, SCALARS):
                return self.ref(node.value)
            return self.assign(f"_copy({self.ref(node.value)})")
        return self.assign(f"{self.ref(node.fn)}({self.base}, frame)")

    def climbs(self, value: Any, pointer: str) -> bool:
        """Whether ``value``, as an iterator body, reads enclosing scopes."""
        compiler = Compiler(self.limits)
        compiler.depth = 1
        compiler.node(value, pointer)
        return compiler.climbs > 0

    def path(self, segments: tuple[tuple[str, int | None], ...]) -> str:
        """Emit the reading of a path from the current data."""
        current = self.base
        for key, index in segments:
            cache_key = (current, key)
            cached = next((scope[cache_key] for scope in reversed(self._paths) if cache_key in scope), None)
            if cached is not None:
                current = cached
                continue
            k, i = self.ref(key), self.ref(index)
            target = self.assign(f"{current}.get({k}) if _type({current}) is _dict else _step({current}, {k}, {i})")
            self._paths[-1][cache_key] = target
            current = target
        return current

    def truthy(self, name: str) -> str:
        return f"({name} is True or ({name} is not False and _truthy({name})))"

    def items(self, args: Any, pointer: str) -> list[str] | None:
        """Emit the arguments of an operator that evaluates all of them, when written as an
        array or a single literal; None when they are one expression to spread."""
        if isinstance(args, (list, tuple)):
            return [self.emit(item, f"{pointer}/{i}") for i, item in enumerate(args)]
        if isinstance(args, SCALARS):
            return [self.ref(args)]
        return None
