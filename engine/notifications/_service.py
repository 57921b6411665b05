"""Notifications: the users a ``notify`` action names, a row for each in the caller's
transaction, their email after the commit, and what each user reads and marks read.

Who a recipient is, decided here once for every caller (workflow actions, automations):

- ``owner`` and ``{"field": F}``: the user named by the record's field (empty: nobody);
- ``{"role": R}``: every active user holding R;
- ``{"user": NAME}``: that user.

Unknown and deactivated users are skipped (a field may name someone who left), and a user
named twice is notified once. The system user receives nothing.
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import NotFoundError, Problem
from engine.logic import CompiledRule, compile_rule
from engine.metadata import Recipient
from engine.storage import notifications, unit_of, users
from engine.users import User, user_from_row

from ._mail import Mailer, OutgoingMail

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: The most notifications one page lists.
MAX_PAGE = 200
_TITLE_LENGTH = 2000


@dataclass(frozen=True)
class Notification:
    """One row of ``crm_notifications``."""

    id: int
    user: str
    topic: str
    title: str
    message: str | None
    entity: str | None
    record_id: int | None
    actor: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat()
        out["read_at"] = self.read_at.isoformat() if self.read_at is not None else None
        out["read"] = self.read
        return out


@functools.lru_cache(maxsize=256)
def _compiled(where: str) -> CompiledRule:
    """A ``children`` recipient's ``where`` (JSON text), compiled once per process."""
    return compile_rule(json.loads(where))


