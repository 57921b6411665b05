"""The ``aggregate`` report: measures, related records, ``having`` and ``sort``, checked
and frozen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.metadata._fields import label_from_json
from engine.metadata._model import EntityDef, SourceRef
from engine.metadata._names import derive_label
from engine.metadata._problems import child, did_you_mean, quoted_list
from engine.metadata._report_checks import (
    GROUPABLE_TYPES,
    NUMBER_FIELD_TYPES,
    ORDERED_FIELD_TYPES,
    ReportScope,
)
from engine.metadata._report_drafts import ReportDraft
from engine.metadata._report_model import AggregateSpec, FrozenJson, GroupKey, MeasureDef, RelatedDef, freeze_json
from engine.metadata._workflow_lookup import Lookup

#: The field types each measure accepts (``None``: any type).
_MEASURE_TYPES: Mapping[str, tuple[str, ...] | None] = {
    "count": None,
    "count_distinct": tuple(sorted(GROUPABLE_TYPES)),
    "sum": NUMBER_FIELD_TYPES,
    "avg": NUMBER_FIELD_TYPES,
    "min": ORDERED_FIELD_TYPES,
    "max": ORDERED_FIELD_TYPES,
}


def build_aggregate(
    draft: ReportDraft,
    scope: ReportScope,
    lookup: Lookup,
    entity: EntityDef | None,
    by: tuple[GroupKey, ...],
    where: FrozenJson,
) -> AggregateSpec:
    """The spec of an ``aggregate`` report (its entity and ``by`` already checked)."""
    document = draft.document
    related, related_entity = _related(draft, scope, lookup, entity)
    written = document["measures"]
    measures: dict[str, MeasureDef] = {}
    for index, spec in enumerate(written):
        at = draft.at("measures", index)
        measure = _measure(spec, at, scope, entity, related_entity)
        measures.setdefault(measure.name, measure)
    measuring = [m.name for m in measures.values() if m.of == "related"]
    if measuring and related is None:
        message = (
            f'missing required key "related": the measures {", ".join(measuring)} measure related '
            'records; add "related": {"entity": ..., "field": ...} to say which.'
        )
        scope.add("required", message, draft.source)
    for index, spec in enumerate(written):
        if spec["op"] == "ratio":
            for key in ("numerator", "denominator"):
                if key in spec:
                    _ratio_part(str(spec[key]), measures, draft.at("measures", index, key), scope)
    having = document.get("having")
    for name, condition in (having or {}).items():
        at = draft.at("having", name)
        if name not in measures:
            hint = did_you_mean(name, list(measures))
            message = (
                f"{name!r} is not a measure of the report.{hint} having keeps groups by their "
                f"measures ({quoted_list(measures)}); filter records with where."
            )
            scope.add("unknown_column", message, at)
        if isinstance(condition, Mapping):
            scope.condition(condition, at)
    columns: list[tuple[str, SourceRef]] = []
    if entity is not None:
        columns = [(c, draft.at("by", i)) for c, i in scope.group_columns(entity, by)]
    columns += [(str(spec["name"]), draft.at("measures", i, "name")) for i, spec in enumerate(written)]
    scope.unique_columns(columns)
    sort = tuple(str(s) for s in document.get("sort", ()))
    if entity is not None:
        names = [c for c, _ in columns]
        for index, key in enumerate(sort):
            name = key.removeprefix("-")
            if name not in names:
                hint = did_you_mean(name, names)
                message = f"{name!r} is not a column of the report.{hint} Its columns: {quoted_list(names)}."
                scope.add("unknown_column", message, draft.at("sort", index))
    return AggregateSpec(
        measures=measures,
        by=by,
        where=where,
        related=related,
        having=freeze_json(having) if having is not None else None,
        sort=sort,
        limit=document.get("limit"),
    )


def _related(
    draft: ReportDraft, scope: ReportScope, lookup: Lookup, entity: EntityDef | None
) -> tuple[RelatedDef | None, EntityDef | None]:
    written = draft.document.get("related")
    if written is None:
        return None, None
    name, field_name = str(written["entity"]), str(written["field"])
    related = lookup.entity(name, draft.bundle)
    if related is None:
        scope.problems.extend(lookup.unknown_entity(name, draft.bundle, draft.at("related", "entity")))
    at = draft.at("related", "field")
    if related is not None and entity is not None:
        found = scope.field(related, field_name, at)
        if found is not None and (found.type != "reference" or found.target != entity.name):
            pointing = [f.name for f in related.fields.values() if f.type == "reference" and f.target == entity.name]
            listed = (
                f" Its references to {entity.name!r}: {quoted_list(pointing)}."
                if pointing
                else f" {name!r} has no reference to {entity.name!r}; add one."
            )
            message = (
                f"related records point at the report's records through a reference to "
                f"{entity.name!r}; {field_name!r} is {_what(found.type, found.target)}.{listed}"
            )
            scope.add("unsuitable_field", message, at)
    where = scope.where(related, written.get("where"), draft.at("related", "where"))
    return RelatedDef(entity=name, field=field_name, where=where), related


def _what(kind: str, target: str | None) -> str:
    return f"a reference to {target!r}" if kind == "reference" else f"a {kind} field"


def _measure(
    spec: Mapping[str, Any],
    at: SourceRef,
    scope: ReportScope,
    entity: EntityDef | None,
    related_entity: EntityDef | None,
) -> MeasureDef:
    name = str(spec["name"])
    op = spec["op"]
    of = spec.get("of", "records")
    label = label_from_json(spec.get("label")) or derive_label(name)
    if op == "ratio":
        for key in ("field", "of"):
            if key in spec:
                message = f"a ratio divides two measures and measures nothing itself; remove {key!r}."
                scope.add("unknown_key", message, child(at, key))
        for key in ("numerator", "denominator"):
            if key not in spec:
                message = f"missing required key {key!r}: the name of a measure of this report."
                scope.add("required", message, at)
        return MeasureDef(
            name=name, op=op, label=label, numerator=spec.get("numerator"), denominator=spec.get("denominator")
        )
    for key in ("numerator", "denominator"):
        if key in spec:
            message = f"{key!r} belongs to a ratio; a {op} measure has none. Remove it."
            scope.add("unknown_key", message, child(at, key))
    if of == "related" and op == "count_distinct":
        message = (
            "count_distinct cannot measure related records (their distinct values do not add up "
            "across the grouped records); count them, or report on the related entity itself."
        )
        scope.add("invalid", message, child(at, "op"))
    field = spec.get("field")
    if field is None and op != "count":
        scope.add("required", f"missing required key 'field': the field the {op} measures.", at)
    measured = related_entity if of == "related" else entity
    if field is not None and measured is not None:
        types = _MEASURE_TYPES[op]
        scope.field(measured, str(field), child(at, "field"), types=types, use=f"{op}")
    return MeasureDef(name=name, op=op, label=label, field=field, of=of)


def _ratio_part(target: str, measures: Mapping[str, MeasureDef], where: SourceRef, scope: ReportScope) -> None:
    found = measures.get(target)
    if found is not None and found.op != "ratio":
        return
    candidates = [n for n, m in measures.items() if m.op != "ratio"]
    if found is not None:
        message = (
            f"{target!r} is itself a ratio; a ratio divides measures that are not ratios: {quoted_list(candidates)}."
        )
    else:
        hint = did_you_mean(target, candidates)
        message = f"{target!r} is not a measure of the report.{hint} Its measures: {quoted_list(candidates)}."
    scope.add("unknown_column", message, where)
