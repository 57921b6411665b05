"""The record rules both validators share: formats, limits, codes and messages.

The marshmallow schemas (``_schema``) and the generated validators (``_validator``,
``_csv``) implement the same rules independently and are held to agree by a property
test. What they must share verbatim lives here, so that a change to a format or a
message is made once: the regular expressions, the numeric limits, the order of checks
(documented below) and the text of every problem.

Order of checks (a field gets at most its first problem)::

    missing / null   required
    string-like      type, required (blank after trimming, required fields only), invalid_character,
                     min_length, max_length, format (email/phone/url), pattern
    integer          type, out_of_range (signed 64 bit), minimum, maximum
    decimal, money   type, precision, scale, minimum, maximum
    boolean          type
    date             type, format
    datetime         type, format, out_of_range
    enum             type, choice
    multi_enum       type (not a list), then per item in order: type, choice, duplicate
    reference        type (not a positive integer), out_of_range
    json             invalid_character (any string or key at any depth)
    owner            type, invalid_character, max_length

``invalid_character`` is text no database stores: a NUL, or an unpaired UTF-16 surrogate
(``"\\ud800"`` in JSON); PostgreSQL refuses both and SQLite's driver cannot encode the
second, so such text is refused at input, whatever the field type and path.

Problems come out in this order: entity fields in definition order, then ``owner``, then
unknown and system keys in input order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from engine.errors import Problem
from engine.metadata._field_types import (
    DATE_PATTERN,
    DATETIME_PATTERN,
    TEXT_TYPES,
    field_type,
)
from engine.metadata._model import SYSTEM_FIELDS, EntityDef, FieldDef
from engine.suggestions import suggest

#: Signed 64-bit range: what BigInteger holds on every supported database.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
#: ``owner`` is a user name, as wide as the column that stores it.
OWNER_MAX_LENGTH: Final = 128
#: System columns a record may never carry on input (``owner`` may be given).
READ_ONLY_SYSTEM_FIELDS: Final = frozenset(SYSTEM_FIELDS) - {"owner"}

#: A numeric string for decimal fields: optional sign, ASCII digits with an optional
#: fraction, optional exponent (``12``, ``-12.50``, ``.5``, ``1e3``). No spaces,
#: underscores, ``NaN`` or ``Infinity``.
NUMERIC_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Dates and date-times as text: the registry's formats, which definitions check defaults
#: with too (the email, phone and url formats are :func:`format_regex`'s, also the registry's).
DATE_RE: Final = DATE_PATTERN
DATETIME_RE: Final = DATETIME_PATTERN
#: Boolean spellings accepted in CSV cells (compared lower-cased).
BOOLEAN_TEXT: Final = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}

#: What no database stores in text: NUL and unpaired surrogates (see ``unstorable``).
_UNSTORABLE_RE: Final = re.compile(r"[\x00\ud800-\udfff]")
#: ``UNSTORABLE_SEARCH(text)`` is not None for text with a NUL or an unpaired surrogate.
UNSTORABLE_SEARCH: Final = _UNSTORABLE_RE.search


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database stores (NUL, an unpaired surrogate)."""
    return UNSTORABLE_SEARCH(text) is not None


def json_unstorable(value: object) -> bool:
    """Whether any string or key at any depth of the JSON ``value`` is :func:`unstorable`.

    Iterative: a value nested deeper than the recursion limit is still walked.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE_SEARCH(item) is not None:
                return True
        elif isinstance(item, dict):
            for key, nested in item.items():
                if isinstance(key, str) and UNSTORABLE_SEARCH(key) is not None:
                    return True
                pending.append(nested)
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


def printable_key(name: str) -> str:
    """``name`` with unpaired surrogates escaped (``\\ud800``), so that a problem naming it
    can be encoded as UTF-8."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8") if unstorable(name) else name


def format_regex(field: FieldDef) -> re.Pattern[str] | None:
    """The built-in format of an email, phone or url field, else ``None``."""
    return field_type(field.type).pattern


def integer_bounds(field: FieldDef) -> tuple[int | None, int | None]:
    """``minimum``/``maximum`` of an integer field as the tightest whole numbers.

    ``minimum: 1.5`` on an integer field admits 2 and up, so it becomes 2; comparing
    ints with ints keeps the hot path free of Decimal arithmetic.
    """
    low = None if field.minimum is None else int(field.minimum.to_integral_value("ROUND_CEILING"))
    high = None if field.maximum is None else int(field.maximum.to_integral_value("ROUND_FLOOR"))
    return low, high


def integer_digits(field: FieldDef) -> int:
    """How many digits a decimal field allows before the decimal point."""
    precision, scale = _precision_scale(field)
    return precision - scale


def _precision_scale(field: FieldDef) -> tuple[int, int]:
    if field.precision is None or field.scale is None:
        raise ValueError(f"field {field.name!r} of type {field.type} has no precision/scale")
    return field.precision, field.scale


def scale_of(field: FieldDef) -> int:
    """The number of digits a decimal field allows after the decimal point."""
    return _precision_scale(field)[1]


def _choices(field: FieldDef) -> str:
    return ", ".join(field.choice_values)


