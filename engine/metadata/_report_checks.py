"""What the checks of a report work on: the report's draft (the document as read), the
checks every report type shares, and the ``aggregate`` type's measures.

Report drafts: reports as read from valid documents, before they are checked and frozen.

A draft is the document itself with where it came from; a ``report_overlay`` changes the
document in place and records, key by key, where the value it wrote is written.

The checks every report type shares: fields of an entity, group keys, filters,
parameters, and the uniqueness of the result's column names.

A :class:`ReportScope` holds what one report's checks look things up in (its entity, its
declared parameters) and collects their problems, each at the pointer of the value at
fault.

The ``aggregate`` report: measures, related records, ``having`` and ``sort``, checked
and frozen.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.errors import Problem
from engine.metadata._entities import Lookup
from engine.metadata._fields import label_or_derived
from engine.metadata._model import NO_DEFAULT, EntityDef, FieldDef, Label, SourceRef
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._report_model import (
    AggregateSpec,
    FrozenJson,
    GroupKey,
    MeasureDef,
    ParamDef,
    RelatedDef,
    freeze_json,
)


@dataclass(frozen=True)
class ReportDraft:
    """A valid ``report`` document of ``bundle``, read at ``source``."""

    name: str
    document: Mapping[str, Any]
    source: SourceRef
    bundle: str
    #: Values an overlay set (a key, or a key and an index) → where the overlay wrote them.
    overlaid: dict[tuple[str | int, ...], SourceRef] = field(default_factory=dict)

    def at(self, *tokens: str | int) -> SourceRef:
        """Where the value at ``tokens`` (keys and list indexes) is written."""
        for length in (2, 1):
            if tokens[:length] in self.overlaid:
                return child(self.overlaid[tokens[:length]], *tokens[length:])
        return child(self.source, *tokens)


def report_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> ReportDraft:
    """The draft of the report of a valid ``report`` document."""
    return ReportDraft(str(document["name"]), copy.deepcopy(dict(document)), where, bundle)


#: The system fields as a report sees them: what filters, group keys and columns may name.
REPORT_SYSTEM_FIELDS: Mapping[str, FieldDef] = MappingProxyType(
    {
        "id": FieldDef(name="id", type="integer", label=Label("ID", "编号")),
        "version": FieldDef(name="version", type="integer", label=Label("Version", "版本")),
        "created_at": FieldDef(name="created_at", type="datetime", label=Label("Created at", "创建时间")),
        "updated_at": FieldDef(name="updated_at", type="datetime", label=Label("Updated at", "更新时间")),
        "created_by": FieldDef(name="created_by", type="string", label=Label("Created by", "创建人")),
        "owner": FieldDef(name="owner", type="string", label=Label("Owner", "负责人")),
    }
)
#: Field types a record can be grouped by.
GROUPABLE_TYPES = frozenset(
    {"string", "email", "phone", "url", "enum", "integer", "decimal", "money", "boolean",
     "date", "datetime", "reference"}
)  # fmt: skip
NUMBER_FIELD_TYPES = ("integer", "decimal", "money")
ORDERED_FIELD_TYPES = (*NUMBER_FIELD_TYPES, "date", "datetime")
TIME_FIELD_TYPES = ("date", "datetime")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")
_DECIMAL = re.compile(r"^-?\d{1,38}(\.\d{1,38})?$")


def type_names(types: Iterable[str]) -> str:
    """``integer, decimal or money``."""
    names = list(types)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass
class ReportScope:
    """One report's lookups and the problems its checks found."""

    report: str
    params: Mapping[str, ParamDef]
    entities: Mapping[str, EntityDef]
    problems: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str, where: SourceRef) -> None:
        self.problems.append(problem(code, message, where))

    # -- fields ---------------------------------------------------------------------------
    def field(
        self,
        entity: EntityDef,
        name: str,
        where: SourceRef,
        *,
        types: Iterable[str] | None = None,
        use: str = "",
    ) -> FieldDef | None:
        """The field ``name`` of ``entity`` (or a system field); ``unknown_field`` when there
        is none, ``unsuitable_field`` when its type is not one of ``types`` (for ``use``)."""
        found = entity.fields.get(name) or REPORT_SYSTEM_FIELDS.get(name)
        if found is None:
            hint = did_you_mean(name, [*entity.fields, *REPORT_SYSTEM_FIELDS])
            self.add("unknown_field", f"{name!r} is not a field of {entity.name!r}.{hint}", where)
            return None
        if types is not None:
            allowed = tuple(types)
            if found.type not in allowed:
                # id and version fit numbers, but nobody means them: do not suggest them
                suitable = [
                    f.name for f in (*entity.fields.values(), *REPORT_SYSTEM_FIELDS.values())
                    if f.type in allowed and f.name not in ("id", "version")
                ]  # fmt: skip
                listed = f" Fields that fit: {quoted_list(suitable)}." if suitable else ""
                message = (
                    f"{use} needs {'an' if allowed[0][0] in 'aeiou' else 'a'} "
                    f"{type_names(allowed)} field; {name!r} is a {found.type} field.{listed}"
                )
                self.add("unsuitable_field", message, where)
                return None
        return found

    def group_keys(self, entity: EntityDef, written: Any, where: SourceRef) -> tuple[GroupKey, ...]:
        """The group keys of ``by`` (as written, valid per the meta-schema)."""
        keys: list[GroupKey] = []
        for index, item in enumerate(written or ()):
            at = child(where, index)
            if isinstance(item, str):
                found = self.field(entity, item, at)
                if found is not None and (found.type not in GROUPABLE_TYPES or item == "version"):
                    message = (
                        f"records cannot be grouped by {item!r}, a {found.type} field: its "
                        "values are too long or not single values. Group by another field."
                    )
                    self.add("unsuitable_field", message, at)
                keys.append(GroupKey(item))
                continue
            name = str(item["field"])
            if "bands" in item:
                self.field(entity, name, child(at, "field"), types=NUMBER_FIELD_TYPES, use="grouping in bands")
                bands = tuple(Decimal(str(b)) for b in item["bands"])
                if list(bands) != sorted(bands):
                    message = f"the bands of {name!r} must be listed from the lowest bound up: {sorted(bands)}"
                    self.add("unsorted_bands", message, child(at, "bands"))
                keys.append(GroupKey(name, bands=bands))
                continue
            period = item["period"]
            self.field(entity, name, child(at, "field"), types=TIME_FIELD_TYPES, use=f"a {period} period")
            keys.append(GroupKey(name, period))
        return tuple(keys)

    def group_columns(self, entity: EntityDef, keys: Iterable[GroupKey]) -> list[tuple[str, int]]:
        """The result columns of group keys, each with the index of its key: the key's own,
        and ``<field>_display`` after a reference whose target has a display field."""
        columns: list[tuple[str, int]] = []
        for index, key in enumerate(keys):
            columns.append((key.column, index))
            if self.display_of(entity, key) is not None:
                columns.append((f"{key.field}_display", index))
        return columns

    def display_of(self, entity: EntityDef, key: GroupKey) -> str | None:
        """The display field of the target of a reference group key, if any."""
        found = entity.fields.get(key.field)
        if key.period is not None or found is None or found.type != "reference":
            return None
        target = self.entities.get(found.target or "")
        return None if target is None else target.display

    # -- filters --------------------------------------------------------------------------
    def where(self, entity: EntityDef | None, written: Any, where: SourceRef) -> FrozenJson:
        """Check a filter's field names and parameters; the frozen filter (``None`` when
        none is written)."""
        if written is None:
            return None
        if entity is not None:
            self._where(entity, written, where)
        return freeze_json(written)

    def _where(self, entity: EntityDef, node: Mapping[str, Any], where: SourceRef) -> None:
        for key, value in node.items():
            here = child(where, key)
            if key in ("and", "or"):
                for index, item in enumerate(value):
                    self._where(entity, item, child(here, index))
            elif key == "not":
                self._where(entity, value, here)
            else:
                self.field(entity, key, here)
                if isinstance(value, Mapping):
                    self.condition(value, here)

    def condition(self, condition: Mapping[str, Any], where: SourceRef) -> None:
        """Check the parameters a condition names (``{"param": x}``, or as operands)."""
        if "param" in condition:
            if len(condition) > 1:
                message = (
                    '{"param": name} means "equal to the parameter" and stands alone; write '
                    '{"eq": {"param": name}} beside other operators.'
                )
                self.add("invalid", message, where)
            self.param(condition["param"], child(where, "param"))
        for op, operand in condition.items():
            items = enumerate(operand) if op == "in" and isinstance(operand, list) else ()
            for index, item in items:
                if isinstance(item, Mapping) and "param" in item:
                    self.param(item["param"], child(where, op, index, "param"))
            if isinstance(operand, Mapping) and "param" in operand:
                self.param(operand["param"], child(where, op, "param"))

    def param(self, name: str, where: SourceRef) -> None:
        if name in self.params:
            return
        hint = did_you_mean(name, list(self.params))
        declared = f" Declared: {quoted_list(self.params)}." if self.params else " It declares none."
        message = (
            f"{name!r} is not a parameter of the report {self.report!r}.{hint}{declared} Add it "
            'to "params", e.g. "params": {"' + name + '": {"type": "string"}}.'
        )
        self.add("unknown_param", message, where)

    # -- parameters and columns -------------------------------------------------------------
    def unique_columns(self, columns: Iterable[tuple[str, SourceRef]]) -> None:
        """``duplicate_column`` for every column named like one before it."""
        seen: dict[str, SourceRef] = {}
        for name, where in columns:
            first = seen.setdefault(name, where)
            if first is not where:
                message = (
                    f"the report already has a column {name!r} (from {first.pointer or '/'}); "
                    "columns of a result need distinct names. Rename this one."
                )
                self.add("duplicate_column", message, where)


