"""Values as the database holds them after a write: what the record service returns and
audits without reading the row back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Context, Decimal
from typing import TYPE_CHECKING, Any

from engine.metadata import EntityDef

if TYPE_CHECKING:
    from ._service import Record

_WIDE = Context(prec=100)


def after_update(definition: EntityDef, current: Record, changed: Mapping[str, Any], now: datetime) -> Record:
    """The record as the database holds it after ``changed`` was written over ``current``."""
    return {
        **current,
        **{k: stored_value(definition, k, v) for k, v in changed.items()},
        "version": current["version"] + 1,
        "updated_at": now,
    }


def stored_value(definition: EntityDef, name: str, value: Any) -> Any:
    """A validated value as the database returns it (decimals at the column's scale)."""
    f = definition.fields.get(name)
    if f is not None and f.scale is not None and isinstance(value, Decimal):
        # a context wide enough for PostgreSQL's 38 digits (the default one keeps 28)
        return value.quantize(Decimal(1).scaleb(-f.scale), context=_WIDE)
    return value
