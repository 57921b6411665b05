"""Users, roles, API tokens, admin sessions and password sign-in."""

from __future__ import annotations

from ._actors import SYSTEM_PREFIX, Actor, SystemActor, owner_of_new, user_of
from ._roles import RoleInUseError, UnknownRoleError, known_roles, refuse_dropped_roles, role_holders
from ._service import ADMIN_ROLE, MIN_PASSWORD_LENGTH, SYSTEM_USER, User, UserService, user_from_row
from ._sessions import DEFAULT_SESSION_LIFETIME, SessionService
from ._sign_in import SignInLimits, SignInService, TooManySignInsError
from ._tokens import TOKEN_PREFIX, ApiToken, TokenService, hash_token

__all__ = [
    "ADMIN_ROLE",
    "DEFAULT_SESSION_LIFETIME",
    "MIN_PASSWORD_LENGTH",
    "SYSTEM_PREFIX",
    "SYSTEM_USER",
    "TOKEN_PREFIX",
    "Actor",
    "ApiToken",
    "RoleInUseError",
    "SessionService",
    "SignInLimits",
    "SignInService",
    "SystemActor",
    "TokenService",
    "TooManySignInsError",
    "UnknownRoleError",
    "User",
    "UserService",
    "hash_token",
    "known_roles",
    "owner_of_new",
    "refuse_dropped_roles",
    "role_holders",
    "user_from_row",
    "user_of",
]
