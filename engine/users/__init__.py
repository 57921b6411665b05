"""Users and roles."""

from __future__ import annotations

from ._service import ADMIN_ROLE, SYSTEM_USER, User, UserService

__all__ = ["ADMIN_ROLE", "SYSTEM_USER", "User", "UserService"]
