"""The ``role`` document kind: what users holding a role may do with each entity's records
and fields. The frozen model, the drafts and ``role_overlay`` documents, the checks, the
stored form and the :data:`ROLE` kind, in the order data flows.

Frozen role definitions: what the holders of a role may do with each entity's records.

The semantics (built-in admin, unions over roles, row scopes) live in
``engine.permissions``; this module only holds what the documents say.

Role drafts: roles and role overlays as read, and the overlays applied to them.

A role draft keeps each value it holds at a *place*: ``("label",)``,
``("permissions", ENTITY, OPERATION)`` or ``("permissions", ENTITY, "fields", FIELD)``,
with where it was written. A ``role_overlay`` writes places the same way, so merging is
place by place: what an overlay writes replaces the role's value there, and what it does
not write stays. That is how a business mode adds its entities to a core role.

The rules are those of the other overlays (see ``_pipeline``): overlays apply in bundle
order and see only their own bundle and its ancestors; an overlay in a bundle that extends
another's wins where both write; overlays of the same bundle, or of unrelated bundles,
that write the same place differently are an ``overlay_clash``.

Checks: a role may not be named like a built-in one (``admin``); every entity a role or
its overlays name is one the role's bundle can see; every field named under ``fields`` is
a field of that entity (or ``owner``). Once any role is defined, every role a workflow
names (a transition's ``roles``, an ``assign`` action's ``role``) must be defined too.

Roles in the canonical stored form: each one a role document with only the keys it
sets, that reads back into an equal role.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

from engine.errors import Problem
from engine.metadata._entities import Lookup
from engine.metadata._fields import label_from_json
from engine.metadata._model import Label, SourceRef, freeze_mappings
from engine.metadata._names import derive_label
from engine.metadata._pipeline import (
    Ancestors,
    DocumentKind,
    OverlayDraft,
    OverlayKind,
    Resolution,
    overlay_clash,
    overlay_targets,
    related,
    same_json,
)
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._recipients import recipient_role_problems
from engine.metadata._role_reach import reach_problems, read_via_pairs
from engine.metadata._workflow_drafts import WorkflowDraft
from engine.metadata._workflow_model import ActionDef, WorkflowDef

Scope = Literal["none", "own", "team", "all"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
FieldAccess = Literal["hidden", "read_only", "visible"]
Operation = Literal["create", "read", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = get_args(Operation)
#: The permissions key that applies to every entity.
ANY_ENTITY = "*"
#: The role that may do everything; it is built in, documents may not define it.
BUILT_IN_ROLES: tuple[str, ...] = ("admin",)


@dataclass(frozen=True)
class EntityPermission:
    """One entity's entry in a role; ``None`` means the entry does not say (``*`` decides)."""

    create: bool | None = None
    read: Scope | None = None
    update: Scope | None = None
    delete: Scope | None = None
    fields: Mapping[str, FieldAccess] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        freeze_mappings(self, "fields")


@dataclass(frozen=True)
class RoleDef:
    """A role: its label and its permissions by entity name (or :data:`ANY_ENTITY`)."""

    name: str
    label: Label
    permissions: Mapping[str, EntityPermission]
    description: Label | None = None
    #: ``(entity, field)`` references through which the role also reads (``read_via``).
    read_via: tuple[tuple[str, str], ...] = ()
    #: Entity → records a holder may own at most when claiming from the pool.
    claim_limits: Mapping[str, int] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        freeze_mappings(self, "permissions", "claim_limits")


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
    if "read_via" in document:
        yield ("read_via",), list(document["read_via"]), child(where, "read_via")
    for entity, limit in document.get("claim_limits", {}).items():
        yield ("claim_limits", entity), limit, child(where, "claim_limits", entity)
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
            this = f"writes {'/'.join(later.place)} as {json.dumps(later.value, ensure_ascii=False)}"
            that = f"writes it as {json.dumps(earlier.value, ensure_ascii=False)}"
            problems.append(overlay_clash(later.where, this, earlier.where, that, "Write"))
            break
    return problems


