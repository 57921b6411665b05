"""The period a dashboard looks at: this month, last month, this quarter, last quarter, this
year, or days picked by hand, with the period before it (the same calendar unit before, or as
many days before a custom range) and the steps a trend is drawn in.

Days are UTC days, counted from :func:`engine.clock.utcnow`; a period runs from the start of
its first day to the end of its last (both included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from engine.clock import utcnow
from engine.errors import UsageError

PeriodName = Literal["this_month", "last_month", "this_quarter", "last_quarter", "this_year", "custom"]
#: The periods offered by name, in the order a picker lists them.
PERIODS: tuple[PeriodName, ...] = ("this_month", "last_month", "this_quarter", "last_quarter", "this_year")
#: A custom range may span at most this many days (a trend step is a week up to 92 days, else a month).
MAX_DAYS = 3660


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last``, both included; ``name`` is how a page names it (a period
    with no name of its own, such as the month before last month, is ``custom``)."""

    name: PeriodName
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The last moment of the last day (a list filter's "up to" includes it)."""
        return datetime.combine(self.last, time.max, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, moment: date) -> bool:
        return self.first <= moment <= self.last

    def previous(self) -> Period:
        """The period before: the previous month, quarter or year, or as many days before."""
        if self.name in ("this_month", "last_month"):
            return _month(_add_months(self.first, -1), "last_month" if self.name == "this_month" else "custom")
        if self.name in ("this_quarter", "last_quarter"):
            return _months(_add_months(self.first, -3), 3, "last_quarter" if self.name == "this_quarter" else "custom")
        if self.name == "this_year":
            return Period("custom", date(self.first.year - 1, 1, 1), date(self.first.year - 1, 12, 31))
        return Period("custom", self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def steps(self) -> list[Period]:
        """The trend's steps: ISO weeks (Monday first) for a period up to 92 days, else months;
        the first and last step cut to the period."""
        out: list[Period] = []
        if self.days <= 92:
            day = self.first - timedelta(days=self.first.weekday())
            while day <= self.last:
                out.append(Period("custom", max(day, self.first), min(day + timedelta(days=6), self.last)))
                day += timedelta(days=7)
            return out
        day = self.first.replace(day=1)
        while day <= self.last:
            following = _add_months(day, 1)
            out.append(Period("custom", max(day, self.first), min(following - timedelta(days=1), self.last)))
            day = following
        return out


def period_of(args: Mapping[str, str], *, now: datetime | None = None) -> Period:
    """The period a request names: ``period=<name>``, or ``from=YYYY-MM-DD&to=YYYY-MM-DD``
    (with ``period=custom`` or no period; either end alone: that day to today, or the start
    of that month to that day); this month when it names none.

    :raises UsageError: an unknown period name, a date that is not one, or ``to`` before ``from``.
    """
    today = (now or utcnow()).astimezone(UTC).date()
    first_text, last_text = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    text = (args.get("period") or "").strip()
    if text == "custom" or (not text and (first_text or last_text)):
        last = _day(last_text, "to") if last_text else today
        first = _day(first_text, "from") if first_text else last.replace(day=1)
        if last < first:
            raise UsageError(f"the period ends ({last}) before it starts ({first})")
        if (last - first).days >= MAX_DAYS:
            raise UsageError(f"a period may span at most {MAX_DAYS} days")
        return Period("custom", first, last)
    text = text or "this_month"
    name = next((p for p in PERIODS if p == text), None)
    if name is None:
        raise UsageError(f"unknown period {text!r}: use one of {', '.join(PERIODS)}, or from= and to= dates")
    if name == "this_month":
        return _month(today, name)
    if name == "last_month":
        return _month(_add_months(today.replace(day=1), -1), name)
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    if name == "this_quarter":
        return _months(quarter, 3, name)
    if name == "last_quarter":
        return _months(_add_months(quarter, -3), 3, name)
    return Period(name, date(today.year, 1, 1), date(today.year, 12, 31))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not a date: write it as YYYY-MM-DD") from None


def _month(day: date, name: PeriodName) -> Period:
    return _months(day.replace(day=1), 1, name)


def _months(first: date, count: int, name: PeriodName) -> Period:
    return Period(name, first, _add_months(first, count) - timedelta(days=1))


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