def _number(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def _message(entity: EntityDef, name: str, code: str) -> str:
    field = entity.fields.get(name)
    if code == "unknown_field":
        close = suggest(name, [*entity.fields, "owner"])
        hint = f'; did you mean "{close}"?' if close else "; remove it or check the spelling"
        return f'"{name}" is not a field of {entity.name}{hint}'
    if code == "read_only":
        if field is None:
            return f'"{name}" is maintained by the engine and cannot be written; remove it'
        if field_type(field.type).assigned:
            return f'"{name}" is numbered by the engine when the record is created; leave it out'
        return f'"{name}" is read-only once the record exists; leave it out of updates'
    if code == "required":
        if field is not None and field.type in TEXT_TYPES:
            return f'"{name}" is required; give it a non-blank value'
        return f'"{name}" is required; give it a non-null value'
    if code == "invalid_character":
        return (
            f'"{name}" contains a character that cannot be stored (a NUL or an unpaired surrogate '
            'such as "\\ud800"); remove it'
        )
    if code == "row_length":
        return "the row does not have as many cells as the header has columns; fix the row"
    if name == "id" and field is None:
        if code == "out_of_range":
            return f'"id" must be at most {INT64_MAX}'
        return '"id" must be the id (a positive integer) of an existing record, or empty'
    if name == "owner" and field is None:
        if code == "unknown_owner":
            return '"owner" must be the name of an existing, active user (see `crm user list`)'
        if code == "type":
            return '"owner" must be a user name (a string) or null'
        return f'"owner" must be at most {OWNER_MAX_LENGTH} characters long'
    if field is None:
        return f"[{code}] invalid value"
    return _field_message(field, code)


#: What a field's value must be (after its quoted name), by the code of the rule it broke.
_RULE_MESSAGES: Final[dict[str, Callable[[FieldDef], str]]] = {
    "min_length": lambda field: f"must be at least {field.min_length} characters long",
    "max_length": lambda field: f"must be at most {field.max_length} characters long; shorten it",
    "pattern": lambda field: f"must match the pattern {field.pattern}",
    "out_of_range": lambda field: f"must be between {INT64_MIN} and {INT64_MAX}",
    "minimum": lambda field: f"must be at least {_number(field.minimum)}",
    "maximum": lambda field: f"must be at most {_number(field.maximum)}",
    "scale": lambda field: f"must have at most {field.scale} digits after the decimal point",
    "precision": lambda field: f"must have at most {integer_digits(field)} digits before the decimal point",
    "choice": lambda field: f"must be one of: {_choices(field)}",
    "duplicate": lambda field: "lists a value more than once; give each value once",
}


def _field_message(field: FieldDef, code: str) -> str:
    name, kind = field.name, field.type
    if code == "type":
        return {
            "text": f'"{name}" must be a string',
            "integer": f'"{name}" must be a whole number (an integer, not a string or float)',
            "decimal": f'"{name}" must be a number or a numeric string such as "12.50"',
            "boolean": f'"{name}" must be true or false',
            "date": f'"{name}" must be a date string "YYYY-MM-DD"',
            "datetime": (f'"{name}" must be an ISO 8601 date-time string like "2024-05-01T09:30:00Z"'),
            "enum": f'"{name}" must be one of: {_choices(field)}',
            "multi_enum": f'"{name}" must be a list of distinct values from: {_choices(field)}',
            "reference": (f'"{name}" must be the id (a positive integer) of an existing {field.target} record'),
        }.get(field_type(kind).message_key, f'"{name}" has the wrong type')
    if code == "format":
        return {
            "email": f'"{name}" must be an email address like "name@example.com"',
            "phone": (f'"{name}" must be a phone number: 5 to 32 digits, spaces, ( ) . - with an optional leading +'),
            "url": f'"{name}" must be an http:// or https:// URL with a host',
            "date": f'"{name}" must be a real calendar date written "YYYY-MM-DD"',
            "datetime": (
                f'"{name}" must be a valid date-time "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with an '
                'optional "Z" or "+HH:MM" offset'
            ),
            "json": f'"{name}" must be valid JSON text',
            "multi_enum": f'"{name}" must be "a|b" or a JSON array of strings',
        }.get(kind, f'"{name}" is not in the expected format')
    if code == "out_of_range" and kind == "datetime":
        return f'"{name}" is outside the supported range (years 1 to 9999 in UTC)'
    rule = _RULE_MESSAGES.get(code)
    return f'"{name}" {rule(field)}' if rule is not None else f'"{name}" is invalid [{code}]'


def record_problem(entity: EntityDef, name: object, code: str, *, line: int | None = None) -> Problem:
    """The :class:`Problem` for ``code`` on key ``name`` of a record of ``entity``.

    ``name`` is ``None`` for problems about the record as a whole (not an object, a
    CSV row of the wrong length). Both validators build their problems here, so the
    same input yields the same text whichever validator saw it.
    """
    if name is None:
        if code == "row_length":
            message = _message(entity, "", code)
        else:
            message = "a record must be a JSON object mapping field names to values"
        return Problem(code=code, message=message, line=line)
    key = printable_key(str(name))
    return Problem(code=code, message=_message(entity, key, code), field=key, line=line)
