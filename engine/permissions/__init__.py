"""Permissions from role definitions: entity operations, row scopes, hidden and read-only fields."""

from __future__ import annotations

from ._access import SCOPE_ORDER, EntityAccess, covers, entity_access, full_access, widest
from ._service import PermissionService

__all__ = [
    "SCOPE_ORDER",
    "EntityAccess",
    "PermissionService",
    "covers",
    "entity_access",
    "full_access",
    "widest",
]
