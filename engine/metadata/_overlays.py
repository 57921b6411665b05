"""Apply ``entity_overlay`` documents to the entity drafts of a bundle graph.

Overlays run in bundle order (bases first, then the bundles extending them; files sorted
within a bundle). What an overlay may see is its own bundle and that bundle's ancestors:
an overlay cannot change what a sibling bundle added, so loading a base on its own gives
the same result as loading it as part of a larger bundle.

Nothing is silently overridden. Adding something that exists is an error. When several
overlays set the same property, a bundle that extends another wins over it (it is
deliberately refining its base); overlays of the same bundle, or of bundles unrelated to
each other, that disagree are an ``overlay_clash``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import Problem
from engine.metadata._drafts import EntityDraft, FieldDraft, field_draft
from engine.metadata._fields import choice_value
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft, Setting, overlay_targets, resolve_settings, sees
from engine.metadata._problems import child, did_you_mean, problem

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
