"""A computed number the validator would accept unchanged is not handed to it: the cheap test
(`_fits`) must agree with the generated validator on every value it lets through."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.compile import field_validator
from engine.derived._service import _as_field_value, _fits
from engine.logic import NAN, EvaluationError, evaluate
from tests.compile.compile_defs import field

FIELDS = [
    field("price", "money"),
    field("rate", "decimal", precision=5, scale=3, minimum=-10, maximum=50.5),
    field("count", "integer"),
    field("small", "integer", minimum=1.5, maximum=99),
]
RAW: list[Any] = [
    0,
    1,
    -1,
    2,
    99,
    100,
    10**17,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    Decimal("0.005"),
    Decimal("-0.005"),
    Decimal("12.345"),
    Decimal("50.5"),
    Decimal("50.5004"),
    Decimal("50.5006"),
    Decimal("-10.0004"),
    Decimal("-10.0006"),
    Decimal("99.99"),
    Decimal("99.999"),
    Decimal("1E+20"),
    Decimal("9999999999999999.99"),
    Decimal("99999999999999999.99"),
    Decimal("-0"),
    1.25,
    "7.5",
]


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_fits_agrees_with_the_validator(f: Any) -> None:
    fits = _fits(f)
    assert fits is not None
    validator = field_validator(f)
    for raw in RAW:
        value, reason = _as_field_value(f, raw)
        if reason is not None or value is None:
            continue
        given = {f.name: format(value, "f") if isinstance(value, Decimal) else value}
        checked, errors = validator.update_check(given)
        if fits(value):
            assert not errors, (f.name, raw)
            stored = checked.get(f.name, value)
            assert stored == value and type(stored) is type(value), (f.name, raw)
            if isinstance(value, Decimal):
                assert stored.as_tuple() == value.as_tuple(), (f.name, raw)
        elif not errors:  # only what it could not vouch for reaches the validator
            assert not isinstance(value, Decimal) or value.as_tuple().exponent == -(f.scale or 0)


def test_fits_only_numbers() -> None:
    assert _fits(field("name", "string")) is None
    assert _fits(field("flag", "boolean")) is None
    money = _fits(field("price", "money"))
    assert money is not None
    assert money(Decimal("1.00")) and not money(Decimal("1.0")) and not money(1) and not money(Decimal("NaN"))


def test_arithmetic_over_stored_numbers_is_unchanged() -> None:
    assert evaluate({"*": [{"var": "q"}, {"var": "p"}]}, {"q": 3, "p": Decimal("2.50")}) == Decimal("7.50")
    assert evaluate({"+": [{"var": "q"}, {"var": "p"}]}, {"q": 2**62, "p": 2**62}) == float(2**63)
    assert evaluate({"-": [{"var": "p"}, 1]}, {"p": Decimal("-0.5")}) == Decimal("-1.5")
    with pytest.raises(EvaluationError) as caught:
        evaluate({"*": [{"var": "p"}, 2]}, {"p": Decimal("NaN")})
    assert caught.value.error_type == NAN
