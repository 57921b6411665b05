"""Freeze entity drafts into :class:`EntityDef` objects and check them, alone and together
(display and index fields, reference targets, ``renamed_from``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from engine.errors import Problem
from engine.metadata._drafts import EntityDraft, FieldDraft, entity_draft
from engine.metadata._fields import build_field, label_from_json, resolved_precision
from engine.metadata._model import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_PRECISION,
    SYSTEM_FIELDS,
    Choice,
    EntityDef,
    FieldDef,
    SourceRef,
)
from engine.metadata._names import derive_label, entity_name_problems
from engine.metadata._overlays import apply_overlays
from engine.metadata._pipeline import SCHEMA_VERSION, DocumentKind, OverlayKind, Resolution
from engine.metadata._problems import child, did_you_mean, problem

#: Types a database index cannot be built on (json has no ordering in PostgreSQL).
_UNINDEXABLE = ("json", "multi_enum")


def build_entities(
    drafts: Mapping[str, EntityDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_entities: Iterable[str] = (),
) -> tuple[dict[str, EntityDef], list[Problem]]:
    """Freeze every draft and run the checks that span fields and entities."""
    problems: list[Problem] = []
    entities: dict[str, EntityDef] = {}
    for name, draft in drafts.items():
        entity, entity_problems = build_entity(draft)
        entities[name] = entity
        problems.extend(entity_problems)
    broken = set(broken_entities)
    for draft in drafts.values():
        for field in draft.fields.values():
            if field.type == "reference":
                problems.extend(_target_problems(field, drafts, ancestors, broken))
    problems.extend(
        _rename_problems(
            [(d.name, d.spec.get("renamed_from"), d.at("renamed_from")) for d in drafts.values()],
            "entity",
        )
    )
    return entities, problems


def build_entity(draft: EntityDraft) -> tuple[EntityDef, list[Problem]]:
    """The frozen entity and the problems of it and its fields."""
    problems = entity_name_problems(draft.name, draft.at("name"))
    fields: dict[str, FieldDef] = {}
    for name, field_draft in draft.fields.items():
        field, field_problems = build_field(field_draft)
        fields[name] = field
        problems.extend(field_problems)
    display = draft.spec.get("display")
    if display is not None and display not in fields:
        message = f"display names no field of {draft.name!r}.{did_you_mean(display, list(fields))}"
        problems.append(problem("unknown_field", message, draft.at("display")))
    indexes = _name_lists(draft, draft.indexes, fields, "index", problems)
    unique = _name_lists(draft, draft.unique, fields, "unique constraint", problems)
    problems.extend(
        _rename_problems(
            [(f.name, f.spec.get("renamed_from"), f.at("renamed_from")) for f in draft.fields.values()],
            "field",
        )
    )
    entity = EntityDef(
        name=draft.name,
        label=label_from_json(draft.spec.get("label")) or derive_label(draft.name),
        fields=fields,
        display=display,
        description=label_from_json(draft.spec.get("description")),
        indexes=indexes,
        unique=unique,
        renamed_from=draft.spec.get("renamed_from"),
        source=draft.source,
    )
    return entity, problems


def _name_lists(
    draft: EntityDraft,
    lists: list[tuple[tuple[str, ...], SourceRef]],
    fields: Mapping[str, FieldDef],
    what: str,
    problems: list[Problem],
) -> tuple[tuple[str, ...], ...]:
    seen: dict[tuple[str, ...], SourceRef] = {}
    for names, where in lists:
        if names in seen:
            first = seen[names]
            message = f"the same {what} is already defined in {first.file} at {first.pointer}; remove this one."
            problems.append(problem("index_exists", message, where))
            continue
        seen[names] = where
        for position, name in enumerate(names):
            field = fields.get(name)
            if field is None and name not in SYSTEM_FIELDS:
                hint = did_you_mean(name, [*fields, *SYSTEM_FIELDS])
                message = f"{name!r} is not a field of {draft.name!r}.{hint}"
                problems.append(problem("unknown_field", message, child(where, position)))
            elif field is not None and field.type in _UNINDEXABLE:
                message = (
                    f"{name!r} is a {field.type} field, which a database {what} cannot cover; remove it from the list."
                )
                problems.append(problem("inapplicable_option", message, child(where, position)))
    return tuple(seen)


def _target_problems(
    field: FieldDraft,
    drafts: Mapping[str, EntityDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken: set[str],
) -> list[Problem]:
    target = str(field.spec["target"])
    entity = drafts.get(target)
    visible_bundles = {field.bundle, *ancestors.get(field.bundle, ())}
    if entity is not None and entity.bundle in visible_bundles:
        return []
    if entity is None and target in broken:
        return []  # its own document's problems are reported already
    if entity is not None:
        hint = (
            f" It is defined in bundle {entity.bundle!r}, which bundle {field.bundle!r} does "
            "not extend; add it to extends."
        )
    else:
        visible = [n for n, d in drafts.items() if d.bundle in visible_bundles]
        hint = did_you_mean(target, visible) + " Define the entity, or correct the name."
    message = f"the target {target!r} is not a defined entity.{hint}"
    return [problem("unknown_target", message, field.at("target"))]


def _rename_problems(items: list[tuple[str, object, SourceRef]], what: str) -> list[Problem]:
    """``renamed_from`` must name something gone, and be claimed by one item only."""
    names = {name for name, _, _ in items}
    claimed: dict[str, str] = {}
    problems = []
    for name, old, where in items:
        if not isinstance(old, str):
            continue
        if old == name:
            message = f"the {what} {name!r} cannot be renamed from itself; remove renamed_from."
        elif old in names:
            message = (
                f"renamed_from {old!r} names a {what} that still exists; a rename needs the old "
                f"{what} gone. Remove the old {what}, or remove renamed_from."
            )
        elif old in claimed:
            message = (
                f"the {what} {claimed[old]!r} is already renamed from {old!r}; only one {what} can take over its data."
            )
        else:
            claimed[old] = name
            continue
        problems.append(problem("renamed_from_clash", message, where))
    return problems


def entity_to_json(entity: EntityDef) -> dict[str, Any]:
    """One entity as an entity document with only non-default keys."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "entity", "name": entity.name}
    if entity.label != derive_label(entity.name):
        out["label"] = entity.label.to_json()
    if entity.description is not None:
        out["description"] = entity.description.to_json()
    if entity.display is not None:
        out["display"] = entity.display
    if entity.renamed_from is not None:
        out["renamed_from"] = entity.renamed_from
    out["fields"] = {name: field_to_json(f) for name, f in entity.fields.items()}
    if entity.indexes:
        out["indexes"] = [list(names) for names in entity.indexes]
    if entity.unique:
        out["unique"] = [list(names) for names in entity.unique]
    return out


