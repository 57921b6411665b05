"""What every command shares: the database URL, the acting user, the engine (opened lazily)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import click

from engine.errors import PermissionDeniedError, UsageError
from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER, User


@dataclass
class CliContext:
    database_url: str | None
    actor: str | None
    language: str = "en"
    _engine: CrmEngine | None = field(default=None, repr=False)

    @property
    def engine(self) -> CrmEngine:
        if self._engine is None:
            self._engine = CrmEngine(self.database_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()

    @property
    def user(self) -> User:
        """Who acts: the ``--as`` / ``CRM_USER`` user (who must exist and may act, as for a token
        or a session), else the system administrator."""
        if self.actor is None:
            return SYSTEM_USER
        return self.engine.users.acting(self.actor)

    def require_admin(self, operation: str) -> User:
        """The acting user, who must be an administrator for ``operation`` (as the API and the
        admin UI require): without ``--as`` the system administrator acts.

        :raises PermissionDeniedError: otherwise (exit 7, no traceback).
        """
        acting = self.user
        if not acting.is_admin:
            raise PermissionDeniedError(
                f'"{acting.name}" is not an administrator; {operation} needs the admin role '
                "(run it without --as, or as an administrator)"
            )
        return acting

    @property
    def actor_name(self) -> str:
        """Who the change is recorded as (checked to be a known user)."""
        return self.user.name


pass_context = click.make_pass_decorator(CliContext)


def parse_json_option(value: str | None, option: str) -> Any:
    """Parse a JSON command-line option; a clear usage error (not a traceback) when it is not JSON."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{option} is not valid JSON ({exc.msg} at column {exc.colno}); "
            'quote it for the shell, e.g. --data \'{"name": "Acme"}\''
        ) from None
