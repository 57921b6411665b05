"""Fixtures of the preset tests: one engine per preset and database, applied once.

Applying a preset (15 to 25 tables) takes up to a second, more on PostgreSQL, so the engines are
made once per session and shared: the apply test checks them, the workflow and scoring
tests create their own records in them. SQLite files and PostgreSQL schemas are made and
dropped as by the ``database_url`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.runtime import CrmEngine
from tests.presets.presets_support import USERS, PresetEngines, engines_per_preset, load_preset

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def preset_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetEngines]:
    """``get(preset, backend)``: an engine with the preset applied and the users of ``USERS``."""

    def set_up(engine: CrmEngine, preset: str) -> None:
        engine.apply(load_preset(preset))
        for name, roles in USERS.items():
            engine.users.create(name, roles=list(roles), team="sales")

    with engines_per_preset(tmp_path_factory, set_up) as get:
        yield get


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
