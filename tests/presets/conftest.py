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
from tests.presets.presets_support import USERS, PresetEngines, load_preset
from tests.support import postgres_schema_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def preset_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetEngines]:
    """``get(preset, backend)``: an engine with the preset applied and the users of ``USERS``."""
    engines: dict[tuple[str, str], CrmEngine] = {}
    schemas: list[Iterator[str]] = []

    def get(preset: str, backend: str) -> CrmEngine:
        key = (preset, backend)
        if key not in engines:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp(preset) / 'crm.db'}"
            else:
                schema = postgres_schema_url()
                url = next(schema)
                schemas.append(schema)
            engine = CrmEngine(url)
            engine.apply(load_preset(preset))
            for name, roles in USERS.items():
                engine.users.create(name, roles=list(roles), team="sales")
            engines[key] = engine
        return engines[key]

    yield get
    for engine in engines.values():
        engine.close()
    for schema in schemas:
        next(schema, None)  # drops the schema


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
