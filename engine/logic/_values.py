"""The value model of the condition language: JSON Logic's (JavaScript's) coercions in Python.

Kinds of values: null (``None``), booleans, numbers (``int``, ``float`` and, from records,
``Decimal``), strings, arrays (``list``/``tuple``), objects (any ``Mapping``) and, from
records, dates (``date``/``datetime``). Anything else from the data is opaque: truthy,
equal only to itself, never a number.

Numbers: ``bool`` is not a number here even though Python says so. ``Decimal`` stays
exact with integers and other decimals and becomes a ``float`` when mixed with one (a rule
constant ``0.1`` is a float, and ``Decimal("0.10") == 0.1`` should hold for an admin).
Dates compare with dates and with ISO 8601 strings; as numbers they are milliseconds
since 1970-01-01 UTC, as JavaScript does. A naive ``datetime`` is taken to be UTC.

Every function that can fail takes ``at``, the RFC 6901 pointer of the operation being
evaluated, so that the :class:`~engine.logic.EvaluationError` says where.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ._errors import INVALID_ARGUMENTS, NAN, EvaluationError, LimitExceededError, failure

Number = int | float | Decimal

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# JavaScript's StrWhiteSpaceChar: what Number("  1 ") trims (Python's strip() trims more).
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)
_DECIMAL_LITERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX_DIGITS = {
    "x": (16, re.compile(r"[0-9a-fA-F]+")),
    "o": (8, re.compile(r"[0-7]+")),
    "b": (2, re.compile(r"[01]+")),
}
# Integers past 2**63 turn into floats, as every JavaScript number is one; it also keeps a
# reduce from growing an integer of millions of digits.
_INT_BITS = 63
# Nesting of data arrays that cat and in will still turn into text.
_MAX_TEXT_NESTING = 32


def truthy(value: Any) -> bool:
    """JSON Logic truthiness: ``false``, ``0``, ``""``, ``null`` and ``[]`` are false; ``"0"``
    and ``{}`` are true."""
    kind = type(value)
    if kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is str or kind is int or kind is list:
        return bool(value)
    if value is None:
        return False
    if kind is float:
        return bool(value == value and value != 0)  # NaN is falsy
    if kind is dict:
        return True
    if isinstance(value, Decimal):
        return not value.is_nan() and value != 0
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    if isinstance(value, (int, float)):
        return bool(value == value and value != 0)
    return True


def is_number(value: Any) -> bool:
    """Whether ``value`` is a number (``bool`` is not)."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    return kind is not bool and isinstance(value, (int, float, Decimal))


def is_array(value: Any) -> bool:
    return type(value) is list or isinstance(value, (list, tuple))


