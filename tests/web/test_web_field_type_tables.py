"""The web layer's tables keyed by field type hold a row for every type of the registry."""

from __future__ import annotations

from engine.metadata import FIELD_TYPES, field_type
from engine.web.admin import _refusals
from engine.web.openapi import _entity_schemas


def test_every_type_has_an_openapi_schema() -> None:
    assert set(_entity_schemas.SCHEMAS) == set(FIELD_TYPES)


def test_every_type_but_json_has_an_admin_type_sentence() -> None:
    assert set(_refusals._TYPES) == {field_type(name).message_key for name in FIELD_TYPES} - {"json"}
