"""The engine's clock: what "now" is for a write.

Every service stamps its writes with :func:`utcnow`. It is the wall clock, except inside
:func:`frozen`, where it is the moment given: demo data generated "as of" a date runs the
automations its records set off at that date, so nothing it writes is later than the rest.
A context variable (not a global) keeps the frozen moment to the thread or task that set it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_FROZEN: ContextVar[datetime | None] = ContextVar("crm_frozen_now", default=None)


def utcnow() -> datetime:
    """Now, in UTC: the frozen moment inside :func:`frozen`, else the wall clock."""
    return _FROZEN.get() or datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Inside the block, :func:`utcnow` is ``at`` (an aware datetime)."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    token = _FROZEN.set(at)
    try:
        yield
    finally:
        _FROZEN.reset(token)
