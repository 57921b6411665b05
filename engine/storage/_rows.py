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
        found = _Compiled(compiled.string, keys, processors, named)
        self._compiled[id(dialect)] = (dialect, found)
        return found

    def insert(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (one statement, or one ``executemany``)."""
        if not rows:
            return
        compiled = self._for(conn.dialect)
        plan = tuple(zip(compiled.keys, compiled.processors, strict=True))
        values = [
            tuple(row[key] if processor is None else processor(row[key]) for key, processor in plan) for row in rows
        ]
        params: list[Any] = [dict(zip(compiled.keys, v, strict=True)) for v in values] if compiled.named else values
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
