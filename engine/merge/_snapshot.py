"""A record row kept as JSON (in ``crm_merges``) and read back with its Python values.

The JSON form is :func:`~engine.storage.to_jsonable`'s (decimals as strings, dates and times
in ISO 8601); reading it back follows the field types, so a restored row holds exactly the
values it held before, whatever the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.metadata import EntityDef
from engine.storage import to_jsonable

#: System columns of every record table holding a point in time.
_TIMES = ("created_at", "updated_at")


_PLAIN = frozenset({type(None), bool, int, float, str})


def row_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of a stored row (every column, nulls included); plain values are taken
    as they are without a call (a merge converts thousands of rows for their events)."""
    return {k: v if type(v) in _PLAIN else to_jsonable(v) for k, v in row.items()}


def row_from_json(definition: EntityDef, kept: Mapping[str, Any]) -> dict[str, Any]:
    """The row of ``definition``'s table that :func:`row_json` kept; columns of fields no
    longer defined are left out (their column is gone too)."""
    out: dict[str, Any] = {}
    for name, value in kept.items():
        if name in _TIMES:
            out[name] = _datetime(value)
        elif name in ("id", "version", "created_by", "owner"):
            out[name] = value
        elif name in definition.fields:
            out[name] = value_from_json(definition.fields[name].type, value)
    return out


def value_from_json(field_type: str, value: Any) -> Any:
    """A stored value of a field of ``field_type`` from its JSON form."""
    if value is None:
        return None
    if field_type in ("decimal", "money"):
        return Decimal(str(value))
    if field_type == "date":
        return date.fromisoformat(value)
    if field_type == "datetime":
        return _datetime(value)
    return value


def _datetime(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
