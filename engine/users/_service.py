"""Users: who acts, with which roles and team. Roles gate workflow transitions (and, with the
web layer, permissions); teams scope assignment and row visibility."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from engine.clock import utcnow
from engine.errors import ConflictError, NotFoundError, PermissionDeniedError, Problem, UsageError
from engine.storage import users

from ._roles import refuse_roles, role_problems

if TYPE_CHECKING:
    from engine.metadata import Definitions
    from engine.runtime import CrmEngine

ADMIN_ROLE = "admin"
MIN_PASSWORD_LENGTH = 4
#: Checked against when a name is unknown, so both paths cost one scrypt verification.
_DUMMY_HASH = generate_password_hash("not a password")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
#: An address an SMTP server accepts: one @, no spaces or angle brackets, a dot in the domain.
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
MAX_EMAIL_LENGTH = 320


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...] = ()
    team: str | None = None
    display_name: str | None = None
    language: str = "en"
    active: bool = True
    #: where notifications are emailed (none: in the app only)
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    @property
    def may_act(self) -> bool:
        """Whether this user may act at all (with a token, a session or ``crm --as``): the one
        rule every edge asks, so a deactivated user is nobody everywhere at once."""
        return self.active

    def has_any_role(self, roles: tuple[str, ...] | list[str]) -> bool:
        """True when no roles are required, the user is an admin, or holds one of them."""
        return not roles or self.is_admin or bool(set(roles) & set(self.roles))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), "team": self.team}


#: The CLI's actor without ``--as``: a system administrator.
SYSTEM_USER = User(name="system", roles=(ADMIN_ROLE,))


class UserService:
    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    def create(
        self,
        name: str,
        *,
        roles: list[str] | tuple[str, ...] = (),
        team: str | None = None,
        display_name: str | None = None,
        language: str = "en",
        password_hash: str | None = None,
        email: str | None = None,
    ) -> User:
        problems = []
        if not _NAME.match(name or ""):
            problems.append(
                Problem(
                    code="invalid_name",
                    field="name",
                    message="user names are 1-128 letters, digits, _ . @ - and start with a letter or digit",
                )
            )
        if name == SYSTEM_USER.name:
            problems.append(
                Problem(code="reserved_name", field="name", message='"system" is the built-in administrator')
            )
        problems.extend(role_problems(roles, self._live_definitions()))
        if language not in ("en", "zh"):
            problems.append(Problem(code="choice", field="language", message="language is en or zh"))
        if email is not None:
            problems.extend(email_problems(email))
        if problems:
            raise refuse_roles(problems, "invalid user")
        with self._engine.db.write() as conn:
            if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                raise ConflictError(f'user "{name}" already exists')
            conn.execute(
                users.insert().values(
                    name=name,
                    roles=sorted(set(roles)),
                    team=team,
                    display_name=display_name,
                    language=language,
                    password_hash=password_hash,
                    email=email,
                    active=True,
                    created_at=utcnow(),
                )
            )
        return self.get(name)

    def get(self, name: str) -> User:
        if name == SYSTEM_USER.name:
            return SYSTEM_USER
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            raise NotFoundError(f'there is no user "{name}"; create one with `crm user create {name} --role ROLE`')
        return user_from_row(row)

    def acting(self, name: str) -> User:
        """The user ``name`` as the actor of what follows (``crm --as NAME``).

        :raises NotFoundError: when there is no such user.
        :raises PermissionDeniedError: when the user may not act (:attr:`User.may_act`).
        """
        user = self.get(name)
        if not user.may_act:
            raise PermissionDeniedError(f'the user "{name}" is deactivated and cannot act')
        return user

    def list(
        self,
        *,
        role: str | None = None,
        team: str | None = None,
        active_only: bool = True,
        conn: sa.Connection | None = None,
    ) -> list[User]:
        """The users, by name; ``conn`` reads inside a transaction (users it created count)."""
        query = sa.select(users).order_by(users.c.name)
        if conn is not None:
            rows = conn.execute(query).mappings().all()
        else:
            with self._engine.db.read() as read:
                rows = read.execute(query).mappings().all()
        found = [user_from_row(r) for r in rows]
        return [
            u
            for u in found
            if (role is None or role in u.roles) and (team is None or u.team == team) and (u.active or not active_only)
        ]

    def set_password(self, name: str, password: str) -> None:
        """Store a salted scrypt hash of ``password`` (werkzeug); the password itself is never kept.
        Every admin session of the user ends (a copied cookie stops working)."""
        if name == SYSTEM_USER.name:
            raise UsageError('"system" is the built-in administrator and cannot log in')
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UsageError(
                f"passwords have at least {MIN_PASSWORD_LENGTH} characters",
                [Problem(code="too_short", field="password", message=f"at least {MIN_PASSWORD_LENGTH} characters")],
            )
        self.get(name)
        with self._engine.db.write() as conn:
            conn.execute(
                users.update().where(users.c.name == name).values(password_hash=generate_password_hash(password))
            )
        self._engine.sessions.end_all(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The active user whose password this is, else ``None`` (the caller answers 401).

        A hash is checked even for an unknown user, so timing does not tell which names exist.
        """
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
        stored = row["password_hash"] if row is not None else None
        ok = check_password_hash(stored or _DUMMY_HASH, password)
        if row is None or stored is None or not ok:
            return None
        user = user_from_row(row)
        return user if user.may_act else None

    def set_active(self, name: str, active: bool) -> User:
        """Activate or deactivate user ``name``; an inactive user's tokens and sessions stop working
        (a deactivation ends the sessions, so reactivating does not revive them)."""
        if name == SYSTEM_USER.name:
            raise UsageError('"system" is the built-in administrator and is always active')
        self.get(name)
        with self._engine.db.write() as conn:
            conn.execute(users.update().where(users.c.name == name).values(active=active))
        if not active:
            self._engine.sessions.end_all(name)
        self._engine.tokens.forget()  # this process's remembered token lookups carry the old user
        return self.get(name)

    def set_roles(self, name: str, roles: builtins.list[str] | tuple[str, ...], *, team: str | None = None) -> User:
        """Give user ``name`` exactly ``roles`` (and ``team``, when given).

        :raises UnknownRoleError: for a role the applied definitions do not define.
        """
        if name == SYSTEM_USER.name:
            raise UsageError('"system" is the built-in administrator; its roles cannot change')
        problems = role_problems(roles, self._live_definitions())
        if problems:
            raise refuse_roles(problems, f'roles of "{name}" not changed')
        self.get(name)
        with self._engine.db.write() as conn:
            values: dict[str, Any] = {"roles": sorted(set(roles))}
            if team is not None:
                values["team"] = team
            conn.execute(users.update().where(users.c.name == name).values(values))
        self._engine.tokens.forget()
        return self.get(name)

    def _live_definitions(self) -> Definitions | None:
        """The definitions applied to the database now (another process may have applied them)."""
        self._engine.reload()
        return self._engine.model.definitions if self._engine.has_definitions else None

    def set_email(self, name: str, email: str | None) -> User:
        """Store where user ``name``'s notifications are emailed (``None`` or ``""``: nowhere)."""
        if name == SYSTEM_USER.name:
            raise UsageError('"system" is the built-in administrator and receives no notifications')
        email = email or None
        problems = email_problems(email) if email is not None else []
        if problems:
            raise UsageError(problems[0].message, problems)
        self.get(name)
        with self._engine.db.write() as conn:
            conn.execute(users.update().where(users.c.name == name).values(email=email))
        return self.get(name)

    def set_language(self, name: str, language: str) -> User:
        """Store the language (``en`` or ``zh``) the user reads labels in."""
        if language not in ("en", "zh"):
            raise UsageError("language is en or zh", [Problem(code="choice", field="language", message="en or zh")])
        self.get(name)
        with self._engine.db.write() as conn:
            conn.execute(users.update().where(users.c.name == name).values(language=language))
        return self.get(name)


def email_problems(email: str) -> builtins.list[Problem]:
    """The problem of an email address that cannot be mailed to (none when it looks right)."""
    if _EMAIL.match(email) and len(email) <= MAX_EMAIL_LENGTH:
        return []
    message = f"{email!r} is not an email address; write one such as wang.fang@example.com"
    return [Problem(code="invalid_email", field="email", message=message)]


def user_from_row(row: Any) -> User:
    """A :class:`User` from a ``crm_users`` row (mapping)."""
    return User(
        name=row["name"],
        roles=tuple(row["roles"] or ()),
        team=row["team"],
        display_name=row["display_name"],
        language=row["language"],
        active=bool(row["active"]),
        email=row.get("email"),
    )
