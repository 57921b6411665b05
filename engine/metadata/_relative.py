"""The operators of the records' filter language, and the relative values of a view's
filter: ``"@me"``, ``"@now"`` and periods such as ``"@today"``, ``"@this_month"`` or
``"@last_7_days"`` (docs/views.md).

This module holds their grammar only: what a token means (a user, an instant, or a period
of whole days, weeks, months, quarters or years counted from today) and which fields and
operators take it. What a token stands for at a given moment and for a given user is worked
out by ``engine.records`` (``resolve_relative``), once per request, so that the API, the
admin lists and the board agree.

A string that starts with ``@`` is a relative value; ``@@`` starts a literal ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: The operators of the records' filter language (``engine.records`` compiles them).
FILTER_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "is_null")

RelativeKind = Literal["user", "instant", "period"]
Unit = Literal["day", "week", "month", "quarter", "year"]

#: The operators a period takes: equality means "within the period".
PERIOD_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte")
#: The operators ``@me`` takes (``in`` item by item).
USER_OPERATORS = ("eq", "ne", "in")
#: The operators ``@now`` takes.
INSTANT_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte")
#: Field types a user token fits (a user's name is text).
USER_TYPES = ("string", "text")
#: Field types a date token fits.
TIME_TYPES = ("date", "datetime")
_MAX_DAYS = 3660
_NAMED: dict[str, tuple[Unit, int]] = {
    "today": ("day", 0),
    "yesterday": ("day", -1),
    "tomorrow": ("day", 1),
}
_SHIFTS = {"this": 0, "last": -1, "next": 1}
_UNITS: tuple[Unit, ...] = ("week", "month", "quarter", "year")
_COUNTED = re.compile(r"(?P<which>last|next)_(?P<n>\d{1,4})_days|(?P<ago>\d{1,4})_days_ago|in_(?P<ahead>\d{1,4})_days")
#: The tokens, for messages and docs.
EXAMPLES = (
    "@me", "@now", "@today", "@yesterday", "@tomorrow", "@this_week", "@last_month", "@next_quarter",
    "@this_year", "@last_7_days", "@next_30_days", "@30_days_ago", "@in_14_days",
)  # fmt: skip


@dataclass(frozen=True)
class Relative:
    """What a relative token means. A period starts ``offset`` units from the current one
    (0: this one, -1: the one before) and lasts ``length`` units."""

    token: str
    kind: RelativeKind
    unit: Unit = "day"
    offset: int = 0
    length: int = 1


def is_relative(value: object) -> bool:
    """Whether ``value`` is written as a relative value (a string starting with one ``@``)."""
    return isinstance(value, str) and value.startswith("@") and not value.startswith("@@")


def literal(value: str) -> str:
    """A string value as meant: ``"@@x"`` is the text ``"@x"``."""
    return value[1:] if value.startswith("@@") else value


def parse_relative(text: str) -> Relative | None:
    """The meaning of ``"@token"``, or ``None`` when the token is unknown."""
    token = text[1:]
    if token == "me":
        return Relative(token, "user")
    if token == "now":
        return Relative(token, "instant")
    if token in _NAMED:
        day, offset = _NAMED[token]
        return Relative(token, "period", day, offset)
    which, _, written = token.partition("_")
    for unit in _UNITS:
        if which in _SHIFTS and written == unit:
            return Relative(token, "period", unit, _SHIFTS[which])
    match = _COUNTED.fullmatch(token)
    if match is None:
        return None
    if match["which"] is not None:
        n = int(match["n"])
        if not 1 <= n <= _MAX_DAYS:
            return None
        return Relative(token, "period", "day", -(n - 1) if match["which"] == "last" else 0, n)
    n = int(match["ago"] or match["ahead"])
    if n > _MAX_DAYS:
        return None
    return Relative(token, "period", "day", -n if match["ago"] is not None else n)


def relative_problem(text: str, field_type: str, operator: str) -> str | None:
    """Why ``text`` (a relative value) cannot stand with ``operator`` on a field of
    ``field_type``; ``None`` when it can."""
    found = parse_relative(text)
    if found is None:
        return (
            f'{text!r} is not a relative value; use one of {", ".join(EXAMPLES)} (write "@@" to start a text with "@")'
        )
    if found.kind == "user":
        if field_type not in USER_TYPES:
            return f'"@me" stands for a user\'s name and fits text fields such as owner, not a {field_type} field'
        if operator not in USER_OPERATORS:
            return f'"@me" takes eq, ne or in, not {operator}'
        return None
    if field_type not in TIME_TYPES:
        return f"{text!r} is a moment or a period and fits date and datetime fields, not a {field_type} field"
    allowed = INSTANT_OPERATORS if found.kind == "instant" else PERIOD_OPERATORS
    if operator not in allowed:
        return f"{text!r} takes {', '.join(allowed)}, not {operator}"
    return None
