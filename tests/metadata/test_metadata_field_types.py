"""The field-type registry: one entry per type, and the definitions' names agree with it."""

from __future__ import annotations

import pytest

from engine.metadata import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_PRECISION,
    FIELD_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    UnknownFieldTypeError,
    _model,
    _values,
    field_type,
    types_in,
)


def test_the_registry_holds_every_type_of_the_definition_language() -> None:
    assert FIELD_TYPES == _model.FIELD_TYPES
    assert [field_type(name).name for name in FIELD_TYPES] == list(FIELD_TYPES)


def test_the_registry_holds_the_documented_families_and_defaults() -> None:
    # docs/definitions.md: the text types, the number types, and the defaults a field of
    # each type gets when its document leaves them out
    assert {"string", "text", "email", "phone", "url", "autonumber"} == TEXT_TYPES
    assert {"integer", "decimal", "money"} == NUMBER_TYPES
    assert dict(DEFAULT_MAX_LENGTH) == {"string": 255, "email": 254, "phone": 32, "url": 2048, "autonumber": 64}
    assert dict(DEFAULT_PRECISION) == {"decimal": (18, 6), "money": (18, 2)}


def test_every_type_is_in_one_family() -> None:
    families = ("text", "number", "choice", "temporal", "json", "reference")
    assert sorted(name for family in families for name in types_in(family)) == sorted(FIELD_TYPES)


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("email", "name@example.com", "name@example"),
    ("phone", "+86 (10) 5555-0100", "12-34"),
    ("url", "https://example.com/a", "example.com"),
])  # fmt: skip
def test_formatted_types_carry_their_format(name: str, good: str, bad: str) -> None:
    pattern = field_type(name).pattern
    assert pattern is not None
    assert pattern.fullmatch(good)
    assert not pattern.fullmatch(bad)


def test_an_unknown_type_is_an_explicit_error() -> None:
    with pytest.raises(UnknownFieldTypeError, match='Did you mean "email"'):
        field_type("emial")


def test_default_checks_cover_every_type() -> None:
    assert set(_values._CHECKS) == set(FIELD_TYPES)
