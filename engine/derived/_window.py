"""Rollup time windows (``"within": {"field": "purchased_at", "period": "P365D"}``) and the
one clock a write or a refresh reads them by.

A window counts the children whose date or datetime field is at or after a bound: for a date
field ``today - period`` (today in UTC, so today itself counts), for a datetime field
``now - period``; children with the field empty do not count. The bound is a bound parameter
of the children's query, computed here from ``now`` and bound through the column's own type,
so both databases compare it the way they store the field (PostgreSQL ``date`` and
``timestamptz``, SQLite ISO text and naive UTC wall time) with no date function of either.

The clock: :func:`clock` pins one ``now`` for everything run inside it (every rollup window and
every compute reading ``now``, across the cascade a write or a refresh sets off); nested
calls keep the outer one. Outside any pin :func:`now` is the current time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.metadata import EntityDef, RollupWindow
from engine.metadata._derived import window_field_type, window_period

_PINNED: ContextVar[datetime | None] = ContextVar("crm_derived_now", default=None)


@dataclass(frozen=True)
class Window:
    """A valid ``within`` compiled: the child's field, whether it is a date, the period."""

    field: str
    is_date: bool
    period: timedelta

    @classmethod
    def of(cls, within: RollupWindow | None, child: EntityDef) -> Window | None:
        if within is None:
            return None
        period = window_period(within.period)
        assert isinstance(period, timedelta), "validation refuses a bad period"
        return cls(within.field, window_field_type(within, child) == "date", period)

    def bound(self, at: datetime) -> date | datetime:
        """The earliest value of the field that still counts at ``at``."""
        moment = at.astimezone(UTC)
        return moment.date() - self.period if self.is_date else moment - self.period

    def condition(self, table: sa.Table, at: datetime) -> sa.ColumnElement[bool]:
        """``field >= bound`` over ``table`` (NULL never satisfies it)."""
        column: sa.ColumnElement[Any] = table.c[self.field]
        return column >= sa.bindparam(None, self.bound(at), type_=column.type)


def now() -> datetime:
    """The pinned ``now`` of the write or refresh running, else the current time."""
    return _PINNED.get() or utcnow()


@contextmanager
def clock(at: datetime | None = None) -> Iterator[datetime]:
    """Pin ``at`` (or, when nothing is pinned yet, the current time) as :func:`now` inside;
    an ``at`` given always wins, a pin already there is kept otherwise."""
    pinned = _PINNED.get()
    chosen = at.astimezone(UTC) if at is not None else pinned or utcnow()
    token = _PINNED.set(chosen)
    try:
        yield chosen
    finally:
        _PINNED.reset(token)
