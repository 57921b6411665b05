"""The patterns a field declares, each read in one place: a text field's ``pattern`` and an
autonumber's ``pattern``.

**Text patterns** (``pattern`` on a string field): checked here, and values matched against them.

A pattern is written in Python's syntax and run by RE2 (``google-re2``), whose matching
time grows linearly with the value whatever the pattern: a record's value cannot make a
worker spin, as ``"(a+)+$"`` did on Python's backtracking engine (29 characters, 7 s).
Validation refuses what RE2 cannot run (backreferences, lookaround, atomic groups,
possessive quantifiers, conditionals) and, because a pattern also reaches clients (the
OpenAPI document, generated forms) that match it with backtracking engines, nested
quantifiers that backtrack exponentially there: a repeated group that is, apart from
optional parts, one variable-length repetition (``(a+)+``, ``(\\w+\\s?)*``, ``(a|b+)+``).
A repetition separated by something required (``[a-z]+(-[a-z]+)*``) is fine.

**Number patterns** (an autonumber's ``SO-{YYYY}-{#####}``): literal text with tokens in
braces: one counter ``{#…#}`` (1 to :data:`MAX_COUNTER_WIDTH` ``#``, the number padded with
zeros to that many digits) and any of the date tokens ``{YYYY}``, ``{YY}``, ``{MM}``,
``{DD}``, filled in from the record's creation date. The text before the counter, tokens
filled in, is the counter's *prefix*: each distinct prefix counts on its own, so
``SO-{YYYY}-{#####}`` starts again at 1 each year. Everything here is pure: the counters are
rows of ``crm_counters`` (``engine.storage``) and ``engine.records`` takes numbers from them.
"""

from __future__ import annotations

import functools
import re
import re._constants as _sre
import re._parser as _sre_parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
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


# -- number patterns (autonumbers) ----------------------------------------------------------------
#: The most ``#`` a counter may have (a 64-bit counter has at most 19 digits).
MAX_COUNTER_WIDTH = 12
#: The largest number a counter can reach (a 64-bit integer), and its digits.
COUNTER_MAX = 2**63 - 1
COUNTER_DIGITS = len(str(COUNTER_MAX))
#: Date tokens, each with how it is written and the width of its text.
DATE_TOKENS: dict[str, tuple[str, int]] = {"YYYY": ("%Y", 4), "YY": ("%y", 2), "MM": ("%m", 2), "DD": ("%d", 2)}
_COUNTER = re.compile(r"#+")
_PIECES = re.compile(r"\{([^{}]*)\}|([{}])|([^{}]+)")

#: A piece of a pattern: literal text, a date token (``"YYYY"``) or the counter (its width).
Piece = tuple[str, str | int]


class NumberPatternError(ValueError):
    """A pattern that cannot number records; ``code`` is its problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NumberPattern:
    """A parsed autonumber pattern (see :func:`number_pattern`)."""

    text: str
    #: The pieces before the counter, the counter's width, the pieces after it.
    before: tuple[Piece, ...]
    width: int
    after: tuple[Piece, ...]

    def prefix(self, day: date) -> str:
        """The counter's prefix for a record created on ``day`` (its counter key)."""
        return _fill(self.before, day)

    def render(self, day: date, number: int) -> str:
        """The number ``number`` of a record created on ``day``: ``SO-2025-00042``."""
        return f"{_fill(self.before, day)}{number:0{self.width}d}{_fill(self.after, day)}"

    def read(self, value: str) -> tuple[str, int] | None:
        """``(prefix, number)`` of a value written in this pattern (an imported number),
        or ``None`` when it is not (a number kept from an older system, or one past what a
        counter can reach)."""
        found = _reader(self).fullmatch(value)
        if found is None or int(found.group(2)) > COUNTER_MAX:
            return None
        return found.group(1), int(found.group(2))

    @property
    def max_length(self) -> int:
        """The longest value this pattern writes: a counter can reach 19 digits."""
        return sum(_width(p) for p in (*self.before, *self.after)) + max(self.width, COUNTER_DIGITS)


def _fill(pieces: tuple[Piece, ...], day: date) -> str:
    return "".join(day.strftime(DATE_TOKENS[str(v)][0]) if kind == "date" else str(v) for kind, v in pieces)


def _width(piece: Piece) -> int:
    kind, value = piece
    return DATE_TOKENS[str(value)][1] if kind == "date" else len(str(value))


def _regex(pieces: tuple[Piece, ...]) -> str:
    return "".join(rf"\d{{{_width((k, v))}}}" if k == "date" else re.escape(str(v)) for k, v in pieces)


@functools.cache
def _reader(pattern: NumberPattern) -> re.Pattern[str]:
    return re.compile(rf"({_regex(pattern.before)})(\d{{1,{COUNTER_DIGITS}}}){_regex(pattern.after)}")


@functools.cache
def number_pattern(text: str) -> NumberPattern:
    """Parse ``text``; :class:`NumberPatternError` says what is wrong with it and how to fix it."""
    pieces: list[Piece] = []
    counters: list[int] = []
    for token, brace, literal in _PIECES.findall(text):
        if literal:
            pieces.append(("text", literal))
        elif brace:
            raise NumberPatternError(
                "autonumber_token",
                f"{text!r} has an unmatched {brace!r}; tokens are written in braces, "
                "such as {YYYY} or {#####}, and braces cannot appear otherwise.",
            )
        elif token in DATE_TOKENS:
            pieces.append(("date", token))
        elif _COUNTER.fullmatch(token):
            counters.append(len(pieces))
            pieces.append(("counter", len(token)))
        else:
            raise NumberPatternError(
                "autonumber_token",
                f"{text!r} has the unknown token {{{token}}}; use {{YYYY}}, {{YY}}, {{MM}}, {{DD}} "
                "or one counter such as {#####}.",
            )
    if len(counters) != 1:
        found = "no counter" if not counters else f"{len(counters)} counters"
        raise NumberPatternError(
            "autonumber_counter",
            f"{text!r} has {found}; a pattern needs exactly one, such as {{#####}} "
            '(the number padded to five digits): "SO-{YYYY}-{#####}".',
        )
    at = counters[0]
    width = int(pieces[at][1])
    if width > MAX_COUNTER_WIDTH:
        raise NumberPatternError(
            "autonumber_counter",
            f"the counter of {text!r} has {width} '#'; use 1 to {MAX_COUNTER_WIDTH} "
            "(the number is padded with zeros to that many digits).",
        )
    return NumberPattern(text, tuple(pieces[:at]), width, tuple(pieces[at + 1 :]))


def number_pattern_problem(text: str) -> tuple[str, str] | None:
    """``(code, message)`` of what is wrong with the pattern ``text``, or ``None``."""
    try:
        number_pattern(text)
    except NumberPatternError as exc:
        return exc.code, str(exc)
    return None
