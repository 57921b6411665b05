"""What every command shares: the database URL, the acting user, the engine (opened lazily)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import click

from engine.errors import UsageError
from engine.runtime import CrmEngine


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
    def actor_name(self) -> str:
        """Who the change is recorded as: ``--as`` / ``CRM_USER``, else the system administrator."""
        return self.actor or "system"


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
            "quote it for the shell, e.g. --data '{\"name\": \"Acme\"}'"
        ) from None
