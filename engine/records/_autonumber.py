"""Autonumbers: the numbers the engine gives new records, taken from counters in the database.

Each prefix of each autonumber field (the pattern's text before the counter, dates filled
in) has a counter in ``crm_counters`` (``engine.storage``), taken from inside the writing
transaction, so concurrent creates never get the same number. Counters only go up, so the
number of a deleted record is never given again; a number taken by a transaction that rolls
back was never seen, and goes to the next record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

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