class NotificationService:
    """In-app notifications of one engine, and their email when ``mailer`` is given."""

    def __init__(self, engine: CrmEngine, *, mailer: Mailer | None = None) -> None:
        self._engine = engine
        self.mailer = mailer

    # -- sending ------------------------------------------------------------------------------
    def send(
        self,
        conn: Connection,
        *,
        to: Sequence[Recipient],
        entity: str,
        record: Mapping[str, Any],
        topic: str,
        title: str | None = None,
        message: str | None = None,
        actor: str,
        data: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Notify the users ``to`` names about ``record`` inside ``conn``'s transaction; the ids
        of the rows written. Email goes out after the commit (never after a rollback) to the
        recipients who have an address.

        :param title: what the notification says in a line (the topic when ``None``).
        :param actor: who did what notifies (a user, or ``system:…``).
        :param data: what the action's rules read (``record``, ``user``, ``now`` …), which a
            ``children`` recipient's ``where`` reads too, beside ``child``.
        """
        recipients = self.recipients(conn, to, record, data=data)
        if not recipients:
            return []
        now = utcnow()
        heading = (title or topic)[:_TITLE_LENGTH]
        rows = [
            {
                "user": user.name,
                "topic": topic,
                "title": heading,
                "message": message,
                "entity": entity,
                "record_id": record.get("id"),
                "actor": actor,
                "created_at": now,
                "read_at": None,
            }
            for user in recipients
        ]
        insert = notifications.insert().returning(notifications.c.id, sort_by_parameter_order=True)
        ids = [int(i) for i in conn.execute(insert, rows).scalars()]
        mailer = self.mailer
        if mailer is not None:
            body = _mail_body(message, entity, record, actor)
            mails = [OutgoingMail(u.email, heading, body) for u in recipients if u.email]
            if mails:
                unit_of(conn).after_commit(lambda: mailer.deliver(mails))
        return ids

    def recipients(
        self,
        conn: Connection,
        to: Sequence[Recipient],
        record: Mapping[str, Any],
        *,
        data: Mapping[str, Any] | None = None,
    ) -> list[User]:
        """The active users ``to`` names for ``record``, each once, in the order named."""
        named: list[str] = []
        roles: list[str] = []
        for recipient in to:
            if recipient.kind == "children":
                named.extend(self._children_users(conn, recipient, record, data or {"record": record}))
            elif recipient.kind == "owner" or recipient.kind == "field":
                value = record.get("owner" if recipient.kind == "owner" else recipient.name)
                if isinstance(value, str) and value:
                    named.append(value)
            elif recipient.kind == "user":
                named.append(recipient.name)
            else:
                roles.append(recipient.name)
        if not named and not roles:
            return []
        query = sa.select(users).where(users.c.active == sa.true())
        if not roles:
            query = query.where(users.c.name.in_(set(named)))
        found = [user_from_row(row) for row in conn.execute(query.order_by(users.c.name)).mappings()]
        by_name = {u.name: u for u in found}
        chosen: dict[str, User] = {}
        for name in named:
            if name in by_name:
                chosen.setdefault(name, by_name[name])
        for role in roles:
            for user in found:
                if role in user.roles:
                    chosen.setdefault(user.name, user)
        return list(chosen.values())

    def _children_users(
        self, conn: Connection, recipient: Recipient, record: Mapping[str, Any], data: Mapping[str, Any]
    ) -> list[str]:
        """The user names in ``recipient.name`` of the children of ``record`` it names."""
        assert recipient.entity is not None and recipient.reference is not None
        table = self._engine.model.table(recipient.entity)
        query = sa.select(table).where(table.c[recipient.reference] == record["id"]).order_by(table.c.id)
        rows = [dict(row) for row in conn.execute(query).mappings()]
        if recipient.where is not None:
            rule = _compiled(recipient.where)
            rows = [row for row in rows if rule.evaluate({**data, "child": row})]
        return [value for row in rows if isinstance(value := row.get(recipient.name), str) and value]

    # -- reading ------------------------------------------------------------------------------
    def list(
        self, user: str, *, unread_only: bool = False, limit: int = 50, before_id: int | None = None
    ) -> builtins.list[Notification]:
        """``user``'s notifications, newest first: at most ``limit`` (capped at
        :data:`MAX_PAGE`), those with an id below ``before_id`` when given (the next page)."""
        c = notifications.c
        query = sa.select(notifications).where(c.user == user)
        if unread_only:
            query = query.where(c.read_at.is_(None))
        if before_id is not None:
            query = query.where(c.id < before_id)
        query = query.order_by(c.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
        with self._engine.db.read() as conn:
            return [_notification(row) for row in conn.execute(query).mappings()]

    def all_users(
        self, *, unread_only: bool = False, limit: int = 50, before_id: int | None = None
    ) -> builtins.list[Notification]:
        """Everyone's notifications, newest first (for administrators: ``crm notifications``)."""
        c = notifications.c
        query = sa.select(notifications)
        if unread_only:
            query = query.where(c.read_at.is_(None))
        if before_id is not None:
            query = query.where(c.id < before_id)
        query = query.order_by(c.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
        with self._engine.db.read() as conn:
            return [_notification(row) for row in conn.execute(query).mappings()]

    def unread_count(self, user: str) -> int:
        """How many of ``user``'s notifications are unread."""
        c = notifications.c
        query = sa.select(sa.func.count()).select_from(notifications).where(c.user == user, c.read_at.is_(None))
        with self._engine.db.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def get(self, user: str, notification_id: int) -> Notification:
        """``user``'s notification ``notification_id``.

        :raises NotFoundError: when there is none, or it is someone else's (which is not told).
        """
        c = notifications.c
        query = sa.select(notifications).where(c.id == notification_id, c.user == user)
        with self._engine.db.read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise _not_found(notification_id)
        return _notification(row)

    def mark_read(self, user: str, ids: Sequence[int] | Literal["all"]) -> int:
        """Mark ``user``'s notifications ``ids`` (or ``"all"``) read; how many were unread.

        :raises NotFoundError: when an id is not one of ``user``'s notifications (nothing is
            marked then).
        """
        c = notifications.c
        now = utcnow()
        with self._engine.db.write() as conn:
            if ids == "all":
                mine = c.user == user
            else:
                wanted = set(ids)
                found = set(conn.execute(sa.select(c.id).where(c.user == user, c.id.in_(wanted))).scalars())
                missing = sorted(wanted - found)
                if missing:
                    raise _not_found(missing[0])
                mine = sa.and_(c.user == user, c.id.in_(wanted))
            done = conn.execute(notifications.update().where(mine, c.read_at.is_(None)).values(read_at=now))
            return int(done.rowcount or 0)


def _not_found(notification_id: int) -> NotFoundError:
    return NotFoundError(
        f"there is no notification {notification_id} of yours",
        [Problem(code="not_found", field="id", message=f"no notification {notification_id} of yours")],
    )


def _notification(row: Any) -> Notification:
    return Notification(
        id=int(row["id"]),
        user=row["user"],
        topic=row["topic"],
        title=row["title"],
        message=row["message"],
        entity=row["entity"],
        record_id=row["record_id"],
        actor=row["actor"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


def _mail_body(message: str | None, entity: str, record: Mapping[str, Any], actor: str) -> str:
    lines = [message] if message else []
    lines.append(f"{entity} {record.get('id')}, by {actor}")
    return "\n\n".join(lines) + "\n"
