"""Where the queue lives: one place turns the settings into a Huey instance.

- ``CRM_QUEUE_URL=redis://host:6379/0`` (or ``rediss://``): Redis. Any number of
  ``crm worker`` processes on any number of hosts share it.
- ``CRM_QUEUE_URL=postgresql://…``: tables of a PostgreSQL database.
- ``CRM_QUEUE_URL=sqlite:///path/queue.db``: a SQLite file (one host).
- Unset: next to the database. On SQLite, the file ``<database>-queue.db`` beside the
  database file (a file of its own, so enqueueing never waits for the database's write
  lock); on PostgreSQL, tables ``crm_queue_*`` in the same database, so every host that
  reaches the database shares the queue without another server; an in-memory SQLite
  database gets an in-memory queue (one process).

``CRM_QUEUE_NAME`` (default ``crm``) names the queue inside its storage: CRMs sharing one
Redis (or the tests, in parallel) each take their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from engine.errors import Problem, UsageError

Backend = Literal["sqlite", "redis", "postgres", "memory"]

#: The queue's name when ``CRM_QUEUE_NAME`` is not set.
DEFAULT_QUEUE_NAME = "crm"
#: Prefix of the queue's tables when it lives in a PostgreSQL database.
POSTGRES_TABLE_PREFIX = "crm_queue"


@dataclass(frozen=True)
class QueueSettings:
    """Where the queue is: its backend, the file or URL, and its name."""

    backend: Backend
    location: str
    name: str = DEFAULT_QUEUE_NAME

    @property
    def shared(self) -> bool:
        """Whether workers on other hosts can reach this queue."""
        return self.backend in ("redis", "postgres")

    def describe(self) -> str:
        """Where the queue is, for people (passwords left out)."""
        if self.backend in ("redis", "postgres"):
            return f"{self.backend} {sa.engine.make_url(self.location).render_as_string(hide_password=True)}"
        return f"{self.backend} {self.location}"

    def build(self) -> Any:
        """A Huey instance on this storage (results are kept in ``crm_jobs``, not in Huey)."""
        from huey import MemoryHuey, RedisHuey, SqliteHuey
        from huey.api import Huey
        from huey.storage import PostgresStorage

        options: dict[str, Any] = {"results": False, "utc": True}
        if self.backend == "redis":
            return RedisHuey(self.name, url=self.location, **options)
        if self.backend == "sqlite":
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
            return SqliteHuey(self.name, filename=self.location, **options)
        if self.backend == "postgres":
            return Huey(
                self.name,
                storage_class=PostgresStorage,
                dsn=self.location,
                table_prefix=POSTGRES_TABLE_PREFIX,
                **options,
            )
        return MemoryHuey(self.name, **options)


def _libpq_url(url: sa.engine.URL) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it (no ``+driver``; query kept)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _bad_url(value: str, why: str) -> UsageError:
    return UsageError(
        f"CRM_QUEUE_URL {value!r}: {why}; use redis://host:6379/0, postgresql://user@host/db or sqlite:///path/queue.db",
        [Problem(code="invalid_queue_url", field="CRM_QUEUE_URL", message=why)],
    )


def queue_settings(database_url: str, environ: Mapping[str, str] | None = None) -> QueueSettings:
    """The queue for the database at ``database_url`` (SQLAlchemy URL), given the environment.

    :raises UsageError: when ``CRM_QUEUE_URL`` is not a queue URL the engine knows.
    """
    env = os.environ if environ is None else environ
    name = env.get("CRM_QUEUE_NAME") or DEFAULT_QUEUE_NAME
    configured = env.get("CRM_QUEUE_URL")
    if configured:
        scheme = configured.split("://", 1)[0].lower() if "://" in configured else ""
        if scheme in ("redis", "rediss", "unix"):
            return QueueSettings("redis", configured, name)
        if scheme.startswith(("postgres", "postgresql")):
            try:
                url = sa.engine.make_url(configured.replace("postgres://", "postgresql://", 1))
            except sa.exc.ArgumentError as exc:
                raise _bad_url(configured, str(exc)) from None
            return QueueSettings("postgres", _libpq_url(url), name)
        if scheme == "sqlite":
            path = configured.split("://", 1)[1].removeprefix("/")
            if not path or path == ":memory:":
                raise _bad_url(configured, "a SQLite queue needs a file path")
            return QueueSettings("sqlite", path, name)
        raise _bad_url(configured, f"unknown queue scheme {scheme or configured!r}")
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return QueueSettings("postgres", _libpq_url(url), name)
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return QueueSettings("memory", ":memory:", name)
    file = Path(database)
    return QueueSettings("sqlite", str(file.with_name(f"{file.stem}-queue.db")), name)
