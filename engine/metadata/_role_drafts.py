"""Role drafts: roles and role overlays as read, and the overlays applied to them.

A role draft keeps each value it holds at a *place*: ``("label",)``,
``("permissions", ENTITY, OPERATION)`` or ``("permissions", ENTITY, "fields", FIELD)``,
with where it was written. A ``role_overlay`` writes places the same way, so merging is
place by place: what an overlay writes replaces the role's value there, and what it does
not write stays. That is how a business mode adds its entities to a core role.

The rules are those of the other overlays (see ``_overlays``): overlays apply in bundle
order and see only their own bundle and its ancestors; an overlay in a bundle that extends
another's wins where both write; overlays of the same bundle, or of unrelated bundles,
that write the same place differently are an ``overlay_clash``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft, overlay_targets, related, same_json
from engine.metadata._problems import child, problem

Place = tuple[str, ...]


@dataclass
class RoleDraft:
    """One role: the values at each place, where each was written, and its document."""

    name: str
    values: dict[Place, Any]
    where: dict[Place, SourceRef]
    source: SourceRef
    bundle: str
    description: Any = None
    #: Entities the role's document or an overlay names: where, and the bundle that wrote it.
    entities: dict[str, tuple[SourceRef, str]] = field(default_factory=dict)
    #: The bundle that wrote each place (the role's own, or an overlay's).
    bundles: dict[Place, str] = field(default_factory=dict)


def _places(document: Mapping[str, Any], where: SourceRef) -> Iterator[tuple[Place, Any, SourceRef]]:
    if "label" in document:
        yield ("label",), document["label"], child(where, "label")
    for entity, spec in document.get("permissions", {}).items():
        at = child(where, "permissions", entity)
        for operation in ("create", "read", "update", "delete"):
            if operation in spec:
                yield ("permissions", entity, operation), spec[operation], child(at, operation)
        for name, access in spec.get("fields", {}).items():
            yield ("permissions", entity, "fields", name), access, child(at, "fields", name)


def _entities(document: Mapping[str, Any], where: SourceRef, bundle: str) -> dict[str, tuple[SourceRef, str]]:
    return {entity: (child(where, "permissions", entity), bundle) for entity in document.get("permissions", {})}


def role_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> RoleDraft:
    """The draft of the role of a valid ``role`` document."""
    draft = RoleDraft(
        name=str(document["name"]),
        values={},
        where={},
        source=where,
        bundle=bundle,
        description=document.get("description"),
        entities=_entities(document, where, bundle),
    )
    for place, value, at in _places(document, where):
        draft.values[place] = value
        draft.where[place] = at
        draft.bundles[place] = bundle
    return draft


@dataclass(frozen=True)
class _Write:
    place: Place
    value: Any
    bundle: str
    where: SourceRef


def apply_role_overlays(
    roles: dict[str, RoleDraft],
    overlays: Iterable[OverlayDraft],
    ancestors: Mapping[str, frozenset[str]],
) -> list[Problem]:
    """Apply ``overlays`` (in bundle order) to ``roles`` in place; return the problems."""
    problems: list[Problem] = []
    writes: dict[str, list[_Write]] = {}
    fallback = " Define it with a role document first."
    for overlay, role in overlay_targets("role", overlays, roles, ancestors, problems, fallback=fallback):
        role.entities.update(
            {
                e: w
                for e, w in _entities(overlay.document, overlay.source, overlay.bundle).items()
                if e not in role.entities
            }
        )
        writes.setdefault(role.name, []).extend(
            _Write(place, value, overlay.bundle, at) for place, value, at in _places(overlay.document, overlay.source)
        )
    for name, group in writes.items():
        problems.extend(_clashes(group, ancestors))
        for write in group:
            roles[name].values[write.place] = write.value
            roles[name].where[write.place] = write.where
            roles[name].bundles[write.place] = write.bundle
    return problems


def _clashes(group: list[_Write], ancestors: Mapping[str, frozenset[str]]) -> list[Problem]:
    problems: list[Problem] = []
    for index, later in enumerate(group):
        for earlier in group[:index]:
            if later.place != earlier.place or same_json(later.value, earlier.value):
                continue
            if related(later.bundle, earlier.bundle, ancestors):
                continue  # one refines the other: the bundle order decides
            message = (
                f"this writes {'/'.join(later.place)} as {json.dumps(later.value, ensure_ascii=False)}, but "
                f"{earlier.where.file} at {earlier.where.pointer} writes it as "
                f"{json.dumps(earlier.value, ensure_ascii=False)}; overlays never override each other "
                "silently. Write it in one place, or in a bundle that extends both."
            )
            problems.append(problem("overlay_clash", message, later.where))
            break
    return problems
