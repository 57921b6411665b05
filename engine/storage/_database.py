"""Database connections: URL handling, SQLite pragmas, read and write transactions.

SQLite is the embedded default (a ``crm.db`` file); PostgreSQL is the production database.
Both are reached through one :class:`Database` so that services never branch on the
dialect for transactions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from engine.errors import UsageError

from ._unit import UNIT_OPTION, UnitOfWork

DEFAULT_URL = "sqlite:///crm.db"
#: How long a SQLite writer waits for the file lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | None) -> str:
    """Resolve the database URL: explicit, else ``CRM_DATABASE_URL``, else ``crm.db`` here.

    ``postgresql://`` and ``postgres://`` mean psycopg 3; a bare file path means SQLite.
    """
    url = url or os.environ.get("CRM_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = "sqlite:///" + url
    return url


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling does not emit BEGIN before DDL and cannot do
    # BEGIN IMMEDIATE; take it over as SQLAlchemy's documentation recommends, so that DDL
    # is transactional (a failed migration rolls back) and writers queue on the lock
    # instead of failing with "database is locked" when they upgrade from read to write.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("crm_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


#: The package extra that installs each dialect's driver.
DRIVER_EXTRAS = {"postgresql": "postgres"}


def _missing_driver(url: str, exc: ImportError) -> str:
    dialect = sa.engine.make_url(url).get_backend_name()
    extra = DRIVER_EXTRAS.get(dialect)
    driver = exc.name or "its driver"
    if extra is None:
        return f"cannot use database URL {url!r}: {driver} is not installed"
    return (
        f"cannot use a {dialect} database: its driver ({driver}) is not installed; "
        f"install it with: pip install 'crm-engine[{extra}]'"
    )


class Database:
    """A SQLAlchemy engine plus the engine's transaction conventions."""

    def __init__(self, url: str | None = None, **engine_options: Any) -> None:
        self.url = normalize_url(url)
        self._subscriber: Callable[[UnitOfWork], None] | None = None
        self._settler: Callable[[Connection, UnitOfWork], None] | None = None
        try:
            self.engine: Engine = sa.create_engine(self.url, **engine_options)
        except ImportError as exc:
            raise UsageError(_missing_driver(self.url, exc)) from None
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
            raise UsageError(
                f"cannot use database URL {self.url!r}: {exc}. "
                "Use sqlite:///path/to/file.db or postgresql://user@host:port/dbname."
            ) from exc
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        The connection carries the transaction's :class:`UnitOfWork` (see :func:`unit_of`): its
        events reach the outbox just before the commit and the subscriber just after it.

        On SQLite it takes the write lock at BEGIN (``BEGIN IMMEDIATE``).
        """
        with self.engine.connect() as conn:
            unit = UnitOfWork(conn)
            conn = conn.execution_options(crm_write=True, **{UNIT_OPTION: unit})
            with conn.begin():
                yield conn
                if self._settler is not None and unit.events:
                    self._settler(conn, unit)
                unit.flush()
            self._committed(unit)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (rolled back at the end)."""
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    @contextmanager
    def migration(self) -> Iterator[Connection]:
        """A write transaction for schema changes.

        SQLite's table rebuilds (Alembic batch mode) drop and recreate tables; with foreign
        keys enforced, dropping a referenced table would cascade into its children. So
        enforcement is switched off for the migration (it must be done outside a
        transaction) and ``PRAGMA foreign_key_check`` verifies integrity before commit.
        """
        if not self.is_sqlite:
            with self.write() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                unit = UnitOfWork(conn)
                conn = conn.execution_options(crm_write=True, **{UNIT_OPTION: unit})
                with conn.begin():
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        tables = sorted({row[0] for row in broken})
                        raise UsageError(
                            "the schema change would leave references to missing records in " + ", ".join(tables)
                        )
                    unit.flush()
            finally:
                raw.execute("PRAGMA foreign_keys = ON")
            self._committed(unit)

    def subscribe(self, subscriber: Callable[[UnitOfWork], None]) -> None:
        """Hand every committed unit of work to ``subscriber`` (which then runs its callbacks).

        Without a subscriber the callbacks run by themselves.
        """
        self._subscriber = subscriber

    def before_commit(self, settler: Callable[[Connection, UnitOfWork], None]) -> None:
        """Hand every write's unit of work to ``settler`` just before its events reach the
        outbox, inside its transaction (transaction-mode automations): what ``settler``
        writes and emits commits or rolls back with the rest; raising refuses the write.

        Schema migrations are not handed over: they change the shape of the data, not the data.
        """
        self._settler = settler

    def _committed(self, unit: UnitOfWork) -> None:
        if not unit.events and not unit.callbacks:
            return
        if self._subscriber is not None:
            self._subscriber(unit)
        else:
            for callback in unit.callbacks:
                callback()

    def dispose(self) -> None:
        self.engine.dispose()
