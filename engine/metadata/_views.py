"""The ``view`` document kind: a saved view of an entity's records, shipped in a bundle.
The frozen model, the draft, the checks, the stored form and the :data:`VIEW` kind.

A view names an entity, a ``where`` filter in the records' filter language (whose values may
be relative: ``"@me"``, ``"@this_month"``, see ``_relative``), a ``sort``, the ``columns`` a
list shows and an optional ``group_by``. A view document is shared with everyone who may read
its entity; people's own views are stored by ``engine.views``, which checks them with
:func:`view_problems` too, so a view is checked the same way wherever it comes from.

Checks, each with its pointer: the entity exists; every field the filter, the sort, the
columns and the grouping name is a field of the entity (or a system field; a filter key
``reference.field`` follows one reference); operators are the filter language's; relative
values are known and fit their field and operator; a view is grouped by a field records can
be grouped by.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Problem
from engine.metadata._entities import Lookup
from engine.metadata._fields import label_from_json, label_or_derived
from engine.metadata._model import Definitions, EntityDef, FieldDef, Label, SourceRef
from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION, DocumentKind, Placed, Resolution, build_each
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._relative import FILTER_OPERATORS, is_relative, relative_problem
from engine.metadata._report_checks import GROUPABLE_TYPES, REPORT_SYSTEM_FIELDS
from engine.metadata._report_model import FrozenJson, freeze_json, thaw_json

_MAX_DEPTH = 32


@dataclass(frozen=True)
class ViewDef:
    """A ``view`` document, checked and frozen."""

    name: str
    entity: str
    label: Label
    where: FrozenJson = None
    sort: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    group_by: str | None = None
    description: Label | None = None
    source: SourceRef | None = field(default=None, compare=False, repr=False)


def view_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> Placed:
    spec = {k: v for k, v in document.items() if k not in ("$schema", "schema_version", "kind")}
    return Placed(str(document["name"]), spec, {}, where, bundle)


def view_problems(
    spec: Mapping[str, Any], entity: EntityDef, entities: Mapping[str, EntityDef], where: SourceRef
) -> list[Problem]:
    """The problems of a view's ``where``, ``sort``, ``columns`` and ``group_by`` (as in
    ``spec``) on ``entity``; ``entities`` are those a ``reference.field`` key may reach."""
    problems: list[Problem] = []
    if "where" in spec:
        _where(spec["where"], entity, entities, child(where, "where"), problems, 0)
    for index, key in enumerate(spec.get("sort") or ()):
        _field(entity, str(key).lstrip("-"), child(where, "sort", index), problems)
    for index, name in enumerate(spec.get("columns") or ()):
        _field(entity, str(name), child(where, "columns", index), problems)
    group_by = spec.get("group_by")
    if group_by is not None:
        at = child(where, "group_by")
        found = _field(entity, str(group_by), at, problems)
        if found is not None and (found.type not in GROUPABLE_TYPES or found.name in ("id", "version")):
            message = f"records cannot be grouped by {group_by!r}, a {found.type} field. Group by another field."
            problems.append(problem("unsuitable_field", message, at))
    return problems


def _field(entity: EntityDef, name: str, where: SourceRef, problems: list[Problem]) -> FieldDef | None:
    found = entity.fields.get(name) or REPORT_SYSTEM_FIELDS.get(name)
    if found is None:
        hint = did_you_mean(name, [*entity.fields, *REPORT_SYSTEM_FIELDS])
        problems.append(problem("unknown_field", f"{name!r} is not a field of {entity.name!r}.{hint}", where))
    return found


def _where(
    node: Any,
    entity: EntityDef,
    entities: Mapping[str, EntityDef],
    where: SourceRef,
    problems: list[Problem],
    depth: int,
) -> None:
    if not isinstance(node, Mapping):
        problems.append(problem("type", 'a filter is an object like {"field": value}.', where))
        return
    if depth > _MAX_DEPTH:
        problems.append(problem("too_deep", "the filter nests too deeply.", where))
        return
    for key, value in node.items():
        here = child(where, key)
        if key in ("and", "or"):
            if not isinstance(value, list):
                problems.append(problem("type", f'"{key}" takes a list of filters.', here))
                continue
            for index, item in enumerate(value):
                _where(item, entity, entities, child(here, index), problems, depth + 1)
        elif key == "not":
            _where(value, entity, entities, here, problems, depth + 1)
        else:
            found = _filtered_field(entity, entities, str(key), here, problems)
            if found is not None:
                _condition(found, value, here, problems)


def _filtered_field(
    entity: EntityDef, entities: Mapping[str, EntityDef], key: str, where: SourceRef, problems: list[Problem]
) -> FieldDef | None:
    """The field a filter key names: one of ``entity``, or ``reference.field`` of its target."""
    if "." not in key:
        return _field(entity, key, where, problems)
    name, _, rest = key.partition(".")
    reference = entity.fields.get(name)
    target = entities.get(reference.target or "") if reference is not None else None
    if reference is None or reference.type != "reference" or target is None:
        references = [f.name for f in entity.fields.values() if f.type == "reference"]
        hint = did_you_mean(name, references)
        message = f"{name!r} is not a reference of {entity.name!r}, so {key!r} cannot follow it.{hint}"
        problems.append(problem("unknown_field", message, where))
        return None
    if "." in rest:
        problems.append(problem("unknown_field", f"{key!r}: a filter follows one reference only.", where))
        return None
    return _field(target, rest, where, problems)


def _condition(found: FieldDef, value: Any, where: SourceRef, problems: list[Problem]) -> None:
    if not isinstance(value, Mapping):
        _value(found, "eq", value, where, problems)
        return
    if not value:
        problems.append(problem("invalid", 'an empty condition; write {"eq": value}.', where))
    for op, operand in value.items():
        here = child(where, op)
        if op not in FILTER_OPERATORS:
            hint = did_you_mean(op, FILTER_OPERATORS) or f" Use one of {quoted_list(FILTER_OPERATORS)}."
            problems.append(problem("unknown_operator", f"{op!r} is not a filter operator.{hint}", here))
        elif op == "in" and isinstance(operand, list):
            for index, item in enumerate(operand):
                _value(found, "in", item, child(here, index), problems)
        else:
            _value(found, op, operand, here, problems)


def _value(found: FieldDef, op: str, value: Any, where: SourceRef, problems: list[Problem]) -> None:
    if isinstance(value, (Mapping, list)) and op != "in":
        message = f"{op} takes a value (a string, number, true, false or null), not an object or a list."
        problems.append(problem("type", message, where))
        return
    if is_relative(value):
        reason = relative_problem(value, found.type, op)
        if reason is not None:
            problems.append(problem("invalid_relative", f"{found.name}: {reason}.", where))


def _build_one(draft: Placed, lookup: Lookup) -> tuple[ViewDef, list[Problem]]:
    spec = draft.spec
    where = draft.source
    problems: list[Problem] = []
    entity = lookup.entity(spec["entity"], draft.bundle)
    if entity is None:
        problems.extend(lookup.unknown_entity(spec["entity"], draft.bundle, child(where, "entity")))
    else:
        visible = {n: e for n, e in lookup.entities.items() if lookup.entity(n, draft.bundle) is not None}
        problems.extend(view_problems(spec, entity, visible, where))
    view = ViewDef(
        name=draft.name,
        entity=spec["entity"],
        label=label_or_derived(spec, draft.name),
        where=freeze_json(spec["where"]) if "where" in spec else None,
        sort=tuple(spec.get("sort", ())),
        columns=tuple(spec.get("columns", ())),
        group_by=spec.get("group_by"),
        description=label_from_json(spec.get("description")),
        source=where,
    )
    return view, problems


def _build(resolution: Resolution) -> tuple[Mapping[str, ViewDef], list[Problem]]:
    lookup = Lookup.of(resolution)
    return build_each(resolution.drafts("view"), lambda d: _build_one(d, lookup))


def view_to_json(view: ViewDef, definitions: Definitions | None = None) -> dict[str, Any]:
    """One view as a view document (reads back into an equal one)."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "view", "name": view.name}
    out["entity"] = view.entity
    if view.label != derive_label(view.name):
        out["label"] = view.label.to_json()
    if view.description is not None:
        out["description"] = view.description.to_json()
    if view.where is not None:
        out["where"] = thaw_json(view.where)
    if view.sort:
        out["sort"] = list(view.sort)
    if view.columns:
        out["columns"] = list(view.columns)
    if view.group_by is not None:
        out["group_by"] = view.group_by
    return out


VIEW = DocumentKind(
    name="view",
    plural="views",
    summary="a saved view of an entity's records: filter, sort, columns and grouping",
    draft=view_draft,
    build=_build,
    to_json=view_to_json,
    after=("entity",),
)
