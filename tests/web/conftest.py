"""Fixtures of the web tests: the app and a client on the shared ``engine`` fixture (SQLite and
PostgreSQL), and that engine with the example bundles applied."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.web.web_support import FLOW, SALES


@pytest.fixture
def app(engine: CrmEngine) -> Flask:
    return create_app({"CRM_ENGINE": engine, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sales(engine: CrmEngine) -> CrmEngine:
    """The example CRM (accounts, contacts, opportunities with a pipeline and a scoring)."""
    engine.apply(load_definitions(SALES))
    return engine


@pytest.fixture
def flow(engine: CrmEngine) -> CrmEngine:
    """The workflow tests' order approval and lead pipeline, with their users."""
    engine.apply(load_definitions(FLOW))
    engine.users.create("rita", roles=["rep"], team="east")
    engine.users.create("sam", roles=["secretary"])
    engine.users.create("fiona", roles=["finance"])
    engine.users.create("fred", roles=["fulfilment"])
    return engine
