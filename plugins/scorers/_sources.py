"""Values a scorer reads per record: a field of the scored entity, a field reached through
reference fields (``account.industry``, joined in SQL), or an aggregate of related rows
(``sum`` of ``consumption.amount`` per account, grouped in SQL).

Every value of a batch comes from one query; population figures (minimum, maximum, mean,
standard deviation) from one more. Related rows are never looped over in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause

from engine.compile import ConditionKind as Kind
from engine.compile import SqlBool, plain_number
from engine.metadata import Label
from engine.scoring import ScoringContext

from . import _binding
from ._config import FIELD_PATH, NAME, RULE, config_error, strict

AggregateFunction = Literal["sum", "count", "avg", "min", "max", "count_distinct"]
_ZERO_WHEN_NONE = frozenset({"sum", "count", "count_distinct"})

#: Schema of ``{"function": "sum", "entity": "consumption", "reference": "account", ...}``.
AGGREGATE_SCHEMA: dict[str, Any] = strict(
    {
        "function": {"enum": ["sum", "count", "avg", "min", "max", "count_distinct"]},
        "entity": NAME,
        "reference": NAME,
        "field": NAME,
        "filter": RULE,
    },
    ["function", "entity", "reference"],
)
#: The keys a configuration item uses to name its value: exactly one of these two.
SOURCE_PROPERTIES: dict[str, Any] = {"field": FIELD_PATH, "aggregate": AGGREGATE_SCHEMA}
ONE_SOURCE: dict[str, Any] = {"oneOf": [{"required": ["field"]}, {"required": ["aggregate"]}]}


@dataclass(frozen=True)
class Aggregate:
    function: AggregateFunction
    entity: str
    reference: str
    field: str | None
    filter: Any


@dataclass(frozen=True)
class Source:
    """One value per record of the scored entity."""

    name: str
    label: Label
    kind: Kind
    pointer: str
    path: tuple[str, ...] = ()
    aggregate: Aggregate | None = None
    column: _binding.Column | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The scored record's fields this value is read from (an aggregate reads none of them)."""
        return self.path[:1]


def aggregate_sources(config: Any) -> list[tuple[str, str]]:
    """Every ``{"aggregate": {"entity", "reference", ...}}`` of a configuration, as
    ``(entity, reference)``: what a scorer reading aggregates declares as its ``sources``."""
    found: list[tuple[str, str]] = []
    if isinstance(config, Mapping):
        spec = config.get("aggregate")
        if isinstance(spec, Mapping) and isinstance(spec.get("entity"), str) and isinstance(spec.get("reference"), str):
            found.append((spec["entity"], spec["reference"]))
        for key, value in config.items():
            if key != "aggregate":
                found.extend(aggregate_sources(value))
    elif isinstance(config, list):
        for item in config:
            found.extend(aggregate_sources(item))
    return sorted(set(found))


def bind(
    context: ScoringContext,
    scored: str,
    item: Mapping[str, Any],
    pointer: str,
    *,
    name: str,
    label: Label | None = None,
    kinds: Iterable[Kind] | None = None,
) -> Source:
    """The source an item of a configuration names with ``field`` or ``aggregate``."""
    allowed = set(kinds) if kinds is not None else None
    if "aggregate" in item:
        spec = item["aggregate"]
        at = pointer + "/aggregate"
        _binding.entity(context, spec["entity"], at + "/entity")
        _binding.reference(context, spec["entity"], spec["reference"], scored, at + "/reference")
        function = spec["function"]
        field = spec.get("field")
        if field is None and function != "count":
            raise config_error("required", f'aggregate "{function}" needs a "field" to aggregate', at)
        if field is not None:
            need: set[Kind] | None = {"number"} if function in ("sum", "avg", "min", "max") else None
            _binding.column(context, spec["entity"], field, at + "/field", kinds=need)
        if "filter" in spec:
            _binding.sql_filter(context, spec["entity"], spec["filter"], at + "/filter")
        if allowed is not None and "number" not in allowed:
            raise config_error("wrong_source", "this setting needs a field, not an aggregate", at)
        default = Label(f"{function} of {spec['entity']}.{field or 'id'}")
        return Source(
            name,
            label or default,
            "number",
            pointer,
            aggregate=Aggregate(function, spec["entity"], spec["reference"], field, spec.get("filter")),
        )
    path = tuple(str(item["field"]).split("."))
    current = scored
    for i, hop in enumerate(path[:-1]):
        _binding.column(context, current, hop, pointer + "/field")
        spec_field = context.definitions.entities[current].fields.get(hop)
        if spec_field is None or spec_field.type != "reference" or spec_field.target is None:
            raise config_error(
                "not_a_reference",
                f'"{".".join(path[: i + 1])}" must be a reference field to follow it to "{path[i + 1]}"',
                pointer + "/field",
            )
        current = spec_field.target
    final = _binding.column(context, current, path[-1], pointer + "/field", kinds=allowed)
    return Source(name, label or final.label, final.kind, pointer, path=path, column=final)


