"""The compile layer's tables keyed by field type hold a row for every type of the registry."""

from __future__ import annotations

from engine.compile import _csv, _schema, _types
from engine.metadata import FIELD_TYPES


def test_every_type_has_a_column_type() -> None:
    assert set(_types._COLUMN_TYPES) == set(FIELD_TYPES)


def test_every_type_has_a_marshmallow_field() -> None:
    assert set(_schema._FIELD_CLASSES) == set(FIELD_TYPES)


def test_every_type_has_a_csv_cell_form() -> None:
    assert set(_csv.CELL_FORMS) == set(FIELD_TYPES)
