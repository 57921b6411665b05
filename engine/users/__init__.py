"""Users, roles, API tokens, admin sessions and password sign-in."""

from __future__ import annotations

from ._service import ADMIN_ROLE, MIN_PASSWORD_LENGTH, SYSTEM_USER, User, UserService, user_from_row
from ._sessions import DEFAULT_SESSION_LIFETIME, SessionService
from ._sign_in import SignInLimits, SignInService, TooManySignInsError
from ._tokens import TOKEN_PREFIX, ApiToken, TokenService, hash_token

__all__ = [
    "ADMIN_ROLE",
    "DEFAULT_SESSION_LIFETIME",
    "MIN_PASSWORD_LENGTH",
    "SYSTEM_USER",
    "TOKEN_PREFIX",
    "ApiToken",
    "SessionService",
    "SignInLimits",
    "SignInService",
    "TokenService",
    "TooManySignInsError",
    "User",
    "UserService",
    "hash_token",
    "user_from_row",
]
