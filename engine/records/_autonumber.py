"""Autonumbers: the numbers the engine gives new records, taken from counters in the database.

Each prefix of each autonumber field (the pattern's text before the counter, dates filled
in) has a counter in ``crm_counters`` (``engine.storage``), taken from inside the writing
transaction, so concurrent creates never get the same number. Counters only go up, so the
number of a deleted record is never given again; a number taken by a transaction that rolls
back was never seen, and goes to the next record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.metadata import EntityDef, FieldDef, NumberPattern, field_type, number_pattern
from engine.storage import counter_key, raise_counter, take_numbers

Row = tuple[Any, ...]


def numbered_fields(definition: EntityDef) -> tuple[FieldDef, ...]:
    """The fields of ``definition`` whose values the engine assigns."""
    return tuple(f for f in definition.fields.values() if field_type(f.type).assigned)


def number_record(conn: Connection, definition: EntityDef, values: dict[str, Any], created_at: datetime) -> None:
    """Give a record being created in ``conn`` its numbers: each autonumber field of
    ``definition`` gets its next number in ``values``."""
    day = created_at.date()
    for f in numbered_fields(definition):
        pattern = _pattern(f)
        number = take_numbers(conn, counter_key(definition.name, f.name, pattern.prefix(day)))
        values[f.name] = pattern.render(day, number)


def number_rows(
    conn: Connection, definition: EntityDef, columns: tuple[str, ...], rows: Sequence[Row], created_at: datetime
) -> tuple[tuple[str, ...], list[Row]]:
    """Rows of new records written in bulk (an import, demo data), numbered: ``(columns, rows)``
    with every autonumber field among the columns.

    A row without a number gets the next one, taken for all such rows of a prefix at once; a
    row with one keeps it, and the counter of its prefix moves past the largest number given
    (a number not written in the pattern moves none). Dates come from each row's
    ``created_at`` when it is a column, else from ``created_at``.
    """
    fields = numbered_fields(definition)
    out = list(rows)
    if not fields:
        return columns, out
    created = columns.index("created_at") if "created_at" in columns else None
    days = [(created_at if created is None else r[created]).date() for r in out]
    for f in fields:
        if f.name not in columns:
            columns = (*columns, f.name)
            out = [(*r, None) for r in out]
        at = columns.index(f.name)
        pattern = _pattern(f)
        for prefix, number in _highest_given(pattern, (r[at] for r in out)).items():
            raise_counter(conn, counter_key(definition.name, f.name, prefix), number)
        blanks: dict[str, list[int]] = {}
        for i, r in enumerate(out):
            if r[at] is None:
                blanks.setdefault(pattern.prefix(days[i]), []).append(i)
        for prefix, indexes in blanks.items():
            last = take_numbers(conn, counter_key(definition.name, f.name, prefix), len(indexes))
            for number, i in enumerate(indexes, start=last - len(indexes) + 1):
                r = out[i]
                out[i] = (*r[:at], pattern.render(days[i], number), *r[at + 1 :])
    return columns, out


def _highest_given(pattern: NumberPattern, values: Iterable[Any]) -> dict[str, int]:
    """The largest number given for each prefix, of the values written in ``pattern``."""
    highest: dict[str, int] = {}
    for value in values:
        read = pattern.read(value) if isinstance(value, str) else None
        if read is not None:
            prefix, number = read
            highest[prefix] = max(highest.get(prefix, 0), number)
    return highest


def _pattern(f: FieldDef) -> NumberPattern:
    assert f.number_pattern is not None, f"autonumber field {f.name} without a pattern"
    return number_pattern(f.number_pattern)


def fields_to_number(old: EntityDef | None, new: EntityDef) -> tuple[FieldDef, ...]:
    """The autonumber fields of ``new`` whose stored records need numbers or counters: new ones,
    fields that become autonumbers (their typed numbers stay; the counters move past them), and
    fields whose pattern changed."""
    out = []
    for f in numbered_fields(new):
        before = old.fields.get(f.name) if old is not None else None
        if before is None or before.type != f.type or before.number_pattern != f.number_pattern:
            out.append(f)
    return tuple(out)


def number_existing(conn: Connection, table: Any, definition: EntityDef, f: FieldDef, *, batch: int = 500) -> int:
    """Records stored before ``f`` numbered them: the counters move past every number already
    written in the pattern, then the records without one are numbered in the order they were
    made (their creation dates fill the pattern's dates). Returns how many were numbered."""
    pattern = _pattern(f)
    column = table.c[f.name]
    highest: dict[str, int] = {}
    last = 0
    while True:  # the numbers already there, a batch at a time
        query = sa.select(table.c.id, column).where(table.c.id > last, column.is_not(None))
        found = conn.execute(query.order_by(table.c.id).limit(batch)).all()
        if not found:
            break
        for prefix, number in _highest_given(pattern, (v for _i, v in found)).items():
            highest[prefix] = max(highest.get(prefix, 0), number)
        last = int(found[-1][0])
    for prefix, number in highest.items():
        raise_counter(conn, counter_key(definition.name, f.name, prefix), number)
    numbered = 0
    while True:
        query = sa.select(table.c.id, table.c.created_at).where(column.is_(None))
        blank = conn.execute(query.order_by(table.c.created_at, table.c.id).limit(batch)).all()
        if not blank:
            return numbered
        by_prefix: dict[str, list[tuple[int, date]]] = {}
        for record_id, created_at in blank:
            day = created_at.date()
            by_prefix.setdefault(pattern.prefix(day), []).append((int(record_id), day))
        given = []
        for prefix, records in by_prefix.items():
            top = take_numbers(conn, counter_key(definition.name, f.name, prefix), len(records))
            for number, (record_id, day) in enumerate(records, start=top - len(records) + 1):
                given.append({"record_id": record_id, "number": pattern.render(day, number)})
        update = table.update().where(table.c.id == sa.bindparam("record_id")).values({f.name: sa.bindparam("number")})
        conn.execute(update, given)
        numbered += len(given)
