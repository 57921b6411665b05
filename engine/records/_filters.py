"""The record filter language: JSON ``where`` documents compiled into SQL expressions.

Grammar (documented in docs/records.md)::

    where     := {field: condition, ..., "and": [where...], "or": [where...], "not": where}
    condition := value                      (equality; null means "is empty")
               | {operator: value, ...}     (all must hold)
    operator  := eq | ne | lt | lte | gt | gte | in | contains | startswith | is_null

A key ``reference.field`` follows one reference (``{"account.name": "Acme"}``): the record's
reference names a record of the target whose field matches, among the target's records the
user may read (see :class:`Target`); a record whose reference is empty never matches.

Keys of one object are combined with AND. Values are checked and converted with the
field's own validator, so ``{"amount": {"gte": "1000.50"}}`` and dates in ISO form work.
``contains`` and ``startswith`` ignore case on text; on a multi_enum, ``contains`` means
"has this choice".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from engine import suggestions
from engine.compile import field_validator
from engine.errors import Problem, UsageError
from engine.metadata import FILTER_OPERATORS, JSON_VALUED_TYPES, TEXT_TYPES, EntityDef, FieldDef, Label
from engine.suggestions import did_you_mean, suggest

OPERATORS = FILTER_OPERATORS
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


def system_field(name: str) -> FieldDef | None:
    """The system field ``name`` (``owner``, ``created_at``...) as filters see it, if any."""
    return _SYSTEM.get(name)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Filter:
    """A compiled ``where`` whose values are named parameters (see :func:`compile_filter`).

    ``shape`` tells apart every form of SQL a ``where`` can take (its fields, operators
    and nesting, which values are null) but not the values themselves: two filters of one
    shape have the same ``condition`` but for ``params``, so a statement built from one
    runs the other when given its ``params``.
    """

    condition: ColumnElement[bool]
    params: dict[str, Any] = field(default_factory=dict)
    shape: tuple[Hashable, ...] = ()

    def combined(self, other: Filter) -> Filter:
        """Both filters at once (their parameters must have distinct names)."""
        if other is NO_FILTER:
            return self
        if self is NO_FILTER:
            return other
        return Filter(
            sa.and_(self.condition, other.condition),
            {**self.params, **other.params},
            ("where", self.shape, "and", other.shape),
        )


#: The filter of no ``where``: every record.
NO_FILTER = Filter(sa.true())

#: A read scope applied to a table (or an alias of it): ``(condition or None, parameters,
#: shape)``, as ``PermissionService.scope_parameters`` gives it.
ScopeOf = Callable[[sa.FromClause], tuple["ColumnElement[bool] | None", dict[str, Any], str]]


@dataclass(frozen=True)
class Target:
    """What a filter may see of the target of a reference: its fields (without those
    hidden from the user) and the scope of records the user may read."""

    definition: EntityDef
    table: sa.Table
    scope: ScopeOf


#: The :class:`Target` of an entity for the user filtering, or None when they may not read it.
Follow = Callable[[str], Target | None]


class _Compiler:
    def __init__(
        self, entity: EntityDef, table: sa.Table, dialect: str, *, named: bool = False, follow: Follow | None = None
    ) -> None:
        self.entity = entity
        self.table = table
        self.dialect = dialect
        self.follow = follow
        self.problems: list[Problem] = []
        #: with ``named``, values are bound as parameters ``w0``, ``w1``, ... (``params``)
        self.named = named
        self.params: dict[str, Any] = {}
        self.shape: list[Hashable] = []

    def bind(self, value: Any, type_: Any, *, expanding: bool = False) -> Any:
        """``value`` as the right side of a comparison: as it is, or a named parameter."""
        if not self.named:
            return value
        name = f"w{len(self.params)}"
        self.params[name] = value
        return sa.bindparam(name, value, type_=type_, expanding=expanding)

    def field(self, name: str, pointer: str) -> FieldDef | None:
        found = self.entity.fields.get(name) or _SYSTEM.get(name)
        if found is None:
            hint = did_you_mean(name, [*self.entity.fields, *_SYSTEM])
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
                self.shape.append((key, len(value)))
                subs = [self.where(v, f"{here}/{i}", depth + 1) for i, v in enumerate(value)]
                parts.append(sa.and_(sa.true(), *subs) if key == "and" else sa.or_(sa.false(), *subs))
            elif key == "not":
                self.shape.append(key)
                parts.append(sa.not_(self.where(value, here, depth + 1)))
            elif isinstance(key, str) and "." in key:
                parts.append(self.through(key, value, here))
            else:
                f = self.field(key, here)
                if f is not None:
                    parts.append(self.condition(f, value, here))
        self.shape.append(len(parts))
        return sa.and_(sa.true(), *parts)

    def through(self, path: str, value: Any, pointer: str) -> ColumnElement[bool]:
        """``{"reference.field": condition}``: records whose reference names a readable
        record of the target that meets the condition."""
        name, _, rest = path.partition(".")
        f = self.entity.fields.get(name)
        target = None
        if f is not None and f.type == "reference" and f.target is not None and self.follow is not None:
            target = self.follow(f.target)
        known = None if target is None else (target.definition.fields.get(rest) or _SYSTEM.get(rest))
        if target is None or known is None:
            if target is None:
                reason = f'"{name}" is not a reference of {self.entity.name} that filters can follow'
            elif "." in rest:
                reason = "filters follow one reference only"
            else:
                close = suggest(rest, [*target.definition.fields, *_SYSTEM])
                hint = suggestions.hint(f"{name}.{close}" if close else None)
                reason = f'{target.definition.name} has no field "{rest}".{hint}'
            self.problems.append(
                Problem(code="unknown_field", pointer=pointer, message=f'cannot filter by "{path}": {reason}')
            )
            return sa.true()
        joined = target.table.alias(f"crm_via_{name}")
        scope, params, scope_shape = target.scope(joined)
        self.shape.append(("through", name, scope_shape))
        condition = self.condition(known, value, pointer, joined)
        if scope is not None:
            condition = sa.and_(condition, scope)
            self.params.update(params)
        return self.table.c[name].in_(sa.select(joined.c.id).where(condition))

    def condition(
        self, f: FieldDef, value: Any, pointer: str, table: sa.FromClause | None = None
    ) -> ColumnElement[bool]:
        column = (self.table if table is None else table).c[f.name]
        if not isinstance(value, dict):
            self.shape.append(f.name)
            return self.compare(f, column, "eq", value, pointer)
        self.shape.append((f.name, len(value)))
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
        if f.type == "multi_enum":
            probe_type = "enum"
        probe = dataclasses.replace(f, type=probe_type, min_length=None, pattern=None, minimum=None, maximum=None)
        if probe.type in TEXT_TYPES:
            probe = dataclasses.replace(probe, type="text", max_length=None)
        validator = field_validator(probe)
        converted, problems = validator.check({f.name: value}, partial=True)
        if problems or converted is None:
            reason = problems[0].message if problems else "invalid value"
            self.problems.append(Problem(code="invalid_value", pointer=pointer, message=f"{f.name}: {reason}"))
            return None
        return converted[f.name]

    def compare(
        self, f: FieldDef, column: ColumnElement[Any], op: str, operand: Any, pointer: str
    ) -> ColumnElement[bool]:
        if op not in OPERATORS:
            hint = did_you_mean(op, OPERATORS, otherwise=f" Use one of: {', '.join(OPERATORS)}.")
            self.problems.append(
                Problem(code="unknown_operator", pointer=pointer, message=f'unknown operator "{op}".{hint}')
            )
            return sa.true()
        # null and true/false (is_null) change the SQL; other values only its parameters
        self.shape.append((op, operand is None, operand is True))
        if op == "is_null":
            if not isinstance(operand, bool):
                self.problems.append(Problem(code="type", pointer=pointer, message="is_null takes true or false"))
                return sa.true()
            return column.is_(None) if operand else column.is_not(None)
        if f.type == "json" and op not in ("eq", "ne"):
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
            return column.in_(self.bind([v for v in values if v is not None], column.type, expanding=True))
        if op in ("contains", "startswith"):
            return self.text_match(f, column, op, operand, pointer)
        if f.type in JSON_VALUED_TYPES:
            self.problems.append(
                Problem(code="unsupported", pointer=pointer, message=f'use "contains" or "is_null" on {f.type} fields')
            )
            return sa.true()
        before = len(self.problems)
        value = self.convert(f, operand, pointer)
        if len(self.problems) > before:
            return sa.true()
        if op == "eq":
            return column.is_(None) if operand is None else column == self.bind(value, column.type)
        if op == "ne":
            if operand is None:
                return column.is_not(None)
            return sa.or_(column != self.bind(value, column.type), column.is_(None))
        if operand is None or (f.type == "boolean"):
            self.problems.append(
                Problem(code="invalid_value", pointer=pointer, message=f"{op} needs a comparable value")
            )
            return sa.true()
        if isinstance(value, datetime) and self.dialect == "sqlite":
            value = value.replace(tzinfo=None)
        bound = self.bind(value, column.type)
        ordered: dict[str, ColumnElement[bool]] = {
            "lt": column < bound,
            "lte": column <= bound,
            "gt": column > bound,
            "gte": column >= bound,
        }
        return ordered[op]

    def text_match(
        self, f: FieldDef, column: ColumnElement[Any], op: str, operand: Any, pointer: str
    ) -> ColumnElement[bool]:
        if not isinstance(operand, str):
            self.problems.append(Problem(code="type", pointer=pointer, message=f"{op} takes a string"))
            return sa.true()
        if f.type == "multi_enum" and op == "contains":
            if self.dialect == "postgresql":
                return sa.type_coerce(column, JSONB).contains(self.bind([operand], JSONB()))
            each = sa.func.json_each(column).table_valued("value")
            return sa.exists(
                sa.select(sa.literal(1)).select_from(each).where(each.c.value == self.bind(operand, sa.String()))
            )
        if f.type not in TEXT_TYPES and f.type != "enum":
            self.problems.append(
                Problem(code="unsupported", pointer=pointer, message=f"{op} works on text fields only")
            )
            return sa.true()
        lowered = sa.func.lower(column)
        if self.named:  # what autoescape does, with the pattern a parameter
            escaped = operand.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
            pattern = f"%{escaped}%" if op == "contains" else f"{escaped}%"
            return lowered.like(self.bind(pattern, sa.String()), escape="/")
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


def compile_filter(
    entity: EntityDef, table: sa.Table, where: Any, *, dialect: str, follow: Follow | None = None
) -> Filter:
    """Compile a ``where`` document (``None``: every record) with its values as named
    parameters, for a statement built once per :attr:`Filter.shape`; raises
    :class:`UsageError` naming every bad part, as :func:`compile_where` does.

    ``follow`` gives the targets of references that ``reference.field`` keys may follow
    (without it, such keys are unknown fields)."""
    if where is None:
        return NO_FILTER
    compiler = _Compiler(entity, table, dialect, named=True, follow=follow)
    expression = compiler.where(where, "")
    if compiler.problems:
        raise UsageError("invalid filter: " + "; ".join(p.message for p in compiler.problems), compiler.problems)
    return Filter(expression, compiler.params, tuple(compiler.shape))


def sort_keys(sort: str | Iterable[str] | None) -> tuple[str, ...]:
    """The keys of a sort: ``"-amount,title"`` → ``("-amount", "title")``."""
    if sort is None or sort == "":
        return ()
    if isinstance(sort, str):
        return tuple(k.strip() for k in sort.split(",") if k.strip())
    return tuple(sort)


def compile_sort(entity: EntityDef, table: sa.Table, sort: str | Iterable[str] | None) -> list[Any]:
    """``"-amount,title"`` or ``["-amount", "title"]`` → ORDER BY clauses (id breaks ties)."""
    keys = sort_keys(sort)
    clauses: list[Any] = []
    problems = []
    for i, key in enumerate(keys):
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if name not in entity.fields and name not in _SYSTEM:
            hint = did_you_mean(name, [*entity.fields, *_SYSTEM])
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
