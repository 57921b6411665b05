"""A name that names nothing (an entity, a transition, a scoring) is decided in one place each,
for every edge: a usage error (exit 2) with the code ``not_found`` (404 at the API), its
problem code, and a suggestion."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import CrmError, UnknownNameError, UsageError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.web.web_support import SALES


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def sales(engine: CrmEngine) -> CrmEngine:
    engine.apply(load_definitions(SALES))
    return engine


LOOKUPS: dict[str, Callable[[CrmEngine], object]] = {
    "entity": lambda e: e.entity("opportunty"),
    "model-entity": lambda e: e.model.entity("opportunty"),
    "transition": lambda e: e.workflows.find_transition("opportunity", "propse"),
    "scoring": lambda e: e.scoring.find("opportunity", "opportunity_qualty"),
}


@pytest.mark.parametrize(
    ("lookup", "problem", "suggested"),
    [
        ("entity", "unknown_entity", '"opportunity"'),
        ("model-entity", "unknown_entity", '"opportunity"'),
        ("transition", "unknown_transition", '"propose"'),
        ("scoring", "unknown_scoring", '"opportunity_quality"'),
    ],
)
def test_an_unknown_name_is_one_error_with_a_suggestion(
    sales: CrmEngine, lookup: str, problem: str, suggested: str
) -> None:
    with pytest.raises(UnknownNameError) as caught:
        LOOKUPS[lookup](sales)
    error: CrmError = caught.value
    assert isinstance(error, UsageError) and error.exit_code == 2 and error.http_status == 404
    assert error.code == "not_found" and [p.code for p in error.problems] == [problem]
    assert f"Did you mean {suggested}?" in error.message


def test_an_entity_before_any_definitions_is_unknown(engine: CrmEngine) -> None:
    with pytest.raises(UnknownNameError, match="no definitions are applied yet"):
        engine.entity("account")