def field_to_json(field: FieldDef) -> dict[str, Any]:
    """One field as written in an entity document, with only non-default keys."""
    out: dict[str, Any] = {"type": field.type}
    if field.label != derive_label(field.name):
        out["label"] = field.label.to_json()
    if field.description is not None:
        out["description"] = field.description.to_json()
    for option, bound in (("minimum", field.minimum), ("maximum", field.maximum)):
        if bound is not None:
            out[option] = _bound_to_json(bound)
    if field.min_length is not None:
        out["min_length"] = field.min_length
    if field.max_length is not None and field.max_length != DEFAULT_MAX_LENGTH.get(field.type):
        out["max_length"] = field.max_length
    if field.pattern is not None:
        out["pattern"] = field.pattern
    if field.type in DEFAULT_PRECISION and field.precision is not None:
        written = None
        if field.precision != DEFAULT_PRECISION[field.type][0]:
            out["precision"] = written = field.precision
        if field.scale != resolved_precision(field.type, written, None)[1]:
            out["scale"] = field.scale
    if field.choices:
        out["choices"] = [_choice_to_json(c) for c in field.choices]
    if field.target is not None:
        out["target"] = field.target
    if field.on_delete != "restrict":
        out["on_delete"] = field.on_delete
    for flag in ("required", "unique", "index", "read_only"):
        if getattr(field, flag):
            out[flag] = True
    if field.has_default:
        out["default"] = field.default
    if field.renamed_from is not None:
        out["renamed_from"] = field.renamed_from
    return out


def _choice_to_json(choice: Choice) -> str | dict[str, Any]:
    if choice.label == derive_label(choice.value):
        return choice.value
    return {"value": choice.value, "label": choice.label.to_json()}


def _bound_to_json(value: Decimal) -> int | str:
    # Whole numbers as JSON integers; anything else as a decimal string, which keeps every
    # digit (a float would not). Formatting with "f" never produces an exponent.
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    if not fraction.strip("0"):
        return int(whole)
    return text


def _apply_overlays(resolution: Resolution) -> list[Problem]:
    return apply_overlays(
        resolution.drafts("entity"),
        resolution.collection.overlays_of("entity"),
        resolution.ancestors,
        resolution.broken("entity"),
    )


def _build(resolution: Resolution) -> tuple[Mapping[str, EntityDef], list[Problem]]:
    return build_entities(resolution.drafts("entity"), resolution.ancestors, resolution.broken("entity"))


ENTITY = DocumentKind(
    name="entity",
    plural="entities",
    summary="an entity and its fields",
    draft=entity_draft,
    build=_build,
    to_json=lambda entity, _definitions: entity_to_json(entity),
    duplicate_hint=", or change the existing one with an entity_overlay document",
    overlay=OverlayKind("additions and changes to an inherited entity", _apply_overlays),
    always_stored=True,
)
