"""Strings that match a field's ``pattern``, drawn from the regular expression itself.

Patterns admins write are codes (``[A-Z]{2}-\\d{6}``), phone or postal formats: literals,
classes, repeats, groups and alternatives. Those are walked and filled at random; what this
cannot produce (look-arounds, back-references into optional groups) yields ``None``, and
every candidate is checked with ``fullmatch`` before it is used.
"""

from __future__ import annotations

import random
import re
import re._parser as sre  # the standard library's own regex parser (sre_parse before 3.11)
from functools import cache
from typing import Any

_DIGITS = "0123456789"
_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
_SPACE = " "
_PRINTABLE = [chr(c) for c in range(0x21, 0x7F)]
#: Unbounded repeats (``+``, ``*``, ``{2,}``) stop at most this far above their minimum.
_EXTRA_REPEATS = 3


class _Unsupported(Exception):
    pass


@cache
def _parsed(pattern: str) -> Any:
    try:
        return sre.parse(pattern)
    except re.error:
        return None


def _category(name: Any) -> str:
    if name == sre.CATEGORY_DIGIT:
        return _DIGITS
    if name == sre.CATEGORY_WORD:
        return _WORD
    if name == sre.CATEGORY_SPACE:
        return _SPACE
    raise _Unsupported(str(name))


def _class(items: list[tuple[Any, Any]], rng: random.Random) -> str:
    negate = False
    chars: list[str] = []
    for op, arg in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            chars.append(chr(arg))
        elif op is sre.RANGE:
            low, high = arg
            chars.extend(chr(c) for c in range(low, min(high, low + 200) + 1))
        elif op is sre.CATEGORY:
            chars.extend(_category(arg))
        else:
            raise _Unsupported(str(op))
    if negate:
        excluded = set(chars)
        chars = [c for c in _PRINTABLE if c not in excluded]
    if not chars:
        raise _Unsupported("empty class")
    return rng.choice(chars)


def _emit(items: Any, rng: random.Random, out: list[str], groups: dict[int, str]) -> None:
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in _WORD if ord(c) != arg]))
        elif op is sre.ANY:
            out.append(rng.choice(_WORD))
        elif op is sre.IN:
            out.append(_class(arg, rng))
        elif op is sre.CATEGORY:
            out.append(rng.choice(_category(arg)))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = arg
            high = min(high, low + _EXTRA_REPEATS)
            for _ in range(rng.randint(low, high)):
                _emit(body, rng, out, groups)
        elif op is sre.SUBPATTERN:
            group, _add, _del, body = arg
            start = len(out)
            _emit(body, rng, out, groups)
            if group is not None:
                groups[group] = "".join(out[start:])
        elif op is sre.BRANCH:
            _emit(rng.choice(arg[1]), rng, out, groups)
        elif op is sre.GROUPREF:
            if arg not in groups:
                raise _Unsupported("reference to an unset group")
            out.append(groups[arg])
        elif op is sre.AT:
            continue
        else:
            raise _Unsupported(str(op))


def sample_pattern(pattern: str, rng: random.Random, *, attempts: int = 8) -> str | None:
    """A random string that ``re.fullmatch(pattern, ...)`` accepts, or None when the
    pattern uses constructs this cannot produce."""
    parsed = _parsed(pattern)
    if parsed is None:
        return None
    matcher = re.compile(pattern)
    for _ in range(attempts):
        out: list[str] = []
        try:
            _emit(parsed, rng, out, {})
        except _Unsupported:
            return None
        text = "".join(out)
        if matcher.fullmatch(text):
            return text
    return None
