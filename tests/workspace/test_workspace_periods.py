"""The dashboard's periods: named ones against the engine's clock, custom ranges, the period
before each, and the steps a trend is drawn in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.errors import UsageError
from engine.workspace import period_of

NOW = datetime(2026, 5, 14, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "first", "last", "before"),
    [
        ({}, date(2026, 5, 1), date(2026, 5, 31), (date(2026, 4, 1), date(2026, 4, 30))),
        ({"period": "this_month"}, date(2026, 5, 1), date(2026, 5, 31), (date(2026, 4, 1), date(2026, 4, 30))),
        ({"period": "last_month"}, date(2026, 4, 1), date(2026, 4, 30), (date(2026, 3, 1), date(2026, 3, 31))),
        ({"period": "this_quarter"}, date(2026, 4, 1), date(2026, 6, 30), (date(2026, 1, 1), date(2026, 3, 31))),
        ({"period": "last_quarter"}, date(2026, 1, 1), date(2026, 3, 31), (date(2025, 10, 1), date(2025, 12, 31))),
        ({"period": "this_year"}, date(2026, 1, 1), date(2026, 12, 31), (date(2025, 1, 1), date(2025, 12, 31))),
        (
            {"from": "2026-03-10", "to": "2026-03-19"},
            date(2026, 3, 10),
            date(2026, 3, 19),
            (date(2026, 2, 28), date(2026, 3, 9)),
        ),
        ({"period": "custom", "from": "2026-05-02"}, date(2026, 5, 2), date(2026, 5, 14), None),
        ({"period": "this_year", "from": "", "to": ""}, date(2026, 1, 1), date(2026, 12, 31), None),
    ],
)
def test_a_period_and_the_one_before(
    args: dict[str, str], first: date, last: date, before: tuple[date, date] | None
) -> None:
    period = period_of(args, now=NOW)
    assert (period.first, period.last) == (first, last)
    assert period.start == datetime(first.year, first.month, first.day, tzinfo=UTC)
    if before is not None:
        previous = period.previous()
        assert (previous.first, previous.last) == before


@pytest.mark.parametrize(
    "args",
    [{"period": "next_decade"}, {"from": "2026-13-01"}, {"from": "2026-05-10", "to": "2026-05-01"}],
)
def test_a_period_that_is_none_is_refused_with_its_fix(args: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        period_of(args, now=NOW)


def test_a_trend_steps_by_week_up_to_a_quarter_and_by_month_beyond() -> None:
    month = period_of({"period": "this_month"}, now=NOW)
    weeks = month.steps()
    assert weeks[0].first == date(2026, 5, 1) and weeks[0].last == date(2026, 5, 3)  # cut to the period
    assert weeks[1].first == date(2026, 5, 4) and weeks[1].days == 7  # Mondays
    assert weeks[-1].last == date(2026, 5, 31)
    year = period_of({"period": "this_year"}, now=NOW).steps()
    assert [s.first.month for s in year] == list(range(1, 13)) and year[1].last == date(2026, 2, 28)
