"""Field patterns: the one place that checks a ``pattern`` and matches values against it.

A pattern is written in Python's syntax and run by RE2 (``google-re2``), whose matching
time grows linearly with the value whatever the pattern: a record's value cannot make a
worker spin, as ``"(a+)+$"`` did on Python's backtracking engine (29 characters, 7 s).
Validation refuses what RE2 cannot run (backreferences, lookaround, atomic groups,
possessive quantifiers, conditionals) and, because a pattern also reaches clients (the
OpenAPI document, generated forms) that match it with backtracking engines, nested
quantifiers that backtrack exponentially there: a repeated group that is, apart from
optional parts, one variable-length repetition (``(a+)+``, ``(\\w+\\s?)*``, ``(a|b+)+``).
A repetition separated by something required (``[a-z]+(-[a-z]+)*``) is fine.
"""

from __future__ import annotations

import functools
import re
import re._constants as _sre
import re._parser as _sre_parse
from collections.abc import Callable, Iterable
from typing import Any

import re2

#: Bytes RE2 may use for one compiled pattern (RE2's own default); a pattern needing
#: more (``a{1000}{1000}``) is refused at validation.
MAX_PATTERN_MEMORY = 8 << 20

_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)
#: What RE2 cannot run, as Python's parser names it, and how a message says it.
_UNSUPPORTED = {
    _sre.GROUPREF: "backreferences (\\1, (?P=name)) are not supported",
    _sre.GROUPREF_EXISTS: "conditional groups ((?(1)...)) are not supported",
    _sre.ASSERT: "lookahead and lookbehind ((?=...), (?<=...)) are not supported",
    _sre.ASSERT_NOT: "negative lookahead and lookbehind ((?!...), (?<!...)) are not supported",
    _sre.ATOMIC_GROUP: "atomic groups ((?>...)) are not supported",
    _sre.POSSESSIVE_REPEAT: "possessive quantifiers (a++, a*+) are not supported",
}

Matcher = Callable[[str], bool]


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is a problem we report, not a log line
    options.max_mem = MAX_PATTERN_MEMORY
    return options


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a field's pattern (a sentence ending in a fix), or ``None``."""
    try:
        parsed = _sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"the pattern is not a valid regular expression: {exc}. Fix it."
    unsupported = _first_unsupported(parsed)
    if unsupported is not None:
        return f"the pattern cannot be matched in bounded time: {unsupported}. Rewrite it without them."
    if _has_nested_quantifier(parsed):
        return (
            "the pattern repeats a repetition (nested quantifiers such as '(a+)+'), which takes "
            "exponential time in backtracking engines. Repeat the inner part once ('a+'), or "
            "separate the repetitions by something required ('[a-z]+(-[a-z]+)*')."
        )
    try:
        re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return f"the pattern cannot be matched in bounded time: {reason}. Rewrite it."
    return None


@functools.lru_cache(maxsize=1024)
def pattern_matcher(pattern: str) -> Matcher:
    """Whether a whole value matches ``pattern`` (valid: :func:`pattern_problem` is ``None``),
    in time linear in the value's length."""
    compiled = re2.compile(pattern, _options())

    def fullmatch(value: str) -> bool:
        try:
            return compiled.fullmatch(value) is not None
        except UnicodeEncodeError:
            return False  # a lone surrogate has no UTF-8 form: no pattern matches it

    return fullmatch


def _children(op: Any, av: Any) -> Iterable[Any]:
    """The subpatterns of one parsed item."""
    if op is _sre.SUBPATTERN:
        return (av[3],)
    if op is _sre.BRANCH:
        return tuple(av[1])
    if op in _REPEATS:
        return (av[2],)
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return (av[1],)
    if op is _sre.ATOMIC_GROUP:
        return (av,)
    if op is _sre.GROUPREF_EXISTS:
        return tuple(p for p in av[1:] if p is not None)
    return ()


def _first_unsupported(items: Any) -> str | None:
    for op, av in items:
        if op in _UNSUPPORTED:
            return _UNSUPPORTED[op]
        for sub in _children(op, av):
            found = _first_unsupported(sub)
            if found is not None:
                return found
    return None


def _is_variable_repeat(op: Any, av: Any) -> bool:
    return op in _REPEATS and av[0] != av[1] and av[1] > 1


def _has_nested_quantifier(items: Any) -> bool:
    for op, av in items:
        if op in _REPEATS and av[1] > 1 and _is_bare_repetition(av[2]):
            return True
        if any(_has_nested_quantifier(sub) for sub in _children(op, av)):
            return True
    return False


def _is_bare_repetition(body: Any) -> bool:
    """Whether ``body`` can match as one variable-length repetition with nothing required
    around it (so that repeating ``body`` splits a run of characters in many ways)."""
    items = list(body)
    for index, (op, av) in enumerate(items):
        others = _sre_parse.SubPattern(body.state, items[:index] + items[index + 1 :])
        if others.getwidth()[0] > 0:
            continue
        if _is_variable_repeat(op, av):
            return True
        if any(_is_bare_repetition(sub) for sub in _children(op, av)):
            return True
    return False