SCHEMA_VERSION = 1


def role_to_json(role: RoleDef) -> dict[str, Any]:
    """One role as a role document."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "role", "name": role.name}
    if role.label != derive_label(role.name):
        out["label"] = role.label.to_json()
    if role.description is not None:
        out["description"] = role.description.to_json()
    out["permissions"] = {entity: _permission(p) for entity, p in role.permissions.items()}
    if role.read_via:
        out["read_via"] = [f"{entity}.{name}" for entity, name in role.read_via]
    if role.claim_limits:
        out["claim_limits"] = dict(role.claim_limits)
    return out


def _permission(permission: EntityPermission) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for operation in ("create", "read", "update", "delete"):
        value = getattr(permission, operation)
        if value is not None:
            out[operation] = value
    if permission.fields:
        out["fields"] = dict(permission.fields)
    return out


#: Record columns a role may restrict besides the entity's own fields.
RESTRICTABLE_SYSTEM_FIELDS = ("owner",)


def build_roles(drafts: Mapping[str, RoleDraft], lookup: Lookup) -> tuple[dict[str, RoleDef], list[Problem]]:
    """Freeze every role draft and check it against the entities of ``lookup`` (see the
    module's docstring)."""
    roles: dict[str, RoleDef] = {}
    problems: list[Problem] = []
    for name, draft in drafts.items():
        if name in BUILT_IN_ROLES:
            message = f"{name!r} is a built-in role that may do everything; give this role another name."
            problems.append(problem("reserved_name", message, child(draft.source, "name")))
        problems.extend(_entity_problems(draft, lookup))
        problems.extend(reach_problems(draft.values, draft.where, draft.bundles, draft.bundle, lookup))
        roles[name] = _freeze(draft)
    return roles, problems


def _entity_problems(draft: RoleDraft, lookup: Lookup) -> Iterator[Problem]:
    for entity_name, (where, bundle) in draft.entities.items():
        if entity_name == ANY_ENTITY:
            continue
        entity = lookup.entity(entity_name, bundle)
        if entity is None:
            yield from lookup.unknown_entity(entity_name, bundle, where)
    for place, where in draft.where.items():
        if len(place) != 4 or place[2] != "fields":
            continue
        entity = lookup.entity(place[1], draft.bundles.get(place, draft.bundle))
        if entity is None or place[3] in entity.fields or place[3] in RESTRICTABLE_SYSTEM_FIELDS:
            continue
        known = [*entity.fields, *RESTRICTABLE_SYSTEM_FIELDS]
        message = f"{place[3]!r} is not a field of {entity.name!r}.{did_you_mean(place[3], known)}"
        yield problem("unknown_field", message, where)


def _freeze(draft: RoleDraft) -> RoleDef:
    per_entity: dict[str, dict[str, Any]] = {}
    for place, value in draft.values.items():
        if place[0] != "permissions":
            continue
        entry = per_entity.setdefault(place[1], {"fields": {}})
        if len(place) == 4:
            entry["fields"][place[3]] = value
        else:
            entry[place[2]] = value
    permissions = {
        entity: EntityPermission(
            create=cast("bool | None", entry.get("create")),
            read=cast("Scope | None", entry.get("read")),
            update=cast("Scope | None", entry.get("update")),
            delete=cast("Scope | None", entry.get("delete")),
            fields={f: cast(FieldAccess, a) for f, a in entry["fields"].items()},
        )
        for entity, entry in per_entity.items()
    }
    return RoleDef(
        name=draft.name,
        label=label_from_json(draft.values.get(("label",))) or derive_label(draft.name),
        description=label_from_json(draft.description),
        permissions=permissions,
        read_via=read_via_pairs(draft.values.get(("read_via",), ())),
        claim_limits={p[1]: int(v) for p, v in draft.values.items() if p[0] == "claim_limits"},
        source=draft.source,
    )


def role_reference_problems(
    roles: Mapping[str, RoleDef],
    workflows: Mapping[str, WorkflowDef],
    workflow_drafts: Mapping[str, WorkflowDraft],
    broken_roles: Iterable[str] = (),
) -> list[Problem]:
    """``unknown_role`` for every role a workflow names that no role document defines.

    Without any role documents, roles are free names (permissions are not enforced).
    """
    if not roles:
        return []
    known = set(roles) | set(BUILT_IN_ROLES) | set(broken_roles)
    candidates = sorted(set(roles) | set(BUILT_IN_ROLES))
    problems: list[Problem] = []

    def unknown(name: str, where: SourceRef) -> None:
        message = (
            f"the role {name!r} is not defined; once a bundle defines roles, every role a workflow "
            f"names needs a role document.{did_you_mean(name, candidates)} Defined roles: "
            f"{quoted_list(candidates)}."
        )
        problems.append(problem("unknown_role", message, where))

    for workflow in workflows.values():
        draft = workflow_drafts.get(workflow.name)
        for transition in workflow.transitions.values():
            part = draft.transitions.get(transition.name) if draft is not None else None
            at = part.at("roles") if part is not None else _fallback(transition.source, "roles")
            for index, role in enumerate(transition.roles):
                if role not in known and at is not None:
                    unknown(role, child(at, index))
            for action in transition.actions:
                if action.role is not None and action.role not in known and action.source is not None:
                    unknown(action.role, child(action.source, "assign", "role"))
            problems.extend(notify_role_problems(transition.actions, roles, known))
        for state in workflow.states.values():
            if state.escalation is None:
                continue
            for action in state.escalation.actions:
                if action.role is not None and action.role not in known and action.source is not None:
                    unknown(action.role, child(action.source, "assign", "role"))
            problems.extend(notify_role_problems(state.escalation.actions, roles, known))
    return problems


def notify_role_problems(
    actions: Iterable[ActionDef], roles: Mapping[str, RoleDef], known: Iterable[str]
) -> list[Problem]:
    """``unknown_role`` for the roles the ``notify`` actions among ``actions`` tell that no
    role document defines (nothing without role documents)."""
    names = set(known)
    problems: list[Problem] = []
    for action in actions:
        if action.kind == "notify" and action.recipients and action.source is not None:
            where = child(action.source, "notify", "to")
            problems.extend(recipient_role_problems(action.recipients, where, roles, names))
    return problems


def known_roles(roles: Mapping[str, RoleDef], broken_roles: Iterable[str] = ()) -> set[str]:
    """Every name that counts as a role: defined, built in, or whose document is broken."""
    return set(roles) | set(BUILT_IN_ROLES) | set(broken_roles)


def _fallback(source: SourceRef | None, key: str) -> SourceRef | None:
    return None if source is None else child(source, key)


def _apply_overlays(
    roles: dict[str, RoleDraft], overlays: list[OverlayDraft], ancestors: Ancestors, broken: set[str]
) -> list[Problem]:
    # An overlay of a role whose document is broken is reported all the same.
    return apply_role_overlays(roles, overlays, ancestors)


def _build(resolution: Resolution) -> tuple[Mapping[str, RoleDef], list[Problem]]:
    return build_roles(resolution.drafts("role"), Lookup.of(resolution))


def _reference_problems(resolution: Resolution) -> list[Problem]:
    return role_reference_problems(
        resolution.definitions("role"),
        resolution.definitions("workflow"),
        resolution.drafts("workflow"),
        resolution.broken("role"),
    )


ROLE = DocumentKind(
    name="role",
    plural="roles",
    summary="what users holding a role may do with each entity's records and fields",
    draft=role_draft,
    build=_build,
    to_json=lambda role, _definitions: role_to_json(role),
    duplicate_hint=", or add to the existing one with a role_overlay document",
    overlay=OverlayKind("additions and changes to an inherited role's permissions", _apply_overlays),
    after=("entity", "workflow"),
    checks=(_reference_problems,),
)
