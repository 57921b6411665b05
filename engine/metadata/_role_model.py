"""Frozen role definitions: what the holders of a role may do with each entity's records.

The semantics (built-in admin, unions over roles, row scopes) live in
``engine.permissions``; this module only holds what the documents say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

from engine.metadata._model import Label, SourceRef

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
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


@dataclass(frozen=True)
class RoleDef:
    """A role: its label and its permissions by entity name (or :data:`ANY_ENTITY`)."""

    name: str
    label: Label
    permissions: Mapping[str, EntityPermission]
    description: Label | None = None
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.permissions, MappingProxyType):
            object.__setattr__(self, "permissions", MappingProxyType(dict(self.permissions)))
