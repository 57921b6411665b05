"""Write many rows fast: ``executemany`` on SQLite, ``COPY FROM STDIN`` on PostgreSQL.

On PostgreSQL a multi-row ``INSERT … RETURNING`` (what an ORM does to learn new ids) is
about 8× slower than plain inserts, and ``COPY`` is faster still; bulk paths never ask
for ids back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def copy_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column → Python value) into ``table`` in the caller's transaction."""
    if not rows:
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for columns, group in groups.items():
        if conn.dialect.name == "postgresql":
            _copy_postgres(conn, table, columns, group)
        else:
            conn.execute(table.insert(), group)


def _copy_postgres(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    from psycopg import sql

    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    import psycopg

    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[c], ensure_ascii=False) if c in json_columns and row[c] is not None else row[c]
                        for c in columns
                    ]
                )
    except psycopg.errors.IntegrityError as exc:
        # the raw cursor bypasses SQLAlchemy; give callers the exception they handle
        raise sa.exc.IntegrityError(str(statement), None, exc) from exc
    if "id" in columns:
        conn.execute(
            sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), (SELECT max(id) FROM " + table.fullname.join('""') + "))"),
            {"t": table.fullname.join('""')},
        )
