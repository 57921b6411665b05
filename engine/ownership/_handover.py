"""Deactivating a user hands their whole book over to another user, in one transaction.

``deactivate(NAME, transfer_to=OTHER)``: the user stops being able to act (sign-in, API
tokens and open sessions are refused on the next request in every process, since each
request reads the user's state from the database), and every record they own, in every
entity, gets ``OTHER`` as owner. Each move goes through the record service's update, so it
is versioned, audited and evented, and cascades along ``cascade_owner`` references. The
whole is one hand-over row in ``crm_handovers`` with an id; the audit rows of its moves are
recorded as ``system:handover <id>``. Records whose assignee-like field (``_assigned``) still
names the user are not moved but counted in the result (``still_assigned``).

Refused (nothing changes): the last active administrator; a transfer to an unknown or
inactive user or to the user themselves; deactivating a user who owns records without
naming who takes them over (records are never left with an owner who cannot act).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, NotFoundError, PermissionDeniedError, Problem, UsageError
from engine.storage import handovers, users
from engine.users import ADMIN_ROLE, SYSTEM_USER, Actor, SystemActor, User, user_of

from ._assigned import still_assigned, user_fields

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine

#: The reason of the system actor that moves a hand-over's records (``handover <id>``).
HANDOVER_REASON = "handover"


@dataclass(frozen=True)
class Handover:
    """One hand-over: who handed what to whom, when, and on whose order."""

    id: int
    from_user: str
    to_user: str
    by: str
    reason: str
    records: dict[str, int]
    at: datetime
    #: ``"entity.field"`` → records whose assignee-like field still names ``from_user`` (open
    #: work items), counted when the hand-over ran; ``None`` for one read back (not stored)
    still_assigned: dict[str, int] | None = None

    @property
    def total(self) -> int:
        return sum(self.records.values())

    @property
    def audit_actor(self) -> str:
        """The actor its moves are audited as."""
        return SystemActor(f"{HANDOVER_REASON} {self.id}").name

    def to_json(self) -> dict[str, Any]:
        counted = {} if self.still_assigned is None else {"still_assigned": dict(self.still_assigned)}
        return {
            "id": self.id,
            "from_user": self.from_user,
            "to_user": self.to_user,
            "by": self.by,
            "reason": self.reason,
            "records": dict(self.records),
            "total": self.total,
            "audit_actor": self.audit_actor,
            "at": self.at.isoformat(),
            **counted,
        }


class HandoverService:
    """Deactivate and reactivate users, handing their records over (``engine.handovers``)."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    def deactivate(self, name: str, *, transfer_to: str | None, actor: Actor) -> tuple[User, Handover | None]:
        """Deactivate ``name`` and move every record they own to ``transfer_to``.

        Returns the user as now stored and the hand-over (``None`` when ``transfer_to`` was not
        given and the user owned nothing).

        :raises PermissionDeniedError: when ``actor`` is a user who is not an administrator.
        :raises NotFoundError: for an unknown user or ``transfer_to``.
        :raises ConflictError: ``last_admin``, ``inactive_user``, ``owns_records``.
        :raises UsageError: ``invalid_transfer`` (to an inactive user or to themselves).
        """
        _require_admin(actor, "deactivate users")
        engine = self._engine
        user = self._user(name)
        if not user.active:
            raise ConflictError(
                f'user "{name}" is already inactive; `crm user reactivate {name}` activates them again',
                [Problem(code="inactive_user", field="name", message="already inactive")],
            )
        target = None if transfer_to is None else self._target(name, transfer_to)
        engine.reload()
        model = engine.model if engine.has_definitions else None
        with engine.db.write() as tx:
            _refuse_last_admin(tx, user)
            owned = _owned(tx, model, name)
            if owned and target is None:
                books = ", ".join(f"{n} {e}" for e, n in owned.items())
                raise ConflictError(
                    f'user "{name}" owns records ({books}); name who takes them over: '
                    f"`crm user deactivate {name} --transfer-to OTHER`",
                    [Problem(code="owns_records", field="transfer_to", message="who takes over the records?")],
                )
            written = tx.execute(
                users.update().where(users.c.name == name, users.c.active.is_(True)).values(active=False)
            )
            if written.rowcount != 1:
                raise ConflictError(f'user "{name}" was deactivated by someone else at the same time')
            handover = None
            if target is not None:
                handover = self._hand_over(tx, model, name, target.name, actor.name)
        engine.sessions.end_all(name)
        engine.tokens.forget()
        return engine.users.get(name), handover

    def reactivate(self, name: str, *, actor: Actor) -> User:
        """Let ``name`` act again (their records stay with whoever took them over; tokens
        they had work again, sessions do not: they sign in afresh)."""
        _require_admin(actor, "reactivate users")
        user = self._user(name)
        if user.active:
            raise ConflictError(
                f'user "{name}" is active already',
                [Problem(code="active_user", field="name", message="already active")],
            )
        return self._engine.users.set_active(name, True)

    def list(self, *, user: str | None = None, limit: int = 100) -> builtins.list[Handover]:
        """Hand-overs newest first; those from or to ``user`` when given."""
        query = sa.select(handovers).order_by(handovers.c.id.desc()).limit(limit)
        if user is not None:
            query = query.where(sa.or_(handovers.c.from_user == user, handovers.c.to_user == user))
        with self._engine.db.read() as conn:
            return [_handover(row) for row in conn.execute(query).mappings()]

    def get(self, handover_id: int) -> Handover:
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(handovers).where(handovers.c.id == handover_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"there is no hand-over {handover_id}; `crm user handovers` lists them")
        return _handover(row)

    # -- steps -------------------------------------------------------------------------------
    def _user(self, name: str) -> User:
        if name == SYSTEM_USER.name:
            raise UsageError(
                '"system" is the built-in administrator and is always active',
                [Problem(code="reserved_name", field="name", message='"system" cannot be deactivated')],
            )
        return self._engine.users.get(name)

    def _target(self, name: str, transfer_to: str) -> User:
        if transfer_to == name:
            raise UsageError(
                f'"{name}" cannot take over their own records; name another, active user',
                [Problem(code="invalid_transfer", field="transfer_to", message="the user being deactivated")],
            )
        if transfer_to == SYSTEM_USER.name:
            raise UsageError(
                '"system" owns no records; name an active user to take them over',
                [Problem(code="invalid_transfer", field="transfer_to", message='"system" cannot own records')],
            )
        try:
            target = self._engine.users.get(transfer_to)
        except NotFoundError:
            raise NotFoundError(
                f'there is no user "{transfer_to}" to take over the records of "{name}"; `crm user list` shows them',
                [Problem(code="unknown_user", field="transfer_to", message=f"no user {transfer_to}")],
            ) from None
        if not target.active:
            raise UsageError(
                f'user "{transfer_to}" is inactive and cannot take over records; reactivate them or name another',
                [Problem(code="invalid_transfer", field="transfer_to", message=f"{transfer_to} is inactive")],
            )
        return target

    def _hand_over(self, tx: Connection, model: CompiledModel | None, name: str, to: str, by: str) -> Handover:
        now = utcnow()
        inserted = tx.execute(
            handovers.insert()
            .values(from_user=name, to_user=to, by=by, reason="deactivate", records={}, at=now)
            .returning(handovers.c.id)
        )
        handover_id = int(inserted.scalar_one())
        system = SystemActor(f"{HANDOVER_REASON} {handover_id}", writes_read_only=True)
        moved: dict[str, int] = {}
        if model is None:  # no definitions applied yet: no records to move
            return Handover(handover_id, name, to, by, "deactivate", moved, now, {})
        records = self._engine.records
        before = {entity: _count(tx, model.table(entity), name) for entity in model.definitions.entities}
        for entity in model.definitions.entities:
            table = model.table(entity)
            # cascades from earlier moves may already have taken some: read what is left
            ids = [r[0] for r in tx.execute(sa.select(table.c.id).where(table.c.owner == name).order_by(table.c.id))]
            for record_id in ids:
                records.update(entity, record_id, {"owner": to}, actor=system, conn=tx)
        for entity, count in before.items():
            left = _count(tx, model.table(entity), name)
            if left:  # a record written meanwhile: nothing may stay with an owner who cannot act
                raise ConflictError(f"{left} {entity} record(s) of {name} changed during the hand-over; try again")
            if count:
                moved[entity] = count
        tx.execute(handovers.update().where(handovers.c.id == handover_id).values(records=moved))
        tables = {entity: model.table(entity) for entity in model.definitions.entities}
        assigned = still_assigned(tx, tables, user_fields(model.definitions), name)
        return Handover(handover_id, name, to, by, "deactivate", moved, now, assigned)


