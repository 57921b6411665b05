"""One resolver decides who acts: the REST API takes bearer tokens only, the admin UI its
session only, and a user who may not act is nobody at any edge (``crm --as`` too)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from engine.runtime import CrmEngine
from engine.web import create_app
from engine.web.api._setup import PUBLIC_ENDPOINTS
from tests.support import CliResult
from tests.web.test_web_sessions import PASSWORD, _sign_in
from tests.web.web_support import API, bearer, problem


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def app(engine: CrmEngine) -> Flask:
    for name, role in (("ada", "admin"), ("rita", "rep")):
        engine.users.create(name, roles=[role])
        engine.users.set_password(name, PASSWORD)
    return create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"})


def test_the_admin_ui_acts_as_its_session_whatever_token_is_sent(engine: CrmEngine, app: Flask) -> None:
    headers = bearer(engine.tokens.create("ada", name="tests"))
    stranger = app.test_client()
    assert stranger.get("/admin/", headers=headers).status_code == 302  # a token signs nobody in here
    browser = app.test_client()
    assert _sign_in(browser, "rita") == 302
    assert browser.get("/admin/definitions/", headers=headers).status_code == 403  # rita, not ada


def test_the_api_takes_no_session(app: Flask) -> None:
    browser = app.test_client()
    assert _sign_in(browser, "ada") == 302
    assert problem(browser.get(f"{API}/entities"), 401)["code"] == "unauthorized"


def test_a_deactivated_user_is_nobody_at_every_edge(
    engine: CrmEngine, app: Flask, database_url: str, run_cli: Callable[..., CliResult]
) -> None:
    token = engine.tokens.create("ada", name="tests")
    browser = app.test_client()
    assert _sign_in(browser, "ada") == 302
    assert run_cli("--database-url", database_url, "--as", "ada", "token", "list").exit_code == 0
    engine.users.set_active("ada", False)
    assert app.test_client().get(f"{API}/entities", headers=bearer(token)).status_code == 401
    assert browser.get("/admin/").status_code == 302
    refused = run_cli("--database-url", database_url, "--as", "ada", "token", "list")
    assert refused.exit_code == 7 and "deactivated" in refused.stderr


def test_every_api_view_states_only_its_own_work(app: Flask) -> None:
    """Each view is wrapped by the one preamble (``api._lookup.resolved``)."""
    views = {
        rule.endpoint: app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert views and all(hasattr(view, "__wrapped__") for view in views.values())
    assert set(views) >= PUBLIC_ENDPOINTS
