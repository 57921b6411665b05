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
from engine.users import Actor, User, user_of

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
        """The SQL condition selecting the rows ``scope`` reaches for ``actor`` (``None``: all).

        ``scope`` is a read scope: the records the user reads through ``read_via`` references
        and the claimable pool are added to it (they give nothing more than reading, so the
        update and delete checks ask :meth:`in_scope` without ``read_of``)."""
        return self._scoped(actor, table, scope, bind=False)[0]

    def scope_parameters(
        self, actor: Actor, table: sa.Table, scope: Scope
    ) -> tuple[ColumnElement[bool] | None, dict[str, Any], str]:
        """:meth:`scope_condition` with the user's name and team as named parameters, for a
        statement built once and run for every user: ``(condition, parameters, shape)``,
        where ``shape`` names the form of the condition (``all``, ``none``, ``own``, ``team``,
        followed by what ``read_via`` and the pool add)."""
        return self._scoped(actor, table, scope, bind=True)

    def _scoped(
        self, actor: Actor, table: sa.Table, scope: Scope, *, bind: bool
    ) -> tuple[ColumnElement[bool] | None, dict[str, Any], str]:
        user = user_of(actor)
        if user is None or scope == "all":
            return None, {}, "all"
        base, parameters, shape = _owner_scope(user, table.c.owner, scope, bind=bind)
        access = self.access(user, _entity_of(table))
        extra: list[ColumnElement[bool]] = []
        if access.pool:
            extra.append(table.c.owner.is_(None))
            shape += "+pool"
        for entity, name in access.read_via:
            via = self.access(user, entity)
            if via.read == "none":
                continue
            source = self._engine.model.table(entity)
            condition, via_parameters, via_shape = _owner_scope(user, source.c.owner, via.read, bind=bind)
            referenced = sa.select(source.c[name]).where(source.c[name].is_not(None))
            if condition is not None:
                referenced = referenced.where(condition)
            extra.append(table.c.id.in_(referenced))
            parameters.update(via_parameters)
            shape += f"+{entity}.{name}:{via_shape}"
        if not extra:
            return base, parameters, shape
        return sa.or_(*extra) if scope == "none" else sa.or_(base, *extra), parameters, shape  # type: ignore[arg-type]

    def in_scope(self, actor: Actor, record: Mapping[str, Any], scope: Scope, *, read_of: str | None = None) -> bool:
        """Whether ``record`` lies in ``scope`` for ``actor``.

        :param read_of: the record's entity when ``scope`` is a read scope: then the records
            the user reads through ``read_via`` and the claimable pool count too.
        """
        user = user_of(actor)
        if user is None or scope == "all":
            return True
        if self._owned_in_scope(user, record.get("owner"), scope):
            return True
        if read_of is None:
            return False
        access = self.access(user, read_of)
        if access.pool and record.get("owner") is None:
            return True
        for entity, name in access.read_via:
            via = self.access(user, entity)
            if via.read == "none":
                continue
            source = self._engine.model.table(entity)
            condition = _owner_scope(user, source.c.owner, via.read, bind=False)[0]
            query = sa.select(source.c.id).where(source.c[name] == record.get("id")).limit(1)
            if condition is not None:
                query = query.where(condition)
            with self._engine.db.read() as conn:
                if conn.execute(query).first() is not None:
                    return True
        return False

    def _owned_in_scope(self, user: User, owner: Any, scope: Scope) -> bool:
        if scope == "all":
            return True
        if scope == "none" or owner is None:
            return False
        if owner == user.name:
            return True
        if scope != "team" or not user.team:
            return False
        with self._engine.db.read() as conn:
            team = conn.execute(sa.select(users_table.c.team).where(users_table.c.name == owner)).scalar()
        return bool(team == user.team)

    def check_record(
        self, actor: Actor, entity: str, record: Mapping[str, Any], operation: str = "read"
    ) -> EntityAccess:
        """Refuse ``operation`` on ``record``: :class:`NotFoundError` when the user may not see
        it, :class:`PermissionDeniedError` when they see it but may not do this to it.

        ``transition``: the record must lie in the user's read scope by owner or team (a
        transition's own roles decide the rest); seen only through ``read_via`` or the pool,
        it is read only."""
        access = self.require(actor, entity, "read")
        if access.unrestricted:
            return access
        if not self.in_scope(actor, record, access.read, read_of=entity):
            raise NotFoundError(f"{entity} {record.get('id')} does not exist")
        if operation == "transition":
            # read_via and the pool let a user read a record, not move it through a workflow
            if not self.in_scope(actor, record, access.read):
                user = user_of(actor)
                assert user is not None
                raise PermissionDeniedError(
                    f'"{user.name}" may read {entity} {record.get("id")} only through a related record or the '
                    "pool, which lets them read it, not run its transitions",
                    [Problem(code="forbidden_record", field="transition", message="read only for you")],
                )
            return access
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


def _owner_scope(
    user: User, owner: Any, scope: Scope, *, bind: bool
) -> tuple[ColumnElement[bool] | None, dict[str, Any], str]:
    """The rows whose ``owner`` column lies in ``scope`` for ``user`` (``None``: all); with
    ``bind``, the user's name and team as the named parameters ``crm_scope_user`` and
    ``crm_scope_team``."""
    if scope == "all":
        return None, {}, "all"
    if scope == "none":
        return sa.false(), {}, "none"
    name: Any = sa.bindparam("crm_scope_user", user.name, type_=owner.type) if bind else user.name
    parameters: dict[str, Any] = {"crm_scope_user": user.name} if bind else {}
    if scope == "team" and user.team:
        team: Any = sa.bindparam("crm_scope_team", user.team, type_=users_table.c.team.type) if bind else user.team
        members = sa.select(users_table.c.name).where(users_table.c.team == team).scalar_subquery()
        if bind:
            parameters["crm_scope_team"] = user.team
        return sa.or_(owner == name, owner.in_(members)), parameters, "team"
    return owner == name, parameters, "own"


def _entity_of(table: Any) -> str:
    """The entity of ``table`` (of the table an alias of it stands for)."""
    while isinstance(table, sa.Alias):
        table = table.element
    return str(table.name)