def is_object(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def parse_number(text: str) -> Number | None:
    """JavaScript's ``Number(text)``, or None where that is NaN. ``""`` is 0."""
    stripped = text.strip(_JS_SPACE)
    if not stripped:
        return 0
    if _DECIMAL_LITERAL.fullmatch(stripped):
        if len(stripped) <= 18 and not any(c in stripped for c in ".eE"):
            return int(stripped)
        return float(stripped)
    if stripped in ("Infinity", "+Infinity"):
        return math.inf
    if stripped == "-Infinity":
        return -math.inf
    if len(stripped) > 2 and stripped[0] == "0" and stripped[1].lower() in _RADIX_DIGITS:
        base, digits = _RADIX_DIGITS[stripped[1].lower()]
        if digits.fullmatch(stripped, 2):
            return normalize(int(stripped[2:], base), None)
    return None


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date or date-time string as an aware datetime (UTC when it has no offset)."""
    if not 4 <= len(text) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_datetime(value: date) -> datetime:
    """A date or datetime as an aware datetime: dates at midnight UTC, naive times as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def epoch_ms(value: date) -> Number:
    """Milliseconds since 1970-01-01 UTC, JavaScript's number for a date."""
    delta = as_datetime(value) - _EPOCH
    millis = (delta.days * 86_400 + delta.seconds) * 1000
    if delta.microseconds % 1000:
        return millis + delta.microseconds / 1000
    return millis + delta.microseconds // 1000


def to_number(value: Any, at: str | None, *, dates: bool = False) -> Number:
    """JavaScript's ``Number(value)``, with JSON Logic's rule that NaN is an error.

    ``null`` is 0, booleans 0 and 1, strings are parsed as JavaScript does (``""`` is 0);
    arrays and objects are errors. With ``dates``, a string that is not a number may be an
    ISO 8601 date (used when another operand is a date).
    """
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float:
        if value != value:
            raise failure(NAN, "NaN is not a number a rule can use", at)
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return int(value)
    if value is None:
        return 0
    if kind is str:
        number = parse_number(value)
        if number is not None:
            return number
        if dates:
            moment = parse_datetime(value)
            if moment is not None:
                return epoch_ms(moment)
        raise failure(NAN, f"{_preview(value)} is not a number", at)
    if isinstance(value, Decimal):
        if value.is_nan():
            raise failure(NAN, "NaN is not a number a rule can use", at)
        return value
    if isinstance(value, date):
        return epoch_ms(value)
    if isinstance(value, (int, float)):
        return to_number(float(value) if isinstance(value, float) else int(value), at)
    raise failure(NAN, f"{describe(value)} is not a number", at)


def normalize(result: Number, at: str | None) -> Number:
    """An arithmetic result as JSON Logic allows it: finite, integers within 63 bits."""
    kind = type(result)
    if kind is int:
        if result.bit_length() > _INT_BITS:  # type: ignore[union-attr]
            try:
                return normalize(float(result), at)
            except OverflowError:
                raise failure(NAN, "the result is too large to be a number", at) from None
        return result
    if kind is float:
        if not math.isfinite(result):
            raise failure(NAN, "the result is not a finite number", at)
        return result
    if isinstance(result, Decimal) and not result.is_finite():
        raise failure(NAN, "the result is not a finite number", at)
    return result


def pair(left: Number, right: Number) -> tuple[Number, Number]:
    """Two numbers Python can combine: a Decimal meeting a float becomes a float."""
    if type(left) is Decimal and type(right) is float:
        return float(left), right
    if type(right) is Decimal and type(left) is float:
        return left, float(right)
    return left, right


def format_number(value: Number) -> str:
    """JavaScript's ``String(number)``: ``2.0`` is ``"2"``, ``1e21`` is ``"1e+21"``."""
    if isinstance(value, Decimal):
        if value.is_finite() and -30 < value.adjusted() < 30:
            return format(value, "f")
        return str(value)
    if type(value) is int or isinstance(value, int):
        if abs(value) < 10**21:
            return str(int(value))
        value = float(value)
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(float(value))).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    power = point - 1
    exp = ("+" if power > 0 else "-") + str(abs(power))
    if count == 1:
        return sign + digits + "e" + exp
    return sign + digits[0] + "." + digits[1:] + "e" + exp


def to_text(value: Any, at: str | None, limit: int, _depth: int = 0) -> str:
    """JavaScript's ``String(value)``; arrays join their items with commas."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if is_number(value):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        if _depth >= _MAX_TEXT_NESTING:
            raise LimitExceededError(
                "max_depth", f"arrays nested deeper than {_MAX_TEXT_NESTING} cannot become text", at
            )
        parts: list[str] = []
        size = 0
        for item in value:
            part = "" if item is None else to_text(item, at, limit, _depth + 1)
            size += len(part) + 1
            if size > limit + 1:
                raise too_long(limit, at)
            parts.append(part)
        return ",".join(parts)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, datetime):
        return as_datetime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def too_long(limit: int, at: str | None) -> LimitExceededError:
    return LimitExceededError("max_string_length", f"the rule would build a string longer than {limit} characters", at)


def strict_equal(left: Any, right: Any) -> bool:
    """JavaScript's ``===``: same kind and value; arrays and objects only equal themselves."""
    lkind, rkind = type(left), type(right)
    if lkind is rkind and (lkind is str or lkind is int or lkind is bool):
        return left == right  # type: ignore[no-any-return]
    if left is None or right is None:
        return left is right
    if is_number(left):
        if not is_number(right):
            return False
        a, b = pair(left, right)
        return bool(a == b)
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if lkind is bool or rkind is bool:
        return False
    if isinstance(left, date) and isinstance(right, date):
        return as_datetime(left) == as_datetime(right)
    if isinstance(left, (list, tuple, Mapping)) or isinstance(right, (list, tuple, Mapping)):
        return left is right
    return type(left) is type(right) and left == right  # opaque values from the data


