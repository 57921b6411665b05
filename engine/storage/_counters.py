"""The counters of ``crm_counters``: taken from, raised, renamed with what they count.

A counter is keyed by :func:`counter_key` (``sales_order.number:SO-2025-``). Taking numbers is
one ``INSERT … ON CONFLICT (key) DO UPDATE SET value = value + n RETURNING value`` in the
caller's transaction: on PostgreSQL it locks the counter's row until the commit, on SQLite the
transaction already holds the write lock (``BEGIN IMMEDIATE``), so concurrent writers never
take the same number. A counter only goes up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ._system_tables import counters


def counter_key(entity: str, field: str, prefix: str) -> str:
    """The key of the counter of one prefix of one autonumber field."""
    return f"{entity}.{field}:{prefix}"


def _upsert(conn: Connection) -> Callable[..., Any]:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def take_numbers(conn: Connection, key: str, count: int = 1) -> int:
    """Take ``count`` numbers from the counter ``key`` (created at 0); returns the last one,
    so the numbers taken are ``last - count + 1`` to ``last``."""
    insert = _upsert(conn)(counters).values(key=key, value=count)
    statement = insert.on_conflict_do_update(
        index_elements=[counters.c.key], set_={"value": counters.c.value + insert.excluded.value}
    ).returning(counters.c.value)
    return int(conn.execute(statement).scalar_one())


def raise_counter(conn: Connection, key: str, number: int) -> None:
    """Move the counter ``key`` to ``number`` unless it is past it already (an imported number)."""
    insert = _upsert(conn)(counters).values(key=key, value=number)
    higher = sa.case((counters.c.value < insert.excluded.value, insert.excluded.value), else_=counters.c.value)
    conn.execute(insert.on_conflict_do_update(index_elements=[counters.c.key], set_={"value": higher}))


def rename_counters(conn: Connection, entity: str, previous: str, *, field: str | None = None) -> None:
    """Carry the counters of a renamed entity (``previous`` → ``entity``), or of its renamed
    field (``previous`` → ``field``), over to the new name, so that numbering goes on."""
    old, new = (f"{previous}.", f"{entity}.") if field is None else (f"{entity}.{previous}:", f"{entity}.{field}:")
    key = counters.c.key
    conn.execute(
        counters.update()
        .where(key.startswith(old, autoescape=True))
        .values(key=sa.literal(new) + sa.func.substr(key, len(old) + 1))
    )
