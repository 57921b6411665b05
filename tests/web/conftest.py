"""Fixtures of the web tests: the app and a client on the shared ``engine`` fixture (SQLite and
PostgreSQL), and that engine with the example bundles applied.

Every API call needs a bearer token: ``client`` sends the token of ``root`` (an administrator)
unless a request names other headers; ``auth_headers("rita")`` gives the headers of a real
token of another user; ``anonymous`` is a client that sends no token at all."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.errors import NotFoundError
from engine.metadata import load_definitions
from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.web.web_support import ADMIN, FLOW, SALES, bearer

AuthHeaders = Callable[[str], dict[str, str]]


@pytest.fixture
def app(engine: CrmEngine) -> Flask:
    return create_app({"CRM_ENGINE": engine, "TESTING": True})


@pytest.fixture
def auth_headers(engine: CrmEngine) -> AuthHeaders:
    """``(user name) -> headers`` with a real API token of that user (created once per name;
    an unknown name is created as an administrator only for ``root``)."""
    tokens: dict[str, str] = {}

    def headers(name: str) -> dict[str, str]:
        if name not in tokens:
            if name == ADMIN:
                try:
                    engine.users.get(ADMIN)
                except NotFoundError:
                    engine.users.create(ADMIN, roles=["admin"])
            tokens[name] = engine.tokens.create(name, name="tests")
        return bearer(tokens[name])

    return headers


@pytest.fixture
def client(app: Flask, auth_headers: AuthHeaders) -> FlaskClient:
    """A client that authenticates as the administrator ``root`` by default."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = auth_headers(ADMIN)["Authorization"]
    return test_client


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    """A client that sends no credentials."""
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


#: A second workflow of ``order`` that also has a transition named ``approve``.
BILLING = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "order_billing",
    "entity": "order",
    "field": "billing",
    "states": {"open": {"initial": True}, "invoiced": {"final": True}},
    "transitions": {"approve": {"from": ["open"], "to": "invoiced", "roles": ["finance"]}},
}


@pytest.fixture
def two_approvals(flow: CrmEngine, tmp_path: Path) -> CrmEngine:
    """The workflow tests' bundle with ``approve`` in two workflows of ``order``."""
    bundle = tmp_path / "bundle"
    shutil.copytree(FLOW, bundle)
    order = json.loads((bundle / "order.json").read_text(encoding="utf-8"))
    order["fields"]["billing"] = {"type": "enum", "choices": ["open", "invoiced"]}
    (bundle / "order.json").write_text(json.dumps(order), encoding="utf-8")
    (bundle / "order_billing.json").write_text(json.dumps(BILLING), encoding="utf-8")
    flow.apply(load_definitions(bundle))
    return flow


# -- the sales workspace (board, my day): the standard-product preset, a little demo data,
# an administrator and a rep, both of team east and signing in with WORKSPACE_PASSWORD
WORKSPACE_PASSWORD = "open sesame"


@pytest.fixture
def standard(engine: CrmEngine) -> CrmEngine:
    load_preset(engine, "standard_product")
    generate_demo(engine, "standard_product", 20, seed=3)
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"])):
        engine.users.create(name, roles=roles, team="east")
        engine.users.set_password(name, WORKSPACE_PASSWORD)
    return engine


@pytest.fixture
def ui(standard: CrmEngine) -> FlaskClient:
    return create_app({"CRM_ENGINE": standard, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
