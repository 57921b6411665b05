"""What a set of roles may do with one entity, computed from the role definitions (pure).

The rules (see ``docs/permissions.md``):

- definitions without role documents enforce nothing: everyone may do everything, as
  before roles existed;
- the built-in ``admin`` role may do everything;
- otherwise a user gets the union of the roles they hold that the definitions define:
  ``create`` if any role grants it, for read/update/delete the widest scope of any role;
  roles the definitions do not know grant nothing;
- in a role, an entity's own entry decides each operation it sets; ``*`` decides the
  others; what neither sets is ``none`` (create: false);
- a field is hidden only when every role that may read the entity hides it, read-only
  when none of them leaves it fully visible;
- a role's ``read_via`` (``opportunity.account``) makes the records of the target entity
  readable (never writable) when they are referenced through that field by a record the
  user may read in their own scope of the referencing entity; ``claim_limits`` make the
  unowned records of an entity readable (the pool the user may claim from).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from engine.metadata import ANY_ENTITY, BUILT_IN_ROLES, Definitions, EntityPermission, RoleDef, Scope

#: Scopes from narrowest to widest.
SCOPE_ORDER: tuple[Scope, ...] = ("none", "own", "team", "all")
_RANK = {scope: rank for rank, scope in enumerate(SCOPE_ORDER)}
_RESTRICTION = {"visible": 0, "read_only": 1, "hidden": 2}


def widest(scopes: Iterable[Scope]) -> Scope:
    """The widest of ``scopes`` (``none`` when there are none)."""
    return max(scopes, key=_RANK.__getitem__, default="none")


def covers(scope: Scope, needed: Scope) -> bool:
    """Whether ``scope`` reaches at least as far as ``needed``."""
    return _RANK[scope] >= _RANK[needed]


@dataclass(frozen=True)
class EntityAccess:
    """What a user may do with the records of ``entity``.

    ``unrestricted`` is true for administrators and when no roles are defined: callers may
    skip every check then.
    """

    entity: str
    create: bool
    read: Scope
    update: Scope
    delete: Scope
    hidden: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()
    unrestricted: bool = False
    #: ``(entity, field)`` references to this entity through which records are readable too
    #: (the roles' ``read_via``; read only).
    read_via: tuple[tuple[str, str], ...] = ()
    #: Unowned records are readable too: the roles may claim them (``claim_limits``).
    pool: bool = False

    def scope(self, operation: str) -> Scope:
        """The scope of ``read``, ``update`` or ``delete``."""
        found: Scope = getattr(self, operation)
        return found

    def allows(self, operation: str) -> bool:
        """Whether the operation is allowed on at least some records."""
        if operation == "create":
            return self.create
        if operation == "read" and (self.read_via or self.pool):
            return True
        return self.scope(operation) != "none"


@functools.lru_cache(maxsize=1024)
def full_access(entity: str) -> EntityAccess:
    """Everything on ``entity`` (administrators, the system, definitions without roles);
    one shared object per entity, asked for on every request."""
    return EntityAccess(entity, True, "all", "all", "all", unrestricted=True)


def _operation(role: RoleDef, entity: str, operation: str) -> Scope | bool | None:
    for key in (entity, ANY_ENTITY):
        entry = role.permissions.get(key)
        if entry is not None and getattr(entry, operation) is not None:
            value: Scope | bool = getattr(entry, operation)
            return value
    return None


def entity_access(definitions: Definitions, roles: Iterable[str], entity: str) -> EntityAccess:
    """The access the holder of ``roles`` has to ``entity`` under ``definitions``."""
    held = tuple(roles)
    if not definitions.roles or any(r in BUILT_IN_ROLES for r in held):
        return full_access(entity)
    defined = [definitions.roles[r] for r in held if r in definitions.roles]
    create = any(_operation(r, entity, "create") is True for r in defined)
    scopes: dict[str, Scope] = {}
    for operation in ("read", "update", "delete"):
        values = [_operation(r, entity, operation) for r in defined]
        scopes[operation] = widest(v for v in values if isinstance(v, str))
    readers = [r for r in defined if _operation(r, entity, "read") not in (None, "none")]
    per_role = [
        {n: _RESTRICTION[a] for n, a in r.permissions.get(entity, EntityPermission()).fields.items()} for r in readers
    ]
    names = {n for levels in per_role for n in levels}
    restriction = {n: min(levels.get(n, 0) for levels in per_role) for n in names}
    return EntityAccess(
        entity=entity,
        create=create,
        read=scopes["read"],
        update=scopes["update"],
        delete=scopes["delete"],
        hidden=frozenset(n for n, level in restriction.items() if level == 2),
        read_only=frozenset(n for n, level in restriction.items() if level == 1),
        read_via=_read_via(definitions, defined, entity),
        pool=any(entity in r.claim_limits for r in defined),
    )


def _read_via(definitions: Definitions, roles: Iterable[RoleDef], entity: str) -> tuple[tuple[str, str], ...]:
    """The roles' ``read_via`` references that point at ``entity`` (each once, sorted)."""
    found = set()
    for role in roles:
        for source, name in role.read_via:
            referencing = definitions.entities.get(source)
            reference = None if referencing is None else referencing.fields.get(name)
            if reference is not None and reference.type == "reference" and reference.target == entity:
                found.add((source, name))
    return tuple(sorted(found))
