"""Arithmetic: ``+``, ``-``, ``*``, ``/``, ``%``, ``max``, ``min``.

Operands become numbers as JavaScript's ``Number()`` makes them (``"1"`` is 1, ``null``
and ``""`` are 0, ``true`` is 1); what cannot be one (``"abc"``, arrays, objects) is a NaN
error, as is a division by zero or a result that is not finite. ``-``, ``/`` and ``%`` fold
left over all their arguments (``{"-": [10, 2, 3]}`` is 5). When an operand is a date,
ISO 8601 strings are dates too and dates are milliseconds since 1970-01-01 UTC, so
``{"-": [{"var": "now"}, {"var": "record.created_at"}]}`` is an age in milliseconds.

Integers stay exact (up to 2**63, then floats, as all JavaScript numbers are); a
``Decimal`` stays a ``Decimal`` with integers and decimals, and becomes a float with a
float. ``/`` of two integers is an integer when it divides evenly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._errors import NAN, failure
from ._nodes import Node, Site
from ._values import Number, describe, invalid, is_number, normalize, pair, to_number

if TYPE_CHECKING:
    from ._compiler import Compiler

_SMALL = 1 << 62


def _numbers(values: list[Any], at: str) -> list[Number]:
    for value in values:  # ints and decimals (the stored numbers) are numbers already
        kind = type(value)
        if not (kind is int or (kind is Decimal and not value.is_nan())):
            break
    else:
        return values
    dates = any(isinstance(value, date) for value in values)
    return [to_number(value, at, dates=dates) for value in values]


@contextmanager
def _finite(result: str, at: str) -> Iterator[None]:
    """Turn an overflow or an arithmetic error into a NaN failure naming the ``result``
    ("sum", "product"...)."""
    try:
        yield
    except (OverflowError, ArithmeticError):
        raise failure(NAN, f"the {result} is not a finite number", at) from None


def _fold(numbers: list[Number], step: Callable[[Number, Number, str], Number], result: str, at: str) -> Number:
    """``numbers`` folded left with ``step`` (see :func:`_finite` for ``result``)."""
    with _finite(result, at):
        value = numbers[0]
        for number in numbers[1:]:
            value = step(value, number, at)
    return value


def _plus(left: Number, right: Number, at: str) -> Number:
    left, right = pair(left, right)
    return normalize(left + right, at)  # type: ignore[operator]


def _minus(left: Number, right: Number, at: str) -> Number:
    left, right = pair(left, right)
    return normalize(left - right, at)  # type: ignore[operator]


def _times(left: Number, right: Number, at: str) -> Number:
    left, right = pair(left, right)
    return normalize(left * right, at)  # type: ignore[operator]


def add(values: list[Any], at: str) -> Number:
    total: Number = 0
    with _finite("sum", at):
        for value in values:
            kind = type(value)
            if kind is int or kind is float:
                total += value
            else:
                return _add_mixed(values, at)
        return normalize(total, at)


def _add_mixed(values: list[Any], at: str) -> Number:
    return _fold([0, *_numbers(values, at)], _plus, "sum", at)


def subtract(values: list[Any], at: str) -> Number:
    if not values:
        raise invalid("'-' takes at least one argument", at)
    numbers = _numbers(values, at)
    if len(numbers) == 1:
        with _finite("difference", at):
            return normalize(-numbers[0], at)
    return _fold(numbers, _minus, "difference", at)


def multiply(values: list[Any], at: str) -> Number:
    return _fold([1, *_numbers(values, at)], _times, "product", at)


def _divide(dividend: Number, divisor: Number, at: str) -> Number:
    if divisor == 0:
        raise failure(NAN, "division by zero", at)
    if type(dividend) is int and type(divisor) is int:
        quotient, remainder = divmod(dividend, divisor)
        if remainder == 0:
            return quotient
    dividend, divisor = pair(dividend, divisor)
    return normalize(dividend / divisor, at)  # type: ignore[operator]


def divide(values: list[Any], at: str) -> Number:
    if not values:
        raise invalid("'/' takes at least one argument", at)
    numbers = _numbers(values, at)
    if len(numbers) == 1:
        numbers = [1, *numbers]
    return _fold(numbers, _divide, "quotient", at)


def _remainder(dividend: Number, divisor: Number, at: str) -> Number:
    """JavaScript's ``%``: the sign of the dividend (``-8 % 3`` is -2, unlike Python)."""
    if divisor == 0:
        raise failure(NAN, "remainder of a division by zero", at)
    if type(dividend) is int and type(divisor) is int:
        rest = abs(dividend) % abs(divisor)
        return -rest if dividend < 0 else rest
    dividend, divisor = pair(dividend, divisor)
    if isinstance(dividend, Decimal) or isinstance(divisor, Decimal):
        return normalize(dividend % divisor, at)  # type: ignore[operator]
    try:
        return normalize(math.fmod(dividend, divisor), at)
    except ValueError:
        raise failure(NAN, "the remainder is not a finite number", at) from None


def remainder(values: list[Any], at: str) -> Number:
    if len(values) < 2:
        raise invalid("'%' takes at least two arguments", at)
    return _fold(_numbers(values, at), _remainder, "remainder", at)


def _extreme(values: list[Any], at: str, op: str) -> Number:
    if not values:
        raise invalid(f"{op!r} takes at least one number", at)
    for value in values:
        if not is_number(value):
            raise invalid(f"{op!r} takes numbers, not {describe(value)}", at)
    try:
        return max(values) if op == "max" else min(values)  # type: ignore[no-any-return]
    except ArithmeticError:  # a Decimal NaN
        raise failure(NAN, f"{op!r} of NaN", at) from None


def _arithmetic(fold: Any, least: int = 0) -> Any:
    def build(c: Compiler, args: Any, site: Site) -> Node:
        spread = c.spread(args, site, least=least)
        fn = spread.fn
        at = site.pointer
        return Node(lambda data, frame: fold(fn(data, frame), at))

    return build


def build_add(c: Compiler, args: Any, site: Site) -> Node:
    """``{"+": [a, b, ...]}``: the sum; ``{"+": "3.5"}`` casts to a number."""
    spread = c.spread(args, site)
    at = site.pointer
    if spread.nodes is not None and len(spread.nodes) == 2:
        left, right = spread.nodes[0].fn, spread.nodes[1].fn

        def add_two(data: Any, frame: Any) -> Any:
            a = left(data, frame)
            b = right(data, frame)
            if type(a) is int and type(b) is int and -_SMALL < a < _SMALL and -_SMALL < b < _SMALL:
                return a + b
            return add([a, b], at)

        return Node(add_two)
    fn = spread.fn
    return Node(lambda data, frame: add(fn(data, frame), at))


def build_extreme(op: str) -> Any:
    def build(c: Compiler, args: Any, site: Site) -> Node:
        spread = c.spread(args, site, least=1)
        fn = spread.fn
        at = site.pointer
        return Node(lambda data, frame: _extreme(fn(data, frame), at, op))

    return build


BUILDERS = {
    "+": build_add,
    "-": _arithmetic(subtract, least=1),
    "*": _arithmetic(multiply),
    "/": _arithmetic(divide, least=1),
    "%": _arithmetic(remainder, least=2),
    "max": build_extreme("max"),
    "min": build_extreme("min"),
}
