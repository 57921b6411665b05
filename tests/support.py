"""Helpers shared by the tests: databases (SQLite file and PostgreSQL), bundles on disk, CLI results.

PostgreSQL tests run against ``CRM_TEST_POSTGRES_URL`` (default: the local server,
database ``test``), each test in a schema of its own that is dropped afterwards. Without a
server they skip with the reason; under ``CI=true`` a missing server fails them instead.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.users import SystemActor

POSTGRES_URL = os.environ.get("CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

#: The tests' own reads and writes (setting up data, looking at it): the system, unchecked.
SYSTEM = SystemActor("test")


def acting_for(name: str) -> SystemActor:
    """The tests' system writes recorded as user ``name``'s (their records, unchecked)."""
    return SystemActor("test", on_behalf_of=name)


@cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not available"
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc.__class__.__name__})"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; under CI=true PostgreSQL is required")
    pytest.skip(reason)


def postgres_schema_url() -> Iterator[str]:
    """A URL whose default schema is a fresh, empty schema; dropped afterwards."""
    require_postgres()
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@cache
def redis_unavailable() -> str | None:
    """Why Redis cannot be used here, or None when it can."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:  # any failure to connect means "not available"
        return f"Redis at {REDIS_URL} is not reachable ({exc.__class__.__name__})"
    return None


def redis_queue() -> Iterator[str]:
    """A Redis URL and, in ``CRM_QUEUE_NAME``, a queue name of this test's own (so parallel
    tests never take one another's messages); its keys are deleted afterwards. Skips without
    a server, fails under ``CI=true``."""
    reason = redis_unavailable()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; under CI=true Redis is required")
        pytest.skip(reason)
    import redis

    name = "test" + uuid.uuid4().hex[:12]
    previous = {k: os.environ.get(k) for k in ("CRM_QUEUE_URL", "CRM_QUEUE_NAME")}
    os.environ["CRM_QUEUE_URL"], os.environ["CRM_QUEUE_NAME"] = REDIS_URL, name
    try:
        yield REDIS_URL
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{name}*"))
        if keys:
            client.delete(*keys)
        client.close()


def write_bundle(
    root: Path,
    name: str,
    entities: dict[str, dict[str, Any]],
    *,
    extends: list[str] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write a bundle directory: bundle.json plus one file per entity (``{"fields": ...}``)."""
    bundle = root / name
    bundle.mkdir(parents=True, exist_ok=True)
    for old in bundle.glob("*.json"):
        old.unlink()
    (bundle / "bundle.json").write_text(
        json.dumps({"schema_version": 1, "kind": "bundle", "name": name, "extends": extends or []})
    )
    for entity, doc in entities.items():
        body = {"schema_version": 1, "kind": "entity", "name": entity, **doc}
        (bundle / f"{entity}.json").write_text(json.dumps(body, ensure_ascii=False))
    for filename, doc in (extra or {}).items():
        (bundle / filename).write_text(json.dumps(doc, ensure_ascii=False))
    return bundle


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)
