"""Strings and arrays: ``cat``, ``substr``, ``in``, ``merge``.

What these build is bounded twice: each result by ``Limits.max_string_length`` or
``Limits.max_array_length`` (a ``reduce`` that doubles a string each step stops with a
clean error, not an exhausted server), and all results of one evaluation together by the
step budget, which they are charged in proportion to their size (so a rule of a thousand
``cat`` cannot build a thousand megabytes either). Rules using them are always metered.
Strings count Python characters (code points), where JavaScript counts UTF-16 units; they
differ only beyond the Basic Multilingual Plane (emoji).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import LimitExceededError
from ._nodes import Node, Site, charge
from ._values import is_array, strict_equal, to_number, to_text, too_long

if TYPE_CHECKING:
    from ._compiler import Compiler

# Steps charged per character and per item of what these operators build or scan: with
# the default budget, one evaluation builds at most 16M characters or 4M array items.
_CHARS_PER_STEP = 16
_ITEMS_PER_STEP = 4
# Items of an array ``in`` scans per step (scanning allocates nothing).
_SCANNED_PER_STEP = 16


def concat(values: list[Any], frame: Any, at: str, limit: int) -> str:
    """``cat`` of evaluated arguments."""
    parts = []
    size = 0
    for value in values:
        if value is None:
            continue
        text = value if type(value) is str else to_text(value, at, limit)
        size += len(text)
        if size > limit:
            raise too_long(limit, at)
        parts.append(text)
    charge(frame, 1 + size // _CHARS_PER_STEP, at)
    return "".join(parts)


def _integer(value: Any, at: str) -> int:
    """JavaScript's ToIntegerOrInfinity for string positions (infinities clamp)."""
    number = to_number(value, at)
    try:
        return int(number)
    except OverflowError:
        return 1 << 62 if number > 0 else -(1 << 62)


def substring(values: list[Any], frame: Any, at: str, limit: int) -> str:
    """``substr`` of evaluated arguments."""
    text = to_text(values[0] if values else None, at, limit)
    size = len(text)
    start = _integer(values[1], at) if len(values) > 1 else 0
    start = max(size + start, 0) if start < 0 else min(start, size)
    if len(values) < 3:
        result = text[start:]
    else:
        length = _integer(values[2], at)
        result = text[start : size + length] if length < 0 else text[start : start + length]
    charge(frame, 1 + len(result) // _CHARS_PER_STEP, at)
    return result


def contains(values: list[Any], frame: Any, at: str, limit: int) -> bool:
    """``in`` of evaluated arguments."""
    needle = values[0] if values else None
    haystack = values[1] if len(values) > 1 else None
    if isinstance(haystack, str):
        if isinstance(needle, str):
            return needle in haystack
        try:  # a needle longer than the haystack is not in it: stop building it there
            return to_text(needle, at, len(haystack)) in haystack
        except LimitExceededError:
            return False
    if isinstance(haystack, (list, tuple)):
        if len(haystack) > 64:
            charge(frame, len(haystack) // _SCANNED_PER_STEP, at)
        if type(needle) is str:
            # == between a str and any other JSON value is False: this is ===
            return needle in haystack
        return item_in(needle, haystack)
    return False


def text_in(needle: Any, texts: frozenset[str]) -> bool:
    return isinstance(needle, str) and needle in texts


def item_in(needle: Any, haystack: Any) -> bool:
    return any(strict_equal(needle, item) for item in haystack)


def merged(values: list[Any], frame: Any, at: str, limit: int) -> list[Any]:
    """``merge`` of evaluated arguments."""
    result: list[Any] = []
    for value in values:
        if is_array(value):
            if len(result) + len(value) > limit:
                raise _too_many(limit, at)
            result.extend(value)
        else:
            result.append(value)
            if len(result) > limit:
                raise _too_many(limit, at)
    charge(frame, 1 + len(result) // _ITEMS_PER_STEP, at)
    return result


def _too_many(limit: int, at: str) -> LimitExceededError:
    return LimitExceededError("max_array_length", f"the rule would build an array of more than {limit} items", at)


def build_cat(c: Compiler, args: Any, site: Site) -> Node:
    """``{"cat": [a, b, ...]}``: the texts joined; null adds nothing, numbers print as in
    JavaScript (``2.0`` as ``"2"``)."""
    fn = c.spread(args, site).fn
    at = site.pointer
    limit = c.limits.max_string_length
    c.framed = True
    return Node(lambda data, frame: concat(fn(data, frame), frame, at, limit))


def build_substr(c: Compiler, args: Any, site: Site) -> Node:
    """``{"substr": [text, start, length]}``: negative start counts from the end, negative
    length drops that many characters from the end."""
    fn = c.spread(args, site, least=1, most=3).fn
    at = site.pointer
    limit = c.limits.max_string_length
    c.framed = True
    return Node(lambda data, frame: substring(fn(data, frame), frame, at, limit))


def build_in(c: Compiler, args: Any, site: Site) -> Node:
    """``{"in": [needle, haystack]}``: an item of an array (``===``), or a part of a text."""
    spread = c.spread(args, site, least=2, most=2)
    at = site.pointer
    limit = c.limits.max_string_length
    nodes = spread.nodes
    if nodes is not None and len(nodes) == 2 and nodes[1].const and is_array(nodes[1].value):
        options = tuple(nodes[1].value)
        needle = nodes[0].fn
        if all(type(option) is str for option in options):
            texts = frozenset(options)
            return Node(lambda data, frame: text_in(needle(data, frame), texts))
        return Node(lambda data, frame: item_in(needle(data, frame), options))
    fn = spread.fn
    return Node(lambda data, frame: contains(fn(data, frame), frame, at, limit))


def build_merge(c: Compiler, args: Any, site: Site) -> Node:
    """``{"merge": [a, b, ...]}``: one array of the arrays' items (and the other values)."""
    fn = c.spread(args, site).fn
    at = site.pointer
    limit = c.limits.max_array_length
    c.framed = True
    return Node(lambda data, frame: merged(fn(data, frame), frame, at, limit))
