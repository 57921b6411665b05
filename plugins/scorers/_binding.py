"""Binding a configuration to the live definitions: the entities, fields and references it
names must exist and be of the right kind. Mistakes are :class:`DefinitionError` problems
with pointers into the scoring document's ``config``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause

from engine.compile import ConditionKind as Kind
from engine.compile import SqlBool, column_kind, condition_sql
from engine.errors import CrmError
from engine.logic import CompiledRule, LogicError, compile_rule
from engine.metadata import EntityDef, Label
from engine.scoring import ScoringContext

from ._config import config_error

_SYSTEM_LABELS = {
    "id": Label("ID", "编号"),
    "version": Label("Version", "版本"),
    "created_at": Label("Created at", "创建时间"),
    "updated_at": Label("Updated at", "更新时间"),
    "created_by": Label("Created by", "创建人"),
    "owner": Label("Owner", "负责人"),
}


def entity(context: ScoringContext, name: str, pointer: str) -> EntityDef:
    """The entity called ``name``, or an ``unknown_entity`` problem at ``pointer``."""
    definitions = context.definitions
    if name not in definitions.entities:
        known = ", ".join(sorted(definitions.entities))
        raise config_error("unknown_entity", f'there is no entity "{name}"; known entities: {known}', pointer)
    return definitions.entities[name]


@dataclass(frozen=True)
class Column:
    """A column of an entity's table, with what scorers need to know about it."""

    entity: str
    name: str
    column: sa.ColumnElement[Any]
    kind: Kind
    label: Label
    choices: tuple[tuple[str, Label], ...] = ()

    def choice_label(self, value: str) -> Label:
        for choice, label in self.choices:
            if choice == value:
                return label
        return Label(value)


def column(
    context: ScoringContext,
    entity_name: str,
    field: str,
    pointer: str,
    *,
    kinds: Collection[str] | None = None,
    table: FromClause | None = None,
) -> Column:
    """Field ``field`` of ``entity_name`` (system fields included), checked against ``kinds``.

    ``table`` is an alias to read it from (joins); the entity's table by default.
    """
    definition = entity(context, entity_name, "")
    source = table if table is not None else context.table(entity_name)
    if field not in source.c:
        known = ", ".join(definition.fields)
        raise config_error(
            "unknown_field",
            f'entity "{entity_name}" has no field "{field}"; its fields: {known}',
            pointer,
        )
    found = source.c[field]
    kind = column_kind(found)
    if kinds is not None and kind not in kinds:
        wanted = " or ".join(sorted(kinds))
        raise config_error(
            "wrong_field_type",
            f'field "{entity_name}.{field}" holds {kind} values; this setting needs a {wanted} field',
            pointer,
        )
    spec = definition.fields.get(field)
    label = spec.label if spec is not None else _SYSTEM_LABELS.get(field, Label(field))
    choices = tuple((c.value, c.label) for c in spec.choices) if spec is not None else ()
    return Column(entity_name, field, found, kind, label, choices)


def reference(context: ScoringContext, related: str, field: str, target: str, pointer: str) -> Column:
    """Reference field ``field`` of entity ``related`` that points at entity ``target``."""
    found = column(context, related, field, pointer)
    spec = context.definitions.entities[related].fields.get(field)
    if spec is None or spec.type != "reference" or spec.target != target:
        it_is = f"a reference to {spec.target!r}" if spec and spec.type == "reference" else "not a reference"
        raise config_error(
            "not_a_reference",
            f'field "{related}.{field}" must be a reference to "{target}" (it is {it_is})',
            pointer,
        )
    return found


def rule(value: Any, pointer: str) -> CompiledRule:
    """A JSON Logic rule compiled; its problems carry pointers inside the configuration."""
    try:
        return compile_rule(value)
    except LogicError as error:
        first = error.problems[0] if error.problems else None
        inner = first.pointer or "" if first else ""
        raise config_error(first.code if first else "invalid_rule", error.message, pointer + inner) from None


def sql_filter(
    context: ScoringContext,
    entity_name: str,
    value: Any,
    pointer: str,
    table: FromClause | None = None,
) -> SqlBool:
    """A filter rule over ``record.FIELD`` of ``entity_name`` as SQL; it must be compilable."""
    rule(value, pointer)
    source = table if table is not None else context.table(entity_name)
    compiled = condition_sql(value, source)
    if compiled is None:
        raise config_error(
            "rule_not_sql",
            "this filter runs in the database, so it may only compare record.FIELD with literals "
            "(==, !=, <, <=, >, >=, in) and combine them with and, or, !",
            pointer,
        )
    return compiled


def error_code(error: CrmError) -> str:
    return error.problems[0].code if error.problems else error.code