def values(
    context: ScoringContext,
    scored: str,
    sources: Sequence[Source],
    *,
    ids: Sequence[int] | None = None,
    where: Any = None,
) -> dict[int, tuple[Any, ...]]:
    """``{record id: (value of each source, ...)}`` for ``ids`` (or every record passing the
    ``where`` rule over the scored entity). Numbers come back as floats."""
    query = select(context, scored, sources, ids=ids, where=where)
    kinds = [s.kind for s in sources]
    out: dict[int, tuple[Any, ...]] = {}
    for row in context.conn.execute(query):
        out[int(row[0])] = tuple(plain(value, kind) for value, kind in zip(row[1:], kinds, strict=True))
    return out


def select(
    context: ScoringContext,
    scored: str,
    sources: Sequence[Source],
    *,
    ids: Sequence[int] | None = None,
    where: Any = None,
) -> sa.Select[Any]:
    """The query behind :func:`values`: the scored table, joins along reference paths, and
    one grouped subquery per aggregate, outer-joined on the record id."""
    base: FromClause = context.table(scored).alias("scored")
    joined: FromClause = base
    aliases: dict[tuple[str, ...], FromClause] = {(): base}
    columns: list[sa.ColumnElement[Any]] = []
    for i, source in enumerate(sources):
        if source.aggregate is not None:
            sub = _aggregate(context, source.aggregate, ids).subquery(f"agg_{i}")
            joined = joined.outerjoin(sub, sub.c.key == base.c.id)
            value: sa.ColumnElement[Any] = sub.c.value
            if source.aggregate.function in _ZERO_WHEN_NONE:
                value = sa.func.coalesce(value, 0)
            columns.append(value.label(f"v{i}"))
            continue
        current, entity_name = base, scored
        for depth, hop in enumerate(source.path[:-1]):
            key = source.path[: depth + 1]
            target = context.definitions.entities[entity_name].fields[hop].target
            assert target is not None
            if key not in aliases:
                alias = context.table(target).alias(f"ref_{len(aliases)}")
                joined = joined.outerjoin(alias, alias.c.id == current.c[hop])
                aliases[key] = alias
            current, entity_name = aliases[key], target
        columns.append(current.c[source.path[-1]].label(f"v{i}"))
    query = sa.select(base.c.id, *columns).select_from(joined)
    if ids is not None:
        query = query.where(base.c.id.in_(list(ids)))
    if where is not None:
        # the scorer bound this rule with its own pointer already; this cannot fail
        condition = _binding.sql_filter(context, scored, where, "", table=base)
        query = query.where(condition)
    return query


def _aggregate(context: ScoringContext, spec: Aggregate, ids: Sequence[int] | None) -> sa.Select[Any]:
    table = context.table(spec.entity)
    key = table.c[spec.reference]
    target = table.c[spec.field] if spec.field is not None else table.c.id
    value: sa.ColumnElement[Any]
    if spec.function == "count_distinct":
        value = sa.func.count(sa.distinct(target))
    elif spec.function == "avg":
        value = sa.func.avg(plain_number(target))
    else:
        value = getattr(sa.func, spec.function)(target)  # sum, count, avg, min, max
    query = sa.select(key.label("key"), value.label("value")).where(key.is_not(None))
    if spec.filter is not None:
        condition: SqlBool = _binding.sql_filter(context, spec.entity, spec.filter, "")
        query = query.where(condition)
    if ids is not None:
        query = query.where(key.in_(list(ids)))
    return query.group_by(key)


@dataclass(frozen=True)
class Spread:
    """Population figures of one numeric source (None where no record has a value)."""

    count: int
    low: float | None
    high: float | None
    mean: float | None
    std: float | None


def spreads(context: ScoringContext, scored: str, sources: Sequence[Source], *, where: Any = None) -> list[Spread]:
    """Minimum, maximum, mean and population standard deviation of each numeric source over
    every record (passing ``where``), computed by the database."""
    inner = select(context, scored, sources, where=where).subquery("population")
    parts: list[sa.ColumnElement[Any]] = []
    for i in range(len(sources)):
        value = sa.cast(plain_number(inner.c[f"v{i}"]), sa.Float())
        parts += [
            sa.func.count(value),
            sa.func.min(value),
            sa.func.max(value),
            sa.func.avg(value),
            sa.func.avg(value * value),
        ]
    row = context.conn.execute(sa.select(*parts)).one()
    out = []
    for i in range(len(sources)):
        count, low, high, mean, square = row[i * 5 : i * 5 + 5]
        std = math.sqrt(max(float(square) - float(mean) ** 2, 0.0)) if count else None
        out.append(Spread(int(count or 0), _float(low), _float(high), _float(mean), std))
    return out


def plain(value: Any, kind: Kind) -> Any:
    """A database value as scorers compute with it: numbers as floats."""
    if value is None:
        return None
    if kind == "number" and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
