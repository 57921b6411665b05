"""The record filter language: JSON ``where`` documents compiled into SQL expressions.

Grammar (documented in docs/records.md)::

    where     := {field: condition, ..., "and": [where...], "or": [where...], "not": where}
    condition := value                      (equality; null means "is empty")
               | {operator: value, ...}     (all must hold)
    operator  := eq | ne | lt | lte | gt | gte | in | contains | startswith | is_null

Keys of one object are combined with AND. Values are checked and converted with the
field's own validator, so ``{"amount": {"gte": "1000.50"}}`` and dates in ISO form work.
``contains`` and ``startswith`` ignore case on text; on a multi_enum, ``contains`` means
"has this choice".
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from engine.compile import field_validator
from engine.errors import Problem, UsageError
from engine.metadata import EntityDef, FieldDef, Label

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "is_null")
_ORDERING = ("lt", "lte", "gt", "gte")
_MAX_DEPTH = 32
_MAX_IN = 10_000

_SYSTEM: dict[str, FieldDef] = {
    "id": FieldDef(name="id", type="integer", label=Label("ID")),
    "version": FieldDef(name="version", type="integer", label=Label("Version")),
    "created_at": FieldDef(name="created_at", type="datetime", label=Label("Created at")),
    "updated_at": FieldDef(name="updated_at", type="datetime", label=Label("Updated at")),
    "created_by": FieldDef(name="created_by", type="string", label=Label("Created by"), max_length=128),
    "owner": FieldDef(name="owner", type="string", label=Label("Owner"), max_length=128),
}


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Compiler:
    def __init__(self, entity: EntityDef, table: sa.Table, dialect: str) -> None:
        self.entity = entity
        self.table = table
        self.dialect = dialect
        self.problems: list[Problem] = []

    def field(self, name: str, pointer: str) -> FieldDef | None:
        found = self.entity.fields.get(name) or _SYSTEM.get(name)
        if found is None:
            known = [*self.entity.fields, *_SYSTEM]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            self.problems.append(
                Problem(
                    code="unknown_field", pointer=pointer, message=f'{self.entity.name} has no field "{name}".{hint}'
                )
            )
        return found

    def where(self, node: Any, pointer: str, depth: int = 0) -> ColumnElement[bool]:
        if depth > _MAX_DEPTH:
            self.problems.append(Problem(code="too_deep", pointer=pointer, message="filter nests too deeply"))
            return sa.true()
        if not isinstance(node, dict):
            self.problems.append(
                Problem(code="type", pointer=pointer, message='a filter is an object like {"field": value}')
            )
            return sa.true()
        parts: list[ColumnElement[bool]] = []
        for key, value in node.items():
            here = f"{pointer}/{_escape(str(key))}"
            if key in ("and", "or"):
                if not isinstance(value, list):
                    self.problems.append(Problem(code="type", pointer=here, message=f'"{key}" takes a list of filters'))
                    continue
                subs = [self.where(v, f"{here}/{i}", depth + 1) for i, v in enumerate(value)]
                parts.append(sa.and_(sa.true(), *subs) if key == "and" else sa.or_(sa.false(), *subs))
            elif key == "not":
                parts.append(sa.not_(self.where(value, here, depth + 1)))
            else:
                f = self.field(key, here)
                if f is not None:
                    parts.append(self.condition(f, value, here))
        return sa.and_(sa.true(), *parts)

    def condition(self, f: FieldDef, value: Any, pointer: str) -> ColumnElement[bool]:
        column = self.table.c[f.name]
        if not isinstance(value, dict):
            return self.compare(f, column, "eq", value, pointer)
        if not value:
            self.problems.append(Problem(code="type", pointer=pointer, message='empty condition; use {"eq": value}'))
        parts = []
        for op, operand in value.items():
            parts.append(self.compare(f, column, op, operand, f"{pointer}/{_escape(str(op))}"))
        return sa.and_(sa.true(), *parts)

    def convert(self, f: FieldDef, value: Any, pointer: str) -> Any:
        if value is None:
            return None
        probe_type = f.type
        if f.type in ("multi_enum",):
            probe_type = "enum"
        probe = dataclasses.replace(f, type=probe_type, min_length=None, pattern=None, minimum=None, maximum=None)
        if probe.type in ("string", "email", "phone", "url", "text"):
            probe = dataclasses.replace(probe, type="text", max_length=None)
        validator = field_validator(probe)
        converted, problems = validator.check({f.name: value}, partial=True)
        if problems or converted is None:
            reason = problems[0].message if problems else "invalid value"
            self.problems.append(Problem(code="invalid_value", pointer=pointer, message=f"{f.name}: {reason}"))
            return None
        return converted[f.name]

    def compare(self, f: FieldDef, column: Any, op: str, operand: Any, pointer: str) -> ColumnElement[bool]:
        if op not in OPERATORS:
            close = difflib.get_close_matches(op, OPERATORS, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else f" Use one of: {', '.join(OPERATORS)}."
            self.problems.append(
                Problem(code="unknown_operator", pointer=pointer, message=f'unknown operator "{op}".{hint}')
            )
            return sa.true()
        if op == "is_null":
            if not isinstance(operand, bool):
                self.problems.append(Problem(code="type", pointer=pointer, message="is_null takes true or false"))
                return sa.true()
            return column.is_(None) if operand else column.is_not(None)
        if f.type in ("json",) and op not in ("eq", "ne"):
            self.problems.append(
                Problem(code="unsupported", pointer=pointer, message="json fields support only is_null")
            )
            return sa.true()
        if op == "in":
            if not isinstance(operand, list) or len(operand) > _MAX_IN:
                self.problems.append(
                    Problem(code="type", pointer=pointer, message=f"in takes a list of at most {_MAX_IN} values")
                )
                return sa.true()
            values = [self.convert(f, v, f"{pointer}/{i}") for i, v in enumerate(operand)]
            return column.in_([v for v in values if v is not None])
        if op in ("contains", "startswith"):
            return self.text_match(f, column, op, operand, pointer)
        if f.type in ("multi_enum", "json"):
            self.problems.append(
                Problem(code="unsupported", pointer=pointer, message=f'use "contains" or "is_null" on {f.type} fields')
            )
            return sa.true()
        before = len(self.problems)
        value = self.convert(f, operand, pointer)
        if len(self.problems) > before:
            return sa.true()
        if op == "eq":
            return column.is_(None) if operand is None else column == value
        if op == "ne":
            return column.is_not(None) if operand is None else sa.or_(column != value, column.is_(None))
        if operand is None or (f.type == "boolean"):
            self.problems.append(
                Problem(code="invalid_value", pointer=pointer, message=f"{op} needs a comparable value")
            )
            return sa.true()
        if isinstance(value, datetime) and self.dialect == "sqlite":
            value = value.replace(tzinfo=None)
        return {"lt": column < value, "lte": column <= value, "gt": column > value, "gte": column >= value}[op]

    def text_match(self, f: FieldDef, column: Any, op: str, operand: Any, pointer: str) -> ColumnElement[bool]:
        if not isinstance(operand, str):
            self.problems.append(Problem(code="type", pointer=pointer, message=f"{op} takes a string"))
            return sa.true()
        if f.type == "multi_enum" and op == "contains":
            if self.dialect == "postgresql":
                return sa.type_coerce(column, JSONB).contains([operand])
            each = sa.func.json_each(column).table_valued("value")
            return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == operand))
        if f.type not in ("string", "text", "email", "phone", "url", "enum"):
            self.problems.append(
                Problem(code="unsupported", pointer=pointer, message=f"{op} works on text fields only")
            )
            return sa.true()
        lowered = sa.func.lower(column)
        if op == "contains":
            return lowered.contains(operand.lower(), autoescape=True)
        return lowered.startswith(operand.lower(), autoescape=True)


def compile_where(entity: EntityDef, table: sa.Table, where: Any, *, dialect: str) -> ColumnElement[bool]:
    """Compile a ``where`` document; raises :class:`UsageError` naming every bad part."""
    compiler = _Compiler(entity, table, dialect)
    expression = compiler.where(where, "")
    if compiler.problems:
        raise UsageError("invalid filter: " + "; ".join(p.message for p in compiler.problems), compiler.problems)
    return expression


def compile_sort(entity: EntityDef, table: sa.Table, sort: str | Iterable[str] | None) -> list[Any]:
    """``"-amount,title"`` or ``["-amount", "title"]`` → ORDER BY clauses (id breaks ties)."""
    if sort is None or sort == "":
        keys: list[str] = []
    elif isinstance(sort, str):
        keys = [k.strip() for k in sort.split(",") if k.strip()]
    else:
        keys = list(sort)
    clauses: list[Any] = []
    problems = []
    for i, key in enumerate(keys):
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if name not in entity.fields and name not in _SYSTEM:
            close = difflib.get_close_matches(name, [*entity.fields, *_SYSTEM], n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            problems.append(Problem(code="unknown_field", pointer=f"/{i}", message=f'cannot sort by "{name}".{hint}'))
            continue
        column = table.c[name]
        # NULLs last in both directions and on both databases (they disagree by default)
        clauses.append((column.desc() if descending else column.asc()).nulls_last())
    if problems:
        raise UsageError("invalid sort: " + "; ".join(p.message for p in problems), problems)
    if not any(k.lstrip("-+") == "id" for k in keys):
        clauses.append(table.c.id.asc())
    return clauses
