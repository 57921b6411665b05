"""Conversions of stored Python values to their text form (CSV) and JSON form (API, audit)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.metadata import FieldDef


def to_text(field: FieldDef, value: Any) -> str:
    """The CSV text of a stored value; ``compile_csv_reader`` reads it back unchanged."""
    if value is None:
        return ""
    if field.type == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if field.type == "multi_enum":
        items = [str(v) for v in value]
        if any("|" in v for v in items):
            return json.dumps(items, ensure_ascii=False)
        return "|".join(items)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


_AS_IS = frozenset({type(None), bool, int, float, str})


def to_jsonable(value: Any) -> Any:
    """A JSON-serializable form of a stored value (decimals as strings, dates in ISO 8601)."""
    kind = type(value)
    if kind in _AS_IS:  # the common case first: one lookup (events carry whole records)
        return value
    if kind is Decimal:
        return format(value, "f")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return str(value)
