"""Autonumber patterns: the one place that reads ``SO-{YYYY}-{#####}``.

A pattern is literal text with tokens in braces: one counter ``{#…#}`` (1 to
:data:`MAX_COUNTER_WIDTH` ``#``, the number padded with zeros to that many digits) and any
of the date tokens ``{YYYY}``, ``{YY}``, ``{MM}``, ``{DD}``, filled in from the record's
creation date. The text before the counter, tokens filled in, is the counter's *prefix*:
each distinct prefix counts on its own, so ``SO-{YYYY}-{#####}`` starts again at 1 each
year. Everything here is pure: the counters are rows of ``crm_counters`` (``engine.storage``)
and ``engine.records`` takes numbers from them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date

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
