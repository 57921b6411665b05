"""The OpenAPI 3.1 document of the REST API, generated from the live definitions."""

from __future__ import annotations

from ._entity_schemas import field_schema, input_schema, record_schema
from ._spec import API_PREFIX, build_spec

__all__ = ["API_PREFIX", "build_spec", "field_schema", "input_schema", "record_schema"]
