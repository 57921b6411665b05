"""The JSON form of a record, shared by every edge (CLI ``--json``, REST API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.storage import to_jsonable

_SYSTEM_ORDER = ("id", "version", "owner", "created_by", "created_at", "updated_at")
_SYSTEM_TAIL = _SYSTEM_ORDER[1:]
_SYSTEM = frozenset(_SYSTEM_ORDER)
#: Types JSON takes as they are (exact types: a subclass goes the long way).
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    # the forms of to_jsonable, the common types first: a page of records is thousands of values
    kind = value.__class__
    if kind in _AS_IS:
        return value
    if kind is Decimal:
        return format(value, "f")
    if kind is datetime or kind is date:
        return value.isoformat()
    return to_jsonable(value)


def record_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a JSON object: id first, then its fields, then the other system fields."""
    out: dict[str, Any] = {"id": record.get("id")}
    for key, value in record.items():
        if key not in _SYSTEM:
            out[key] = _jsonable(value)
    for key in _SYSTEM_TAIL:
        if key in record:
            out[key] = _jsonable(record[key])
    return out