def build_params(written: Mapping[str, Any] | None, where: SourceRef) -> tuple[dict[str, ParamDef], list[Problem]]:
    """The parameters a report declares, with ``invalid_default`` for a default that does
    not suit its type."""
    params: dict[str, ParamDef] = {}
    problems: list[Problem] = []
    for name, spec in (written or {}).items():
        at = child(where, name)
        kind = spec["type"]
        default = spec.get("default", NO_DEFAULT)
        if default is not NO_DEFAULT and not _suits(kind, default):
            message = (
                f"the default {default!r} is not a {kind} value; write {_EXAMPLES[kind]}, or leave the default out."
            )
            problems.append(problem("invalid_default", message, child(at, "default")))
        params[name] = ParamDef(
            name=name,
            type=kind,
            label=label_or_derived(spec, name),
            default=default,
        )
    return params, problems


_EXAMPLES = {
    "string": 'a string ("east")',
    "integer": "a whole number (10)",
    "decimal": 'a number (1000) or a decimal string ("1000.50")',
    "date": 'a date ("2024-01-31")',
    "datetime": 'a date and time ("2024-01-31T08:00:00Z")',
    "boolean": "true or false",
}


def _suits(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind == "decimal":
        return isinstance(value, int | float) or (isinstance(value, str) and bool(_DECIMAL.match(value)))
    if not isinstance(value, str):
        return False
    if kind == "date":
        return bool(_DATE.match(value))
    if kind == "datetime":
        return bool(_DATETIME.match(value)) or bool(_DATE.match(value))
    return True


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
    _having_problems(draft, having or {}, measures, scope)
    sort = tuple(str(s) for s in document.get("sort", ()))
    _column_problems(draft, scope, entity, by, sort)
    return AggregateSpec(
        measures=measures,
        by=by,
        where=where,
        related=related,
        having=freeze_json(having) if having is not None else None,
        sort=sort,
        limit=document.get("limit"),
    )


def _having_problems(
    draft: ReportDraft, having: Mapping[str, Any], measures: Mapping[str, MeasureDef], scope: ReportScope
) -> None:
    for name, condition in having.items():
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


def _column_problems(
    draft: ReportDraft, scope: ReportScope, entity: EntityDef | None, by: tuple[GroupKey, ...], sort: tuple[str, ...]
) -> None:
    """Columns named twice, and sort keys naming no column."""
    written = draft.document["measures"]
    columns: list[tuple[str, SourceRef]] = []
    if entity is not None:
        columns = [(c, draft.at("by", i)) for c, i in scope.group_columns(entity, by)]
    columns += [(str(spec["name"]), draft.at("measures", i, "name")) for i, spec in enumerate(written)]
    scope.unique_columns(columns)
    if entity is None:
        return
    names = [c for c, _ in columns]
    for index, key in enumerate(sort):
        name = key.removeprefix("-")
        if name not in names:
            hint = did_you_mean(name, names)
            message = f"{name!r} is not a column of the report.{hint} Its columns: {quoted_list(names)}."
            scope.add("unknown_column", message, draft.at("sort", index))


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
    label = label_or_derived(spec, name)
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
