"""API tokens: opaque bearer tokens for the REST API, stored only as a SHA-256 hash.

A token is ``crm_`` followed by 43 URL-safe characters (``secrets.token_urlsafe(32)``), so
a leaked one is recognisable in logs and by secret scanners. :meth:`TokenService.create`
returns it once; afterwards only its hash, name and dates are kept. A token acts as its
user, with that user's current roles: deactivating the user disables every token.

:meth:`TokenService.resolve` may answer from a per-process memory of recent lookups
(``max_age`` seconds old at most; the web layer uses the definitions reload interval,
one second): a busy client then skips the hash lookup and the ``last_used_at`` write. The
token's user is still read on every use (one primary-key lookup), so a revocation, a
deactivation or a role change made by any process counts on the next request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import NotFoundError, Problem, UsageError
from engine.storage import api_tokens, users

from ._service import SYSTEM_USER, User, user_from_row

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

TOKEN_PREFIX = "crm_"
MAX_EXPIRES_DAYS = 3650
#: ``last_used_at`` is written at most this often per token, so a busy client does not
#: turn every read request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 256
#: Tokens remembered per process at most (a lookup past it starts the memory afresh).
_MAX_REMEMBERED = 10_000
_RESOLVE = (
    sa.select(api_tokens.c.id, api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at, users)
    .join(users, users.c.name == api_tokens.c.user)
    .where(api_tokens.c.token_hash == sa.bindparam("token_hash"))
)
#: A remembered token checked again on each use: still not revoked, its user still active.
_RECHECK = (
    sa.select(users)
    .select_from(api_tokens.join(users, users.c.name == api_tokens.c.user))
    .where(api_tokens.c.id == sa.bindparam("token_id"), api_tokens.c.revoked_at.is_(None))
)
_TOUCH = api_tokens.update().where(api_tokens.c.id == sa.bindparam("token_id")).values(last_used_at=sa.bindparam("now"))


@dataclass(frozen=True)
class ApiToken:
    """What is known about a token after it was shown: never the token itself."""

    id: int
    user: str
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "user": self.user,
            "name": self.name,
            "status": self.status(),
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
        }


@dataclass(frozen=True)
class _Resolved:
    """A token found valid by a lookup at ``looked_at`` (``time.monotonic()``)."""

    token_id: int
    user: User
    expires_at: datetime | None
    looked_at: float


def hash_token(token: str) -> str:
    """The stored form of a token (hex SHA-256; tokens have 256 random bits, so no salt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenService:
    """Create, list, revoke and resolve API tokens (``engine.tokens``)."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._resolved: dict[str, _Resolved] = {}
        self._lock = threading.Lock()
        # counts revocations here: a lookup that raced one does not remember its answer
        self._revocations = 0

    def create(self, user_name: str, *, name: str | None = None, expires_days: int | None = None) -> str:
        """A new token for ``user_name``, returned in plain text this one time only.

        :param name: a label to recognise the token by (``laptop``, ``ci``).
        :param expires_days: days until it stops working; none means until revoked.
        """
        if user_name == SYSTEM_USER.name:
            raise UsageError(
                '"system" is the built-in administrator and has no tokens; create an admin user '
                "(`crm user create NAME --role admin`) and a token for that user",
                [Problem(code="reserved_name", field="user", message='"system" cannot have tokens')],
            )
        if name is not None and not 0 < len(name) <= 128:
            raise UsageError(
                "a token name has 1 to 128 characters",
                [Problem(code="invalid_name", field="name", message="1 to 128 characters")],
            )
        if expires_days is not None and not 0 < expires_days <= MAX_EXPIRES_DAYS:
            raise UsageError(
                f"expires_days is a whole number of days from 1 to {MAX_EXPIRES_DAYS}",
                [Problem(code="range", field="expires_days", message=f"1 to {MAX_EXPIRES_DAYS} days")],
            )
        user = self._engine.users.get(user_name)
        if not user.active:
            raise UsageError(f'user "{user_name}" is inactive; activate the user before creating a token')
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        with self._engine.db.write() as conn:
            conn.execute(
                api_tokens.insert().values(
                    user=user.name,
                    name=name,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
                )
            )
        return token

    def list(self, user_name: str | None = None, *, include_revoked: bool = True) -> list[ApiToken]:
        """Tokens, oldest first; of one user when ``user_name`` is given."""
        query = sa.select(api_tokens).order_by(api_tokens.c.id)
        if user_name is not None:
            query = query.where(api_tokens.c.user == user_name)
        if not include_revoked:
            query = query.where(api_tokens.c.revoked_at.is_(None))
        with self._engine.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_token(row) for row in rows]

    def get(self, token_id: int) -> ApiToken:
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"there is no API token {token_id}; `crm token list` shows them")
        return _token(row)

    def revoke(self, token_id: int) -> ApiToken:
        """Stop token ``token_id`` from working (at once, in every worker). Revoking twice is harmless."""
        found = self.get(token_id)
        if found.revoked_at is None:
            with self._engine.db.write() as conn:
                conn.execute(
                    api_tokens.update()
                    .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
        with self._lock:
            self._revocations += 1
            for digest in [d for d, r in self._resolved.items() if r.token_id == token_id]:
                del self._resolved[digest]
        return self.get(token_id)

    def forget(self) -> None:
        """Drop what :meth:`resolve` remembers: the next lookup of every token reads the database."""
        with self._lock:
            self._revocations += 1
            self._resolved.clear()

    def resolve(self, token: str, *, max_age: float = 0.0) -> User | None:
        """The active user ``token`` acts as; ``None`` for an unknown, revoked or expired
        token or an inactive user (the caller answers 401 without saying which).

        :param max_age: seconds a successful lookup of this process may be reused for (the
            expiry date is still checked on every call); 0 reads the database every time.
            A token revoked here is forgotten at once; a change made elsewhere counts
            within ``max_age``.
        """
        if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN_LENGTH:
            return None
        digest = hash_token(token)
        now = utcnow()
        if max_age > 0:
            known = self._resolved.get(digest)
            if known is not None and time.monotonic() - known.looked_at < max_age:
                if known.expires_at is not None and known.expires_at <= now:
                    return None
                # the user's state is read on every use (a primary-key lookup): a deactivation
                # or revocation made by any process counts on the next request
                with self._engine.db.read() as conn:
                    fresh = conn.execute(_RECHECK, {"token_id": known.token_id}).mappings().first()
                user = None if fresh is None else user_from_row(fresh)
                if user is None or not user.may_act:
                    self._resolved.pop(digest, None)
                    return None
                return user
        looked_at = time.monotonic()
        revocations = self._revocations
        with self._engine.db.read() as conn:
            row = conn.execute(_RESOLVE, {"token_hash": digest}).mappings().first()
        user = None if row is None else user_from_row(row)
        if (
            row is None
            or user is None
            or row["revoked_at"] is not None
            or not user.may_act
            or (row["expires_at"] is not None and row["expires_at"] <= now)
        ):
            self._resolved.pop(digest, None)
            return None
        if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_RESOLUTION:
            with self._engine.db.write() as conn:
                conn.execute(_TOUCH, {"token_id": row["id"], "now": now})
        with self._lock:
            if revocations == self._revocations:
                if len(self._resolved) >= _MAX_REMEMBERED:
                    self._resolved.clear()
                self._resolved[digest] = _Resolved(int(row["id"]), user, row["expires_at"], looked_at)
        return user


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=int(row["id"]),
        user=row["user"],
        name=row["name"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )
