"""Links from a dashboard figure to the entity list that shows exactly the records it counts.

A figure's filter (:class:`engine.workspace.Figure` ``conditions``) is a conjunction of simple
``{field: {operator: value}}`` conditions; each is one of the list's filters (a field's, or
the owner / created / updated ones), given in the address as ``flt<position>_<index>=value``
as flask-admin reads it. The list then asks the record service the same question as the
figure did, as the same user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import url_for

from engine.runtime import CrmEngine

from ._filters import entity_filters, system_filters
from ._records import endpoint_of


class ListLinks:
    """``url(entity, conditions)`` → the list's address; the filters of each entity are built
    once per page."""

    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine
        self._indexes: dict[str, dict[tuple[str, str], int]] = {}

    def url(self, entity: str, conditions: Sequence[Mapping[str, Mapping[str, Any]]]) -> str:
        indexes = self._of(entity)
        args: dict[str, str] = {}
        for position, condition in enumerate(conditions):
            ((field, operation),) = condition.items()
            ((operator, value),) = operation.items()
            args[f"flt{position}_{indexes[(field, operator)]}"] = _text(value)
        base = url_for(f"{endpoint_of(entity)}.index_view")
        return f"{base}?{urlencode(args)}" if args else base

    def _of(self, entity: str) -> dict[tuple[str, str], int]:
        found = self._indexes.get(entity)
        if found is None:
            fields = entity_filters(self.engine.model.entity(entity))
            found = {}
            for index, flt in enumerate(fields):
                found.setdefault((flt.field_name, flt.operator), index)
            for index, system in enumerate(system_filters(list), start=len(fields)):
                found.setdefault((system.field_name, system.operator), index)
            self._indexes[entity] = found
        return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
