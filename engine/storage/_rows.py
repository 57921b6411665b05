"""Rows of the engine's own tables (audit, workflow history, outbox) inserted without
SQLAlchemy's per-statement bookkeeping.

Each write transaction appends a few such rows (an audited update: one audit row, one history
row, one outbox event). Going through ``Connection.execute`` costs more than the insert itself
there: a cache-key lookup, an execution context, parameter processing in Python per row. A
:class:`RowInserter` compiles its table's INSERT once per dialect and resolves each column's
bind processor once, then hands the driver exactly what SQLAlchemy would have sent (the same
SQL, the same converted values) on the connection's own cursor, in the same transaction. The
``bulk`` paths of :mod:`engine.transfer._copy` do the same for imported records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: the row keys in the order the statement's parameters take them
    keys: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    #: the statement takes a mapping of parameters (else a tuple)
    named: bool
    #: (key, processor) in parameter order
    plan: tuple[tuple[str, Callable[[Any], Any] | None], ...] = ()


class RowInserter:
    """Inserts rows (mappings with a value for every column but the generated ``id``) into
    ``table`` in the caller's transaction."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.columns = tuple(c.key for c in table.columns if not (c.primary_key and c.autoincrement is not False))
        self._compiled: dict[int, tuple[Dialect, _Compiled]] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        kept = self._compiled.get(id(dialect))
        if kept is not None and kept[0] is dialect:
            return kept[1]
        compiled = self.table.insert().compile(dialect=dialect, column_keys=list(self.columns))
        named = compiled.positiontup is None
        keys = tuple(compiled.binds[name].key for name in (compiled.positiontup or self.columns))
        if sorted(keys) != sorted(self.columns):
            raise RuntimeError(f"unexpected INSERT parameters {keys} for {self.columns}")
        processors = tuple(self.table.c[k].type._cached_bind_processor(dialect) for k in keys)
        found = _Compiled(compiled.string, keys, processors, named, tuple(zip(keys, processors, strict=True)))
        self._compiled[id(dialect)] = (dialect, found)
        return found

    def insert(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (one statement, or one ``executemany``)."""
        if not rows:
            return
        compiled = self._for(conn.dialect)
        plan = compiled.plan
        params: list[Any]
        if compiled.named:
            params = [
                {key: row[key] if processor is None else processor(row[key]) for key, processor in plan} for row in rows
            ]
        else:
            params = [
                tuple([row[key] if processor is None else processor(row[key]) for key, processor in plan])
                for row in rows
            ]
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            if len(params) == 1:
                cursor.execute(compiled.sql, params[0])
            else:
                cursor.executemany(compiled.sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:  # what Connection.execute would raise
            raise sa.exc.DBAPIError.instance(
                compiled.sql, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
            ) from exc
        finally:
            cursor.close()


@dataclass(frozen=True)
class _CompiledStatement:
    sql: str
    keys: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    named: bool
    #: the result's column names and types (none for a statement without rows)
    columns: tuple[tuple[str, sa.types.TypeEngine[Any]], ...]


class HotStatement:
    """A statement run on a hot path (a record read by id, an update guarded by its version):
    compiled once per dialect, its parameters and result columns converted by the processors
    SQLAlchemy itself would use, run on the connection's own cursor in its transaction.

    Only for statements whose parameters are all named ``bindparam`` s given at each call."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[int, tuple[Dialect, _CompiledStatement]] = {}
        self._results: dict[tuple[int, tuple[Any, ...]], tuple[Dialect, tuple[Callable[[Any], Any] | None, ...]]] = {}

    def _for(self, dialect: Dialect) -> _CompiledStatement:
        kept = self._compiled.get(id(dialect))
        if kept is not None and kept[0] is dialect:
            return kept[1]
        compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        names = compiled.positiontup if compiled.positiontup is not None else list(compiled.binds)
        binds = [compiled.binds[n] for n in names]
        if any(b.value is not None or b.callable is not None or b.expanding for b in binds):
            raise RuntimeError("HotStatement takes statements whose parameters are all given at each call")
        found = _CompiledStatement(
            compiled.string,
            tuple(b.key for b in binds),
            tuple(b.type._cached_bind_processor(dialect) for b in binds),
            compiled.positiontup is None,
            tuple((c[0], c[3]) for c in compiled._result_columns),
        )
        self._compiled[id(dialect)] = (dialect, found)
        return found

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[_CompiledStatement, Any]:
        compiled = self._for(conn.dialect)
        values = tuple(
            params[k] if p is None else p(params[k]) for k, p in zip(compiled.keys, compiled.processors, strict=True)
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(compiled.sql, dict(zip(compiled.keys, values, strict=True)) if compiled.named else values)
        except conn.dialect.loaded_dbapi.Error as exc:  # what Connection.execute would raise
            cursor.close()
            raise sa.exc.DBAPIError.instance(
                compiled.sql, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
            ) from exc
        return compiled, cursor

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a dict of converted values (None when there is none)."""
        compiled, cursor = self._run(conn, params)
        try:
            row = cursor.fetchone()
            description = cursor.description
        finally:
            cursor.close()
        if row is None:
            return None
        dialect = conn.dialect
        key = (id(dialect), tuple(d[1] for d in description))
        kept = self._results.get(key)
        if kept is not None and kept[0] is dialect:
            processors = kept[1]
        else:  # the processors SQLAlchemy picks for these columns and the driver's type codes
            processors = tuple(
                t._cached_result_processor(dialect, code) for (_, t), code in zip(compiled.columns, key[1], strict=True)
            )
            self._results[key] = (dialect, processors)
        return {
            name: value if p is None else p(value)
            for (name, _), p, value in zip(compiled.columns, processors, row, strict=True)
        }

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run it; how many rows it changed."""
        _compiled, cursor = self._run(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()
