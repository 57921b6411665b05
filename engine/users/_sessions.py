"""Admin UI sessions kept on the server, so that they can be ended.

A sign-in starts a session: a random key goes into the (signed) session cookie and only its
SHA-256 into ``crm_sessions``. Every request resolves the key again, joined with the user:
an ended session, an expired one (older than its lifetime, 12 hours unless configured), or
an inactive user, is nobody. Signing out, a password change and a deactivation end every
session of the user, so a copied cookie stops working at once, in every process.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.clock import utcnow
from engine.storage import sessions, users

from ._service import User, user_from_row

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

_MAX_KEY_LENGTH = 256
#: How long a session lasts from its sign-in when nothing else is configured: a working day.
DEFAULT_SESSION_LIFETIME = timedelta(hours=12)
_RESOLVE = (
    sa.select(users)
    .select_from(sessions.join(users, users.c.name == sessions.c.user))
    .where(
        sessions.c.key_hash == sa.bindparam("key_hash"),
        sessions.c.ended_at.is_(None),
        sessions.c.created_at > sa.bindparam("started_after"),
    )
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class SessionService:
    """Start, resolve and end admin sessions (``engine.sessions``)."""

    def __init__(self, engine: CrmEngine, lifetime: timedelta = DEFAULT_SESSION_LIFETIME) -> None:
        self._engine = engine
        self.lifetime = lifetime

    def start(self, user_name: str) -> str:
        """A new session of ``user_name``; returns the key the cookie carries."""
        key = secrets.token_urlsafe(32)
        with self._engine.db.write() as conn:
            conn.execute(sessions.insert().values(key_hash=_digest(key), user=user_name, created_at=utcnow()))
        return key

    def resolve(self, key: str, now: datetime | None = None) -> User | None:
        """The active user of the open, unexpired session ``key``, else ``None``."""
        if not key or len(key) > _MAX_KEY_LENGTH:
            return None
        started_after = (now or utcnow()) - self.lifetime
        with self._engine.db.read() as conn:
            row = conn.execute(_RESOLVE, {"key_hash": _digest(key), "started_after": started_after}).mappings().first()
        if row is None:
            return None
        user = user_from_row(row)
        return user if user.may_act else None

    def end_all(self, user_name: str) -> int:
        """End every open session of ``user_name``; returns how many were open."""
        with self._engine.db.write() as conn:
            result = conn.execute(
                sessions.update()
                .where(sessions.c.user == user_name, sessions.c.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
        return int(result.rowcount or 0)