def loose_equal(left: Any, right: Any, at: str | None) -> bool:
    """JSON Logic's ``==``: JavaScript's loose equality, made safe.

    Arrays and objects cannot be compared (NaN error); a number against a string that is
    not a number is a NaN error; ``null`` equals ``0`` (and ``false``, ``""``) but never a
    string that is not a number, nor a date.
    """
    lkind, rkind = type(left), type(right)
    if (lkind is int or lkind is float) and (rkind is int or rkind is float):
        return left == right  # type: ignore[no-any-return]
    if lkind is str and rkind is str:
        return left == right  # type: ignore[no-any-return]
    if lkind is bool and rkind is bool:
        return left is right
    if left is None and right is None:
        return True
    if lkind is rkind and kind_of(left) == "opaque":
        return left == right  # type: ignore[no-any-return]  # opaque values from the data
    pair_ = _coerced(left, right, at)
    return pair_ is not None and pair_[0] == pair_[1]


def compare(op: str, left: Any, right: Any, at: str | None) -> bool:
    """JSON Logic's ``<``, ``<=``, ``>``, ``>=`` on two values.

    Two strings compare as text; otherwise both become numbers (NaN is an error). ``null``
    is 0 against numbers and false against text that is not a number and against dates.
    """
    lkind, rkind = type(left), type(right)
    if not ((lkind is int or lkind is float) and (rkind is int or rkind is float)) and not (
        lkind is str and rkind is str
    ):
        coerced = _coerced(left, right, at)
        if coerced is None:
            return False
        left, right = coerced
    return RELATIONS[op](left, right)


#: The order each relational operator tests, on two values of one comparable kind.
RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


_KINDS: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "number",
    float: "number",
    Decimal: "number",
    str: "string",
    list: "array",
    tuple: "array",
    dict: "object",
    date: "date",
    datetime: "date",
}


def kind_of(value: Any) -> str:
    """null, bool, number, string, array, object, date, or opaque (anything else)."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, date):
        return "date"
    return "opaque"


def _coerced(left: Any, right: Any, at: str | None) -> tuple[Any, Any] | None:
    """Both sides made comparable, or None when they are unequal and unordered."""
    lkind, rkind = kind_of(left), kind_of(right)
    if lkind in _UNCOMPARABLE or rkind in _UNCOMPARABLE:
        raise failure(NAN, f"cannot compare {describe(left)} with {describe(right)}", at)
    if lkind == "string" and rkind == "string":
        return left, right
    if lkind == "date" or rkind == "date":
        return _dates(left, right, at)
    if lkind == "null" and rkind == "string":
        number = parse_number(right)
        return None if number is None else (0, number)
    if rkind == "null" and lkind == "string":
        number = parse_number(left)
        return None if number is None else (number, 0)
    return pair(to_number(left, at), to_number(right, at))


_UNCOMPARABLE = frozenset({"array", "object", "opaque"})


def _dates(left: Any, right: Any, at: str | None) -> tuple[Any, Any] | None:
    if left is None or right is None:
        return None
    sides: list[Any] = []
    for side, other in ((left, right), (right, left)):
        if isinstance(side, date):
            sides.append(as_datetime(side) if isinstance(other, (date, str)) else epoch_ms(side))
        elif isinstance(side, str):
            moment = parse_datetime(side)
            if moment is None:
                raise failure(NAN, f"{_preview(side)} is not an ISO 8601 date", at)
            sides.append(moment)
        elif is_number(side):
            sides.append(side)
        else:
            raise failure(NAN, f"cannot compare {describe(left)} with {describe(right)}", at)
    first, second = sides
    if isinstance(first, datetime) or isinstance(second, datetime):
        return first, second
    return pair(first, second)


#: How messages name each kind of :func:`kind_of` (an opaque value by its Python type).
_KIND_NAMES = {
    "null": "null",
    "bool": "a boolean",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
    "date": "a date",
}


def describe(value: Any) -> str:
    """A short name of a value's kind for messages (never the value of a record field)."""
    return _KIND_NAMES.get(kind_of(value)) or f"a {type(value).__name__}"


def _preview(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def invalid(message: str, at: str | None) -> EvaluationError:
    """JSON Logic's ``Invalid Arguments`` error at run time."""
    return failure(INVALID_ARGUMENTS, message, at)
