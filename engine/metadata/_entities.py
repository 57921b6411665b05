"""The ``entity`` document kind: entities as read (drafts), ``entity_overlay`` documents
applied to them, the checks that freeze them into :class:`EntityDef` objects, the stored
form, the :data:`ENTITY` kind, and the :class:`Lookup` through which the kinds that come
after entities find them.

Entity drafts are entities as read from valid documents, before they are frozen.

Drafts are mutable on purpose: overlays edit them in place, and every option remembers
where it was last set (``where``) so that a check failing on the final entity points at the
document and key that caused it, be it the base entity or an overlay.

The :class:`Lookup` is what the checks of later kinds look things up in: the entities a
bundle can see, and the fields that workflows drive.

``entity_overlay`` documents apply to the entity drafts of a bundle graph.

Overlays run in bundle order (bases first, then the bundles extending them; files sorted
within a bundle). What an overlay may see is its own bundle and that bundle's ancestors:
an overlay cannot change what a sibling bundle added, so loading a base on its own gives
the same result as loading it as part of a larger bundle.

Nothing is silently overridden. Adding something that exists is an error. When several
overlays set the same property, a bundle that extends another wins over it (it is
deliberately refining its base); overlays of the same bundle, or of bundles unrelated to
each other, that disagree are an ``overlay_clash``.

Freeze entity drafts into :class:`EntityDef` objects and check them, alone and together
(display and index fields, reference targets, ``renamed_from``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import Problem
from engine.metadata._derived import derived_problems
from engine.metadata._duplicate_rules import build_rules, rule_to_json
from engine.metadata._fields import (
    FieldDraft,
    build_field,
    choice_value,
    field_draft,
    field_to_json,
    label_from_json,
    label_or_derived,
)
from engine.metadata._model import (
    SYSTEM_FIELDS,
    EntityDef,
    FieldDef,
    Label,
    SourceRef,
)
from engine.metadata._names import derive_label, entity_name_problems
from engine.metadata._pipeline import (
    SCHEMA_VERSION,
    DocumentKind,
    OverlayDraft,
    OverlayKind,
    Placed,
    Resolution,
    Setting,
    build_each,
    overlay_targets,
    resolve_settings,
    sees,
)
from engine.metadata._problems import child, did_you_mean, problem


@dataclass
class EntityDraft(Placed):
    """One entity: entity-level options, fields, indexes, and where each was set."""

    fields: dict[str, FieldDraft]
    indexes: list[tuple[tuple[str, ...], SourceRef]]
    unique: list[tuple[tuple[str, ...], SourceRef]]
    duplicates: list[tuple[dict[str, Any], SourceRef]] = dataclasses.field(default_factory=list)


_ENTITY_OPTIONS = ("label", "description", "display", "renamed_from")


def entity_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> EntityDraft:
    """The draft of the entity of a valid ``entity`` document."""
    name = str(document["name"])
    options = {key: document[key] for key in _ENTITY_OPTIONS if key in document}
    return EntityDraft(
        name=name,
        spec=options,
        where={"name": child(where, "name"), **{key: child(where, key) for key in options}},
        fields={
            fname: field_draft(fname, spec, child(where, "fields", fname), bundle)
            for fname, spec in document["fields"].items()
        },
        indexes=[(tuple(n), child(where, "indexes", i)) for i, n in enumerate(document.get("indexes", ()))],
        unique=[(tuple(n), child(where, "unique", i)) for i, n in enumerate(document.get("unique", ()))],
        duplicates=[(dict(r), child(where, "duplicates", i)) for i, r in enumerate(document.get("duplicates", ()))],
        source=where,
        bundle=bundle,
    )


@dataclass(frozen=True)
class Lookup:
    """The resolved entities of a load, with the bundle each comes from.

    :param drafts: the entity drafts (they know their bundle).
    :param entities: the frozen entities, by name.
    :param ancestors: each bundle's ancestors.
    :param broken: entities whose documents are invalid (not reported again).
    :param driven: entity → the fields a workflow drives (actions may not set them).
    """

    drafts: Mapping[str, EntityDraft]
    entities: Mapping[str, EntityDef]
    ancestors: Mapping[str, frozenset[str]]
    broken: frozenset[str] = frozenset()
    driven: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, resolution: Resolution) -> Lookup:
        """The entities of ``resolution``, as the kinds built after them see them."""
        return cls(
            drafts=resolution.drafts("entity"),
            entities=resolution.definitions("entity"),
            ancestors=resolution.ancestors,
            broken=frozenset(resolution.broken("entity")),
        )

    def sees(self, viewer: str, owner: str) -> bool:
        """Whether bundle ``viewer`` sees what bundle ``owner`` defines."""
        return viewer == owner or owner in self.ancestors.get(viewer, frozenset())

    def entity(self, name: str, bundle: str) -> EntityDef | None:
        """The entity ``name`` if bundle ``bundle`` can see it."""
        draft = self.drafts.get(name)
        if draft is None or not self.sees(bundle, draft.bundle):
            return None
        return self.entities.get(name)

    def unknown_entity(self, name: str, bundle: str, where: SourceRef) -> list[Problem]:
        """The ``unknown_entity`` problem of ``name`` (none when its document is broken)."""
        draft = self.drafts.get(name)
        if draft is None and name in self.broken:
            return []
        if draft is not None:
            hint = (
                f" It is defined in bundle {draft.bundle!r}, which bundle {bundle!r} does not "
                "extend; add it to extends."
            )
        else:
            visible = [n for n, d in self.drafts.items() if self.sees(bundle, d.bundle)]
            hint = did_you_mean(name, visible) + " Define the entity, or correct the name."
        message = f"{name!r} is not an entity this bundle can see.{hint}"
        return [problem("unknown_entity", message, where)]

    def driven_fields(self, entity: str) -> frozenset[str]:
        """The fields of ``entity`` that a workflow drives."""
        return self.driven.get(entity, frozenset())


def driven_map(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """entity → driven fields, from ``(entity, field)`` pairs."""
    out: dict[str, set[str]] = {}
    for entity, name in pairs:
        out.setdefault(entity, set()).add(name)
    return {entity: frozenset(names) for entity, names in out.items()}


def state_labels(field: FieldDef | None) -> dict[str, Label]:
    """The label each state of a workflow driving ``field`` has when it names none: the
    label of the choice of the same value (which may have a Chinese one)."""
    return {} if field is None else {choice.value: choice.label for choice in field.choices}


_ENTITY_PROPERTIES = ("label", "description", "display")
_CHOICE_TYPES = ("enum", "multi_enum")


def apply_overlays(
    entities: dict[str, EntityDraft],
    overlays: Iterable[OverlayDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_entities: Iterable[str] = (),
) -> list[Problem]:
    """Apply ``overlays`` (in bundle order) to ``entities`` in place; return the problems.

    ``ancestors`` maps each bundle to the bundles it extends, directly or not.
    """
    problems: list[Problem] = []
    applicable: list[tuple[OverlayDraft, EntityDraft]] = []
    for overlay, entity in overlay_targets("entity", overlays, entities, ancestors, problems, broken=broken_entities):
        applicable.append((overlay, entity))
        problems.extend(_add(overlay, entity))
    settings: dict[tuple[str, str | None, str], list[Setting]] = {}
    for overlay, entity in applicable:
        document = overlay.document
        for prop in _ENTITY_PROPERTIES:
            if prop in document:
                setting = Setting(document[prop], overlay.bundle, child(overlay.source, prop))
                settings.setdefault((entity.name, None, prop), []).append(setting)
        for name, change in document.get("change_fields", {}).items():
            where = child(overlay.source, "change_fields", name)
            field = entity.fields.get(name)
            if field is None or not sees(overlay.bundle, field.bundle, ancestors):
                problems.append(_unknown_field(name, where, entity, overlay.bundle, ancestors))
                continue
            for prop, value in change.items():
                if prop == "add_choices":
                    problems.extend(_add_choices(field, value, child(where, prop)))
                else:
                    setting = Setting(value, overlay.bundle, child(where, prop))
                    settings.setdefault((entity.name, name, prop), []).append(setting)
    for (entity_name, field_name, prop), group in settings.items():
        entity = entities[entity_name]
        target: EntityDraft | FieldDraft = entity if field_name is None else entity.fields[field_name]
        winner, clashes = resolve_settings(group, ancestors)
        problems.extend(clashes)
        target.spec[prop] = winner.value
        target.where[prop] = winner.where
    return problems


def _add(overlay: OverlayDraft, entity: EntityDraft) -> list[Problem]:
    problems: list[Problem] = []
    document = overlay.document
    for name, spec in document.get("add_fields", {}).items():
        where = child(overlay.source, "add_fields", name)
        existing = entity.fields.get(name)
        if existing is not None:
            message = (
                f"the entity {entity.name!r} already has a field {name!r} (defined in "
                f"{existing.source.file} at {existing.source.pointer}); choose another name, "
                "or use change_fields to change the existing one."
            )
            problems.append(problem("field_exists", message, where))
            continue
        entity.fields[name] = field_draft(name, spec, where, overlay.bundle)
    for key, target in (("add_indexes", entity.indexes), ("add_unique", entity.unique)):
        for index, names in enumerate(document.get(key, ())):
            target.append((tuple(names), child(overlay.source, key, index)))
    for index, rule in enumerate(document.get("add_duplicates", ())):
        entity.duplicates.append((dict(rule), child(overlay.source, "add_duplicates", index)))
    return problems


def _add_choices(field: FieldDraft, choices: list[Any], where: SourceRef) -> list[Problem]:
    if field.type not in _CHOICE_TYPES:
        message = f"add_choices applies only to enum and multi_enum fields; {field.name!r} is a {field.type} field."
        return [problem("inapplicable_option", message, where)]
    problems = []
    existing = {choice_value(c): at for c, at in field.choices}
    for index, choice in enumerate(choices):
        value = choice_value(choice)
        at = child(where, index)
        if value in existing:
            message = (
                f"the field {field.name!r} already has the choice {value!r} (from "
                f"{existing[value].file} at {existing[value].pointer}); remove it here."
            )
            problems.append(problem("choice_exists", message, at))
            continue
        existing[value] = at
        field.choices.append((choice, at))
    return problems


def _unknown_field(
    name: str,
    where: SourceRef,
    entity: EntityDraft,
    viewer: str,
    ancestors: Mapping[str, frozenset[str]],
) -> Problem:
    visible = [n for n, f in entity.fields.items() if sees(viewer, f.bundle, ancestors)]
    field = entity.fields.get(name)
    if field is not None:
        hint = f" It is added by bundle {field.bundle!r}, which this bundle does not extend."
    else:
        hint = did_you_mean(name, visible) + " To add a new field, use add_fields."
    message = f"the entity {entity.name!r} has no field {name!r} to change.{hint}"
    return problem("unknown_field", message, where)


#: Types a database index cannot be built on (json has no ordering in PostgreSQL).
_UNINDEXABLE = ("json", "multi_enum")


def build_entities(
    drafts: Mapping[str, EntityDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_entities: Iterable[str] = (),
) -> tuple[dict[str, EntityDef], list[Problem]]:
    """Freeze every draft and run the checks that span fields and entities."""
    entities, problems = build_each(drafts, build_entity)
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
    fields_at = {(d.name, f.name): f.source for d in drafts.values() for f in d.fields.values()}
    problems.extend(derived_problems(entities, fields_at))
    return entities, problems


def build_entity(draft: EntityDraft) -> tuple[EntityDef, list[Problem]]:
    """The frozen entity and the problems of it and its fields."""
    problems = entity_name_problems(draft.name, draft.at("name"))
    fields, field_problems = build_each(draft.fields, build_field)
    problems.extend(field_problems)
    display = draft.spec.get("display")
    if display is not None and display not in fields:
        message = f"display names no field of {draft.name!r}.{did_you_mean(display, list(fields))}"
        problems.append(problem("unknown_field", message, draft.at("display")))
    indexes = _name_lists(draft, draft.indexes, fields, "index", problems)
    unique = _name_lists(draft, draft.unique, fields, "unique constraint", problems)
    duplicates, rule_problems = build_rules(draft.name, draft.duplicates, {n: f.type for n, f in fields.items()})
    problems.extend(rule_problems)
    problems.extend(
        _rename_problems(
            [(f.name, f.spec.get("renamed_from"), f.at("renamed_from")) for f in draft.fields.values()],
            "field",
        )
    )
    entity = EntityDef(
        name=draft.name,
        label=label_or_derived(draft.spec, draft.name),
        fields=fields,
        display=display,
        description=label_from_json(draft.spec.get("description")),
        indexes=indexes,
        unique=unique,
        renamed_from=draft.spec.get("renamed_from"),
        source=draft.source,
        duplicates=duplicates,
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
    if entity.duplicates:
        out["duplicates"] = [rule_to_json(rule) for rule in entity.duplicates]
    return out


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
    overlay=OverlayKind("additions and changes to an inherited entity", apply_overlays),
    always_stored=True,
)