def _require_admin(actor: Actor, what: str) -> None:
    user = user_of(actor)
    if user is not None and not user.is_admin:
        raise PermissionDeniedError(
            f'only administrators may {what}; "{user.name}" is not one',
            [Problem(code="forbidden_operation", field="user", message=f"{what} needs the admin role")],
        )


def _refuse_last_admin(tx: Connection, user: User) -> None:
    """Refuse taking the last active administrator away (nobody could administer then)."""
    if not user.is_admin:
        return
    others = [
        row.name
        for row in tx.execute(
            sa.select(users.c.name, users.c.roles).where(users.c.active.is_(True), users.c.name != user.name)
        )
        if ADMIN_ROLE in (row.roles or ())
    ]
    if not others:
        raise ConflictError(
            f'"{user.name}" is the last active administrator; give another user the admin role first '
            "(`crm user set-roles OTHER admin`)",
            [Problem(code="last_admin", field="name", message="the last active administrator")],
        )


def _count(tx: Connection, table: sa.Table, name: str) -> int:
    return int(tx.execute(sa.select(sa.func.count()).select_from(table).where(table.c.owner == name)).scalar() or 0)


def _owned(tx: Connection, model: CompiledModel | None, name: str) -> dict[str, int]:
    """Entity → records ``name`` owns (only entities where they own some)."""
    if model is None:
        return {}
    counts = {entity: _count(tx, model.table(entity), name) for entity in model.definitions.entities}
    return {entity: n for entity, n in counts.items() if n}


def _handover(row: Any) -> Handover:
    return Handover(
        id=int(row["id"]),
        from_user=row["from_user"],
        to_user=row["to_user"],
        by=row["by"],
        reason=row["reason"],
        records=dict(row["records"] or {}),
        at=row["at"],
    )
