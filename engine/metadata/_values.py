"""Whether a value suits a field: used for defaults, so a default is never a value the
field itself would reject. Each check returns ``None`` or the reason, phrased as a fix."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.metadata._field_types import DATE_PATTERN, DATETIME_PATTERN, field_type
from engine.metadata._model import FieldDef
from engine.metadata._patterns import pattern_matcher

_INT64 = (-(2**63), 2**63 - 1)
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Formats are the registry's, the ones records are validated with (engine/compile/_rules.py):
# a default must pass exactly what a value typed by a user must pass.
#: What a default that misses its type's format should be instead.
_FORMAT_HINTS: Mapping[str, str] = {
    "email": "write an e-mail address such as 'name@example.com'",
    "phone": "write a telephone number: at least 5 digits, with spaces, '-', '.', '(', ')' and a leading '+' allowed",
    "url": "write an http:// or https:// URL with a host",
}

Check = Callable[[FieldDef, Any], "str | None"]


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number or decimal string as :class:`Decimal` (``None`` if it is neither)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr gives the shortest text that reads back as the same float: 0.1 → "0.1".
        return Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def decimal_fit_problem(value: Decimal, precision: int, scale: int) -> str | None:
    """Why ``value`` does not fit ``precision`` digits with ``scale`` after the point.

    Counts digits from the tuple form: quantize and normalize would round to the
    decimal context's 28 digits, and definitions allow 38.
    """
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or not any(digits):
        return None  # zero fits anything (and specials are never produced here)
    significant = list(digits)
    while significant[-1] == 0 and exponent < 0:
        significant.pop()
        exponent += 1
    if -exponent > scale:
        return f"it has too many digits after the decimal point (at most {scale})"
    if len(significant) + exponent > precision - scale:
        return f"it has too many digits before the decimal point (at most {precision - scale})"
    return None


def _bounds_problem(field: FieldDef, number: Decimal) -> str | None:
    if field.minimum is not None and number < field.minimum:
        return f"it is below the field's minimum {field.minimum}"
    if field.maximum is not None and number > field.maximum:
        return f"it is above the field's maximum {field.maximum}"
    return None


def _text(field: FieldDef, value: Any) -> str | None:
    if not isinstance(value, str):
        return "write a string"
    if field.min_length is not None and len(value) < field.min_length:
        return f"it is shorter than min_length {field.min_length}"
    if field.max_length is not None and len(value) > field.max_length:
        return f"it is longer than max_length {field.max_length}"
    if field.pattern is not None and not pattern_matcher(field.pattern)(value):
        return f"it does not match the pattern {field.pattern!r}"
    pattern = field_type(field.type).pattern
    if pattern is not None and not pattern.fullmatch(value):
        return _FORMAT_HINTS[field.type]
    return None


def _integer(field: FieldDef, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "write a whole number (without a decimal point or quotes)"
    if not _INT64[0] <= value <= _INT64[1]:
        return "it does not fit a 64-bit integer"
    return _bounds_problem(field, Decimal(value))


def _decimal(field: FieldDef, value: Any) -> str | None:
    number = to_decimal(value)
    if number is None:
        return 'write a number, or a decimal string such as "12.50"'
    if field.precision is not None and field.scale is not None:
        reason = decimal_fit_problem(number, field.precision, field.scale)
        if reason:
            return f"{reason} (precision {field.precision}, scale {field.scale})"
    return _bounds_problem(field, number)


def _boolean(field: FieldDef, value: Any) -> str | None:
    return None if isinstance(value, bool) else "write true or false"


def _date(field: FieldDef, value: Any) -> str | None:
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        return 'write a date as "YYYY-MM-DD"'
    try:
        date.fromisoformat(value)
    except ValueError:
        return "it is not a calendar date"
    return None


def _datetime(field: FieldDef, value: Any) -> str | None:
    if not isinstance(value, str) or not DATETIME_PATTERN.fullmatch(value):
        return 'write a date and time such as "2024-05-01T09:30:00+08:00"'
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "it is not a valid date and time"
    return None


def _enum(field: FieldDef, value: Any) -> str | None:
    if not isinstance(value, str) or value not in field.choice_values:
        return f"use one of the choices: {', '.join(field.choice_values)}"
    return None


def _multi_enum(field: FieldDef, value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return 'write a list of choice values, such as ["a", "b"]'
    unknown = [v for v in value if v not in field.choice_values]
    if unknown:
        listed = ", ".join(field.choice_values)
        return f"{', '.join(map(repr, unknown))} not among the choices: {listed}"
    if len(set(value)) != len(value):
        return "a value appears twice in the list"
    return None


def _reference(field: FieldDef, value: Any) -> str | None:
    return "reference fields cannot have a default; remove it"


def _json(field: FieldDef, value: Any) -> str | None:
    return None


def _assigned(field: FieldDef, value: Any) -> str | None:
    return "the engine gives each new record its number; no value can be given"


_CHECKS: dict[str, Check] = {
    "string": _text,
    "text": _text,
    "email": _text,
    "phone": _text,
    "url": _text,
    "integer": _integer,
    "decimal": _decimal,
    "money": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "enum": _enum,
    "multi_enum": _multi_enum,
    "reference": _reference,
    "json": _json,
    "autonumber": _assigned,
}


def default_problem(field: FieldDef, value: Any) -> str | None:
    """Why ``value`` cannot be the default of ``field`` (``None`` when it can)."""
    if value is None:
        if field.type == "reference":
            return _reference(field, value)
        if field.required:
            return "the field is required, so its default cannot be null; give a value"
        return None
    return _CHECKS[field.type](field, value)
