"""The JSON form of a record, shared by every edge (CLI ``--json``, REST API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.storage import to_jsonable

_SYSTEM_ORDER = ("id", "version", "owner", "created_by", "created_at", "updated_at")


def record_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a JSON object: id first, then its fields, then the other system fields."""
    out: dict[str, Any] = {"id": record.get("id")}
    for key, value in record.items():
        if key not in _SYSTEM_ORDER:
            out[key] = to_jsonable(value)
    for key in _SYSTEM_ORDER[1:]:
        if key in record:
            out[key] = to_jsonable(record[key])
    return out
