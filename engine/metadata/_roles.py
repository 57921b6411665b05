"""Freeze role drafts into :class:`RoleDef` and check them against entities and workflows.

Checks: a role may not be named like a built-in one (``admin``); every entity a role or
its overlays name is one the role's bundle can see; every field named under ``fields`` is
a field of that entity (or ``owner``). Once any role is defined, every role a workflow
names (a transition's ``roles``, an ``assign`` action's ``role``) must be defined too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from engine.errors import Problem
from engine.metadata._drafts import EntityDraft
from engine.metadata._fields import label_from_json
from engine.metadata._model import EntityDef, SourceRef
from engine.metadata._names import derive_label
from engine.metadata._pipeline import DocumentKind, OverlayKind, Resolution
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._role_canonical import role_to_json
from engine.metadata._role_drafts import RoleDraft, apply_role_overlays, role_draft
from engine.metadata._role_model import (
    ANY_ENTITY,
    BUILT_IN_ROLES,
    EntityPermission,
    FieldAccess,
    RoleDef,
    Scope,
)
from engine.metadata._workflow_drafts import WorkflowDraft
from engine.metadata._workflow_lookup import Lookup
from engine.metadata._workflow_model import WorkflowDef

#: Record columns a role may restrict besides the entity's own fields.
RESTRICTABLE_SYSTEM_FIELDS = ("owner",)


def build_roles(
    drafts: Mapping[str, RoleDraft],
    entity_drafts: Mapping[str, EntityDraft],
    entities: Mapping[str, EntityDef],
    ancestors: Mapping[str, frozenset[str]],
    broken_entities: Iterable[str] = (),
) -> tuple[dict[str, RoleDef], list[Problem]]:
    """Freeze every role draft and check it (see the module's docstring)."""
    lookup = Lookup(drafts=entity_drafts, entities=entities, ancestors=ancestors, broken=frozenset(broken_entities))
    roles: dict[str, RoleDef] = {}
    problems: list[Problem] = []
    for name, draft in drafts.items():
        if name in BUILT_IN_ROLES:
            message = f"{name!r} is a built-in role that may do everything; give this role another name."
            problems.append(problem("reserved_name", message, child(draft.source, "name")))
        problems.extend(_entity_problems(draft, lookup))
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
        for state in workflow.states.values():
            if state.escalation is None:
                continue
            for action in state.escalation.actions:
                if action.role is not None and action.role not in known and action.source is not None:
                    unknown(action.role, child(action.source, "assign", "role"))
    return problems


def _fallback(source: SourceRef | None, key: str) -> SourceRef | None:
    return None if source is None else child(source, key)


def _apply_overlays(resolution: Resolution) -> list[Problem]:
    return apply_role_overlays(
        resolution.drafts("role"), resolution.collection.overlays_of("role"), resolution.ancestors
    )


def _build(resolution: Resolution) -> tuple[Mapping[str, RoleDef], list[Problem]]:
    return build_roles(
        resolution.drafts("role"),
        resolution.drafts("entity"),
        resolution.definitions("entity"),
        resolution.ancestors,
        resolution.broken("entity"),
    )


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
