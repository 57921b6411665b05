"""List filters of an entity view, written in the record service's filter language.

A filter adds one ``{field: {operator: value}}`` condition; the service checks the value
with the field's own validator, so a filter typed wrong is the same error as in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_admin.model.filters import BaseFilter

from engine.metadata import WHOLE_TYPES, EntityDef, FieldDef, field_type

from ._i18n import Text, word

Condition = dict[str, Any]

_OPERATIONS: dict[str, tuple[str, str]] = {
    "eq": ("equals", "等于"),
    "ne": ("not equal", "不等于"),
    "contains": ("contains", "包含"),
    "gte": ("from", "不小于"),
    "lte": ("up to", "不大于"),
    "is_null": ("is empty", "为空"),
}
_DATA_TYPES = {"date": "datepicker", "datetime": "datetimepicker"}


class FieldFilter(BaseFilter):  # type: ignore[misc]
    """``field operator value``, e.g. ``amount gte 1000``."""

    def __init__(self, field: FieldDef, operator: str, options: Any = None) -> None:
        super().__init__(Text.of(field.label), options=options, data_type=_DATA_TYPES.get(field.type))
        self.field = field
        self.operator = operator

    @property
    def field_name(self) -> str:
        """The field it filters on (a hidden field's filters are left out of the page)."""
        return self.field.name

    def operation(self) -> str:
        return Text(*_OPERATIONS[self.operator])

    def validate(self, value: Any) -> bool:
        return True  # the record service checks the value and says what is wrong

    def clean(self, value: Any) -> Any:
        text = str(value).strip()
        if self.field.type in WHOLE_TYPES and text.lstrip("+-").isdigit() and len(text) < 19:
            return int(text)
        if self.field.type == "boolean":
            return {"true": True, "false": False}.get(text, text)
        if self.field.type == "datetime" and len(text) == 16:  # the picker's "2026-01-31 09:30"
            return text.replace(" ", "T") + ":00+00:00"
        return text

    def apply(self, query: list[Condition], value: Any) -> list[Condition]:
        query.append({self.field.name: {self.operator: value}})
        return query


def entity_filters(definition: EntityDef) -> list[FieldFilter]:
    """The filters of every filterable field (json fields have none), then "is empty" of the
    date and datetime fields (after the others, so their indexes stay as they were)."""
    out: list[FieldFilter] = []
    for f in definition.fields.values():
        options = _options(f)
        out += [FieldFilter(f, operator, options) for operator in field_type(f.type).filter_operators]
    return out + empty_filters(definition)


class EmptyFilter(FieldFilter):
    """``field is empty: yes / no``: a date not set yet is a step not taken (a task's
    ``done_at``, a deal's ``won_at``)."""

    def __init__(self, field: FieldDef) -> None:
        super().__init__(field, "is_null", [("true", word("yes")), ("false", word("no"))])
        self.data_type = None

    def clean(self, value: Any) -> Any:
        return {"true": True, "false": False}.get(str(value).strip(), value)


def empty_filters(definition: EntityDef) -> list[FieldFilter]:
    return [EmptyFilter(f) for f in definition.fields.values() if f.type in ("date", "datetime")]


class SystemFilter(BaseFilter):  # type: ignore[misc]
    """A filter on a field every record has: its owner ("me" is whoever is signed in), when
    it was created or last changed (from, up to)."""

    def __init__(self, name: str, operator: str, options: Any = None) -> None:
        super().__init__(word(name), options=options, data_type=None if name == "owner" else "datetimepicker")
        # not ``self.name``: that is the label the filter menu shows ("Owner", "负责人")
        self.system_field = name
        self.operator = operator

    @property
    def field_name(self) -> str:
        return self.system_field

    def operation(self) -> str:
        return Text(*_OPERATIONS[self.operator])

    def validate(self, value: Any) -> bool:
        return True

    def clean(self, value: Any) -> Any:
        text = str(value).strip()
        if self.system_field == "owner":
            if text == "me":
                from ._auth import acting_user

                return acting_user().name
            return text
        return text.replace(" ", "T") + ":00+00:00" if len(text) == 16 else text

    def apply(self, query: list[Condition], value: Any) -> list[Condition]:
        query.append({self.system_field: {self.operator: value}})
        return query


def system_filters(owners: Callable[[], list[tuple[str, str]]]) -> list[SystemFilter]:
    """Owner (picked by display name, or "me"), created and updated date ranges; after the
    field filters, so their indexes (``flt0_<index>``) stay as they were."""
    return [
        SystemFilter("owner", "eq", owners),
        SystemFilter("created_at", "gte"),
        SystemFilter("created_at", "lte"),
        SystemFilter("updated_at", "gte"),
        SystemFilter("updated_at", "lte"),
    ]


def _options(f: FieldDef) -> list[tuple[str, Any]] | None:
    """What a filter on ``f`` offers to pick from (None: a value is typed)."""
    if f.choices:  # enum and multi_enum fields
        return [(c.value, Text.of(c.label)) for c in f.choices]
    if f.type == "boolean":
        return [("true", word("yes")), ("false", word("no"))]
    return None


def where_of(conditions: list[Condition]) -> Any:
    """The ``where`` document of a list of conditions (None for none)."""
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"and": conditions}


def filter_index(definition: EntityDef, field: str, operator: str) -> int | None:
    """The index of the ``field operator`` filter in the list view of ``definition``: the
    list's address takes it as ``flt0_<index>=value`` (e.g. the records of one account)."""
    for index, flt in enumerate(entity_filters(definition)):
        if flt.field.name == field and flt.operator == operator:
            return index
    return None
