"""Users, roles and API tokens."""

from __future__ import annotations

from ._service import ADMIN_ROLE, MIN_PASSWORD_LENGTH, SYSTEM_USER, User, UserService, user_from_row
from ._tokens import TOKEN_PREFIX, ApiToken, TokenService, hash_token

__all__ = [
    "ADMIN_ROLE",
    "MIN_PASSWORD_LENGTH",
    "SYSTEM_USER",
    "TOKEN_PREFIX",
    "ApiToken",
    "TokenService",
    "User",
    "UserService",
    "hash_token",
    "user_from_row",
]
