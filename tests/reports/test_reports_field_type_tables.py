"""The report layer's table keyed by field type holds a row for every type of the registry."""

from __future__ import annotations

from engine.metadata import FIELD_TYPES
from engine.reports import _result


def test_every_type_has_a_report_column_type() -> None:
    assert set(_result._FIELD_COLUMN_TYPES) == set(FIELD_TYPES)
