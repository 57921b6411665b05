"""Roles in the canonical stored form: each one a role document with only the keys it
sets, that reads back into an equal role."""

from __future__ import annotations

from typing import Any

from engine.metadata._names import derive_label
from engine.metadata._role_model import EntityPermission, RoleDef

SCHEMA_VERSION = 1


def role_to_json(role: RoleDef) -> dict[str, Any]:
    """One role as a role document."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "role", "name": role.name}
    if role.label != derive_label(role.name):
        out["label"] = role.label.to_json()
    if role.description is not None:
        out["description"] = role.description.to_json()
    out["permissions"] = {entity: _permission(p) for entity, p in role.permissions.items()}
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
