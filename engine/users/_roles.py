"""Which roles users may hold: the one rule every path that gives or drops roles goes through.

Roles are snake_case names. Once the applied definitions define roles (role documents), a
user may hold only those and the built-in ``admin``: creating a user or setting a user's
roles with any other is refused (``unknown_role``, listing the known roles). Without role
documents roles are free names, as permissions are not enforced then.

The other way round, definitions that stop defining a role some user holds are refused
(``role_in_use``, naming the role and its holders) by ``crm schema diff`` and ``apply``:
the holders are given other roles first. Inactive users count, since activating them again
gives them back their roles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import ConflictError, Problem, UsageError
from engine.metadata import BUILT_IN_ROLES, Definitions
from engine.storage import users
from engine.suggestions import did_you_mean

_ROLE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SET_ROLES_HINT = "`crm user set-roles USER ROLE...`"


class UnknownRoleError(UsageError):
    """A role the applied definitions do not define (or a role name of the wrong form)."""

    code = "unknown_role"


class RoleInUseError(ConflictError):
    """Definitions that drop roles some users still hold."""

    code = "role_in_use"


def known_roles(definitions: Definitions | None) -> tuple[str, ...] | None:
    """The roles users may hold under ``definitions``, sorted; ``None`` when any name goes
    (no definitions applied, or none that define roles)."""
    if definitions is None or not definitions.roles:
        return None
    return tuple(sorted({*definitions.roles, *BUILT_IN_ROLES}))


def role_problems(roles: Iterable[str], definitions: Definitions | None) -> list[Problem]:
    """A problem for each of ``roles`` that is not a role name, or not a role ``definitions``
    define (``field`` is ``roles``)."""
    known = known_roles(definitions)
    problems: list[Problem] = []
    for role in roles:
        if not _ROLE.match(role):
            message = f'role "{role}" must be snake_case (letters, digits, _)'
            problems.append(Problem(code="invalid_role", field="roles", message=message))
        elif known is not None and role not in known:
            hint = did_you_mean(role, known)
            message = (
                f'role "{role}" is not defined by the applied definitions.{hint} Known roles: {", ".join(known)}; '
                "to add a role, add a role document and apply the definitions"
            )
            problems.append(Problem(code="unknown_role", field="roles", message=message))
    return problems


def refuse_roles(problems: list[Problem], message: str) -> UsageError:
    """The error refusing a user change with ``problems`` (``unknown_role`` when any role is
    unknown): raise it. Its message says what was refused; the problems say why."""
    error = UnknownRoleError if any(p.code == "unknown_role" for p in problems) else UsageError
    unknown = [p for p in problems if p.code == "unknown_role"]
    reasons = [p.message for p in problems if p.code != "unknown_role"]
    if unknown:
        reasons.append(f"{len(unknown)} role(s) the applied definitions do not define")
    return error(f"{message}: {'; '.join(reasons)}", problems)


def role_holders(conn: Connection, roles: Iterable[str]) -> dict[str, list[str]]:
    """Each of ``roles`` that some user holds → the names of its holders, sorted."""
    wanted = set(roles)
    held: dict[str, list[str]] = {}
    for name, user_roles in conn.execute(sa.select(users.c.name, users.c.roles).order_by(users.c.name)):
        for role in user_roles or ():
            if role in wanted:
                held.setdefault(role, []).append(name)
    return {role: held[role] for role in sorted(held)}


def refuse_dropped_roles(conn: Connection, old: Definitions | None, new: Definitions) -> None:
    """Raise :class:`RoleInUseError` when ``new`` stops defining a role of ``old`` that users
    hold (dropping every role document drops them all: permissions would stop applying)."""
    if old is None or not old.roles:
        return
    held = role_holders(conn, set(old.roles) - set(new.roles))
    if held:
        raise _in_use(held)


def _in_use(held: Mapping[str, list[str]]) -> RoleInUseError:
    problems = [
        Problem(
            code="role_in_use",
            pointer=f"/roles/{role}",
            message=(
                f'role "{role}" is held by {", ".join(holders)}; give '
                f"{'this user' if len(holders) == 1 else 'these users'} other roles first ({SET_ROLES_HINT}), "
                "or keep the role's document"
            ),
        )
        for role, holders in held.items()
    ]
    names = ", ".join(f'"{role}"' for role in held)
    return RoleInUseError(
        f"the definitions drop role(s) {names} that users still hold, so they cannot be applied; "
        f"reassign those users first ({SET_ROLES_HINT}), then try again",
        problems,
    )
