"""Who makes a request. THE SEAM THE AUTHENTICATION WORK REPLACES.

Until the web layer authenticates, a request acts as the user its ``X-CRM-User`` header
names (who must exist and be active), else as the built-in system administrator, exactly
as the CLI does without ``--as``. Every view asks :func:`current_user`; nothing else reads
the header, so authentication replaces this one function (and its resolution per request).
"""

from __future__ import annotations

from flask import g, request

from engine.errors import NotFoundError, PermissionDeniedError, Problem
from engine.users import SYSTEM_USER, User

from ._problems import UnknownUserError
from ._state import current_engine

USER_HEADER = "X-CRM-User"


def _resolve() -> User:
    name = request.headers.get(USER_HEADER)
    if name is None or not name.strip():
        return SYSTEM_USER
    name = name.strip()
    try:
        user = current_engine().users.get(name)
    except NotFoundError:
        raise UnknownUserError(
            f'{USER_HEADER} names "{name}", who is not a user; create the user first',
            [Problem(code="unknown_user", field=USER_HEADER, message=f'there is no user "{name}"')],
        ) from None
    if not user.active:
        raise UnknownUserError(
            f'user "{name}" is inactive', [Problem(code="inactive_user", field=USER_HEADER, message="inactive user")]
        )
    return user


def current_user() -> User:
    """The user the current request acts as (resolved once per request)."""
    user: User | None = g.get("crm_user")
    if user is None:
        user = _resolve()
        g.crm_user = user
    return user


def require_admin() -> User:
    """The current user, who must hold the admin role (definitions, presets, imports)."""
    user = current_user()
    if not user.is_admin:
        raise PermissionDeniedError(f'"{user.name}" is not an administrator; this operation needs the admin role')
    return user
