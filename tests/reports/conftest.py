"""Fixtures of the report tests: the data set of reports_support on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reports_support import seed

from engine.runtime import CrmEngine


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    """The report bundle applied and the data set in, on SQLite and on PostgreSQL."""
    engine = seed(database_url)
    yield engine
    engine.close()
