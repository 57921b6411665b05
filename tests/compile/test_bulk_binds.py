"""The bulk writer's bind processors store exactly what SQLAlchemy's own would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.compile import ExactDecimal, UTCDateTime, bulk_bind_processor

SAMPLES: list[tuple[Any, list[Any]]] = [
    (
        UTCDateTime(),
        [
            None,
            datetime(2024, 1, 2, 3, 4, 5),
            datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))),
            datetime(1, 1, 1, tzinfo=UTC),
        ],
    ),
    (sa.Date(), [None, date(2024, 2, 29), date(24, 1, 2), datetime(2024, 1, 2, 3, 4)]),
    (
        ExactDecimal(18, 2),
        [None, Decimal("12.50"), Decimal("-0.01"), Decimal("0"), Decimal("123.456"), 7, 2.5, "3.10"],
    ),
    (ExactDecimal(6, 3), [Decimal("-49.999"), Decimal("1E+2")]),
    (sa.Boolean(), [None, True, False]),
    (sa.String(), [None, "x"]),
]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize(("column_type", "values"), SAMPLES, ids=lambda v: type(v).__name__)
def test_bulk_processors_match_sqlalchemy(dialect: Any, column_type: Any, values: list[Any]) -> None:
    own = column_type._cached_bind_processor(dialect)
    bulk = bulk_bind_processor(column_type, dialect)
    for value in values:
        expected = own(value) if own is not None else value
        got = bulk(value) if bulk is not None else value
        assert got == expected and type(got) is type(expected), value
