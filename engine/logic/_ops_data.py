"""Operators that read the data: ``var``, ``val``, ``exists``, ``missing``, ``missing_some``,
and ``preserve`` (a literal).

Reading is confined to the data: a path step reads a key of a mapping or an index of a
list or tuple, nothing else. There is no attribute access anywhere, so no path reaches
``__class__`` or a method of a value; a step that does not apply gives null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._errors import EvaluationError
from ._nodes import Fn, Node, Site, ascend, charge, child, constant, copy_json, identity
from ._values import invalid, is_array, to_number, to_text

if TYPE_CHECKING:
    from ._compiler import Compiler

Segment = tuple[str, int | None]
Path = tuple[Segment, ...]

# A path of any length is text; this bounds the text a computed path may become.
_PATH_TEXT_LIMIT = 10_000


def segment(key: Any) -> Segment:
    """One path step: the mapping key, and the list index when the key is one."""
    if type(key) is int and key >= 0:
        return str(key), key
    text = key if isinstance(key, str) else to_text(key, None, _PATH_TEXT_LIMIT)
    canonical = text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")
    return text, int(text) if canonical else None


def var_path(path: Any) -> Path:
    """The steps of a ``var`` path: dot-separated text; null and ``""`` mean the data."""
    if path is None:
        return ()
    text = path if isinstance(path, str) else to_text(path, None, _PATH_TEXT_LIMIT)
    if text == "":
        return ()
    return tuple(segment(part) for part in text.split("."))


def step(current: Any, key: str, index: int | None) -> Any:
    """One step down: a mapping key or a list index, else null. Never an attribute."""
    if type(current) is dict:
        return current.get(key)
    if current is None:
        return None
    if index is not None and isinstance(current, (list, tuple)):
        return current[index] if index < len(current) else None
    if isinstance(current, Mapping):
        return current.get(key)
    return None


def resolve(current: Any, path: Path) -> Any:
    for key, index in path:
        current = step(current, key, index)
        if current is None:
            return None
    return current


def getter(path: Path) -> Fn:
    """A closure reading ``path`` from its data, unrolled for the short paths guards use."""
    if not path:
        return identity
    if len(path) == 1:
        ((k0, i0),) = path

        def get1(data: Any, frame: Any) -> Any:
            if type(data) is dict:
                return data.get(k0)
            return step(data, k0, i0)

        return get1
    if len(path) == 2:
        (k0, i0), (k1, i1) = path

        def get2(data: Any, frame: Any) -> Any:
            data = data.get(k0) if type(data) is dict else step(data, k0, i0)
            if type(data) is dict:
                return data.get(k1)
            return step(data, k1, i1)

        return get2
    return lambda data, frame: resolve(data, path)


def present(current: Any, path: Path) -> bool:
    """Whether every step of ``path`` exists (a key holding null exists)."""
    for key, index in path:
        if isinstance(current, Mapping):
            if key not in current:
                return False
            current = current[key]
        elif index is not None and isinstance(current, (list, tuple)) and index < len(current):
            current = current[index]
        else:
            return False
    return True


def build_var(c: Compiler, args: Any, site: Site) -> Node:
    """``{"var": "record.amount"}``, ``{"var": ["record.amount", 0]}``: a dotted path, with
    a default used when the value is null or missing."""
    default: Node | None = None
    if isinstance(args, (list, tuple)):
        if len(args) > 2:
            return c.problem("invalid_arguments", "'var' takes a path and an optional default", site.args_pointer)
        path = c.node(args[0], child(site.args_pointer, 0)) if args else constant(None)
        if len(args) == 2:
            default = c.node(args[1], child(site.args_pointer, 1))
    else:
        path = c.node(args, site.args_pointer)
    if path.const:
        steps = var_path(path.value)
        c.note_variable(steps)
        get = getter(steps)
    else:
        path_fn = path.fn

        def get(data: Any, frame: Any) -> Any:
            return resolve(data, var_path(path_fn(data, frame)))

    if default is None:
        return Node(get)
    fallback = default.fn

    def get_or_default(data: Any, frame: Any) -> Any:
        value = get(data, frame)
        return fallback(data, frame) if value is None else value

    return Node(get_or_default)


def _plan(values: list[Any]) -> tuple[int, Path]:
    """A ``val`` argument list as (scopes to climb, path): ``[[2], "a", "b"]`` climbs two."""
    climb = 0
    if values and isinstance(values[0], (list, tuple)) and len(values[0]) == 1:
        try:
            levels = abs(float(to_number(values[0][0], None)))
        except EvaluationError:
            levels = 0.0
        # past the outermost scope every level is null; 1000 is as good as infinity
        climb = min(math.ceil(levels), 1000) if math.isfinite(levels) else 1000
        values = values[1:]
    return climb, tuple(segment(value) for value in values if value is not None)


def _val_like(c: Compiler, args: Any, site: Site, finish: Any) -> Node:
    """Shared by ``val`` and ``exists``: ``finish(base, path)`` gives the result."""
    if args is None:
        return Node(lambda data, frame: finish(data, ()))
    nodes = c.nodes(args, site.args_pointer) if isinstance(args, (list, tuple)) else [c.node(args, site.args_pointer)]
    if all(node.const for node in nodes):
        values = [node.value for node in nodes]
        if not isinstance(args, (list, tuple)) and isinstance(values[0], (list, tuple)):
            values = list(values[0])
        climb, path = _plan(values)
        if climb == 0:
            c.note_variable(path)
            if finish is _value:
                return Node(getter(path))
            return Node(lambda data, frame: finish(data, path))
        c.framed = True
        c.climbs += 1
        if climb == 2 * c.depth:  # climbed back to the evaluation data
            c.note_variable(path, from_root=True)
        return Node(lambda data, frame: finish(ascend(data, frame, climb), path))
    c.framed = True
    c.climbs += 1
    fns = tuple(node.fn for node in nodes)
    listed = isinstance(args, (list, tuple))

    def dynamic(data: Any, frame: Any) -> Any:
        values = [fn(data, frame) for fn in fns]
        if not listed and is_array(values[0]):
            values = list(values[0])
        climb, path = _plan(values)
        return finish(ascend(data, frame, climb), path)

    return Node(dynamic)


def _value(base: Any, path: Path) -> Any:
    return resolve(base, path)


def build_val(c: Compiler, args: Any, site: Site) -> Node:
    """``{"val": ["record", "amount"]}``: path segments, no dot splitting;
    ``{"val": [[2], "x"]}`` reads ``x`` two scopes up (see docs/conditions.md)."""
    return _val_like(c, args, site, _value)


def build_exists(c: Compiler, args: Any, site: Site) -> Node:
    """``{"exists": ["record", "amount"]}``: whether the path is there, even if null."""
    return _val_like(c, args, site, present)


def _absent(value: Any) -> bool:
    return value is None or (type(value) is str and value == "")


def build_missing(c: Compiler, args: Any, site: Site) -> Node:
    """``{"missing": ["a", "b.c"]}``: the keys whose value is null, missing or ``""``."""
    spread = c.spread(args, site)
    at = site.pointer
    if spread.static:
        assert spread.nodes is not None
        values = [node.value for node in spread.nodes]
        keys = values[0] if values and is_array(values[0]) else values
        if all(isinstance(key, (str, int, float, bool, type(None))) for key in keys):
            plan = []
            for key in keys:
                path = var_path(key)
                c.note_variable(path)
                plan.append((key, getter(path)))
            return Node(lambda data, frame: [k for k, get in plan if _absent(get(data, frame))])
    fn = spread.fn

    def missing(data: Any, frame: Any) -> list[Any]:
        values = fn(data, frame)
        keys = values[0] if values and is_array(values[0]) else values
        charge(frame, len(keys) >> 2, at)
        return [key for key in keys if _absent(resolve(data, var_path(key)))]

    return Node(missing)


def build_missing_some(c: Compiler, args: Any, site: Site) -> Node:
    """``{"missing_some": [1, ["phone", "email"]]}``: ``[]`` when at least that many of the
    keys are present, else the missing ones."""
    spread = c.spread(args, site, least=2, most=2)
    at = site.pointer
    if spread.nodes is not None and len(spread.nodes) == 2 and spread.nodes[1].const:
        keys = spread.nodes[1].value
        if is_array(keys):
            for key in keys:
                if isinstance(key, (str, int, float, bool)):
                    c.note_variable(var_path(key))
    fn = spread.fn

    def missing_some(data: Any, frame: Any) -> list[Any]:
        values = fn(data, frame)
        need = values[0] if values else None
        keys = values[1] if len(values) > 1 else None
        if not isinstance(keys, (list, tuple)):
            raise invalid("'missing_some' takes a count and an array of keys", at)
        charge(frame, len(keys) >> 2, at)
        count = to_number(need, at)
        absent = [key for key in keys if _absent(resolve(data, var_path(key)))]
        return [] if len(keys) - len(absent) >= count else absent

    return Node(missing_some)


def build_preserve(c: Compiler, args: Any, site: Site) -> Node:
    """``{"preserve": value}``: the value as written, not evaluated."""
    return constant(copy_json(args))
