"""Enforcing permissions: the checks the record, workflow, scoring and export services run
for a user (``engine.permissions``).

Services call these with the :data:`~engine.users.Actor` of the call: a user's permissions
apply to them; the :class:`~engine.users.SystemActor` (the engine's own work: workflow
actions, cascades, imports, escalations) passes every check.
A record outside the user's read scope does not exist for them (:class:`NotFoundError`,
never a hint that it does); an operation they may not do is a
:class:`PermissionDeniedError` naming the operation or the fields.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engine.errors import NotFoundError, PermissionDeniedError, Problem
from engine.metadata import EntityDef, Scope
from engine.storage import users as users_table
from engine.users import Actor, user_of

from ._access import EntityAccess, entity_access, full_access

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

_VERBS = {"create": "create", "read": "read", "update": "change", "delete": "delete"}


class PermissionService:
    """What users may do, from the live definitions' roles (cached per definitions version)."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._cache: dict[tuple[int, tuple[str, ...], str], EntityAccess] = {}
        self._lock = threading.Lock()

    @property
    def enforced(self) -> bool:
        """Whether the live definitions define roles (without any, nothing is enforced)."""
        return self._engine.has_definitions and bool(self._engine.model.definitions.roles)

    def access(self, actor: Actor, entity: str) -> EntityAccess:
        """What ``actor`` may do with ``entity`` (everything for the system and administrators)."""
        user = user_of(actor)
        if user is None or user.is_admin or not self._engine.has_definitions:
            return full_access(entity)
        model = self._engine.model
        key = (model.version, user.roles, entity)
        found = self._cache.get(key)
        if found is None:
            found = entity_access(model.definitions, user.roles, entity)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = found
        return found

    # -- operations ------------------------------------------------------------------------
    def require(self, actor: Actor, entity: str, operation: str) -> EntityAccess:
        """The actor's access to ``entity``, which must allow ``operation`` on some records."""
        access = self.access(actor, entity)
        if not access.allows(operation):
            user = user_of(actor)
            assert user is not None
            roles = ", ".join(user.roles) or "none"
            raise PermissionDeniedError(
                f'"{user.name}" may not {_VERBS[operation]} {entity} records (roles: {roles})',
                [Problem(code="forbidden_operation", field=operation, message=f"{operation} {entity} is not allowed")],
            )
        return access

    def scope_condition(self, actor: Actor, table: sa.Table, scope: Scope) -> ColumnElement[bool] | None:
        """The SQL condition selecting the rows ``scope`` reaches for ``actor`` (``None``: all)."""
        user = user_of(actor)
        if user is None or scope == "all":
            return None
        if scope == "none":
            return sa.false()
        owner = table.c.owner
        if scope == "team" and user.team:
            members = sa.select(users_table.c.name).where(users_table.c.team == user.team).scalar_subquery()
            return sa.or_(owner == user.name, owner.in_(members))
        return owner == user.name

    def scope_parameters(
        self, actor: Actor, table: sa.Table, scope: Scope
    ) -> tuple[ColumnElement[bool] | None, dict[str, Any], str]:
        """:meth:`scope_condition` with the user's name and team as named parameters, for a
        statement built once and run for every user: ``(condition, parameters, shape)``,
        where ``shape`` names the form of the condition (``all``, ``none``, ``own``, ``team``)."""
        user = user_of(actor)
        if user is None or scope == "all":
            return None, {}, "all"
        if scope == "none":
            return sa.false(), {}, "none"
        owner = table.c.owner
        name = sa.bindparam("crm_scope_user", user.name, type_=owner.type)
        if scope == "team" and user.team:
            team = sa.bindparam("crm_scope_team", user.team, type_=users_table.c.team.type)
            members = sa.select(users_table.c.name).where(users_table.c.team == team).scalar_subquery()
            parameters = {"crm_scope_user": user.name, "crm_scope_team": user.team}
            return sa.or_(owner == name, owner.in_(members)), parameters, "team"
        return owner == name, {"crm_scope_user": user.name}, "own"

    def in_scope(self, actor: Actor, record: Mapping[str, Any], scope: Scope) -> bool:
        """Whether ``record`` lies in ``scope`` for ``actor``."""
        user = user_of(actor)
        if user is None or scope == "all":
            return True
        if scope == "none":
            return False
        owner = record.get("owner")
        if owner == user.name:
            return True
        if scope != "team" or not user.team or owner is None:
            return False
        with self._engine.db.read() as conn:
            team = conn.execute(sa.select(users_table.c.team).where(users_table.c.name == owner)).scalar()
        return bool(team == user.team)

    def check_record(
        self, actor: Actor, entity: str, record: Mapping[str, Any], operation: str = "read"
    ) -> EntityAccess:
        """Refuse ``operation`` on ``record``: :class:`NotFoundError` when the user may not see
        it, :class:`PermissionDeniedError` when they see it but may not do this to it."""
        access = self.require(actor, entity, "read")
        if access.unrestricted:
            return access
        if not self.in_scope(actor, record, access.read):
            raise NotFoundError(f"{entity} {record.get('id')} does not exist")
        if operation != "read":
            self.require(actor, entity, operation)
            if not self.in_scope(actor, record, access.scope(operation)):
                user = user_of(actor)
                assert user is not None
                raise PermissionDeniedError(
                    f'"{user.name}" may read {entity} {record.get("id")} but not {_VERBS[operation]} it '
                    f"({operation} reaches {access.scope(operation)} records)",
                    [Problem(code="forbidden_record", field=operation, message=f"{operation} is not allowed here")],
                )
        return access

    # -- fields ----------------------------------------------------------------------------
    def check_writable(self, actor: Actor, entity: str, names: Iterable[str]) -> None:
        """Refuse writing fields that are read-only or hidden for ``actor`` (one problem each)."""
        access = self.access(actor, entity)
        if access.unrestricted:
            return
        problems = [
            Problem(
                code="hidden_field" if name in access.hidden else "read_only_field",
                field=name,
                message=f"{name} is {'hidden' if name in access.hidden else 'read-only'} for your roles",
            )
            for name in names
            if name in access.hidden or name in access.read_only
        ]
        if problems:
            fields = ", ".join(p.field or "" for p in problems)
            raise PermissionDeniedError(f"your roles may not write {fields} of {entity}", problems)

    def visible(self, actor: Actor, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` without the fields hidden from ``actor``."""
        hidden = self.access(actor, entity).hidden
        if not hidden:
            return record
        return {k: v for k, v in record.items() if k not in hidden}

    def hidden_fields(self, actor: Actor, entity: str) -> frozenset[str]:
        """The fields of ``entity`` hidden from ``actor``."""
        return self.access(actor, entity).hidden

    def visible_entity(self, actor: Actor, definition: EntityDef) -> EntityDef:
        """``definition`` without the fields hidden from ``actor`` (filters and sorts use it,
        so a hidden field is an unknown one)."""
        hidden = self.access(actor, definition.name).hidden
        if not hidden:
            return definition
        return dataclasses.replace(definition, fields={n: f for n, f in definition.fields.items() if n not in hidden})
