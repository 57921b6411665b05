"""The admin list's search box searches as the API's ``q=`` does (#10.22): one search, the
records service's, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.web import create_app
from tests.support import SYSTEM
from tests.web.test_web_admin_ui import PASSWORD, sign_in
from tests.web.web_support import API

ACCOUNTS = "/admin/records/account/"
NAMES = {
    "Acme": {"city": "Paris", "website": "https://acme.example.com"},
    "Globex": {"city": "paris"},
    "Initech": {"city": "Lyon", "code": "ACME-2"},
    "Umbrella": {"city": "Berlin"},
}


@pytest.fixture
def admin(sales: CrmEngine) -> FlaskClient:
    for name, values in NAMES.items():
        sales.records.create("account", {"name": name, **values}, actor=SYSTEM)
    sales.users.create("ada", roles=["admin"])
    sales.users.set_password("ada", PASSWORD)
    client = create_app({"CRM_ENGINE": sales, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(client)
    return client


def _listed(client: FlaskClient, search: str) -> set[str]:
    page = client.get(ACCOUNTS, query_string={"search": search}).get_data(as_text=True)
    return {name for name in NAMES if re.search(rf">\s*{name}\s*<", page)}


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("acme", {"Acme", "Initech"}),  # the name, and another text field (the code)
        ("PARIS", {"Acme", "Globex"}),  # any case
        ("acme paris", {"Acme"}),  # every word, each in some field
        ("example.com", {"Acme"}),  # a url field is text too
        ("nothing", set()),
    ],
)
def test_the_admin_search_finds_what_q_finds(
    sales: CrmEngine, admin: FlaskClient, client: FlaskClient, search: str, found: set[str]
) -> None:
    assert _listed(admin, search) == found
    api = client.get(f"{API}/records/account", query_string={"q": search}).get_json()
    assert {r["name"] for r in api["items"]} == found


def test_a_search_the_service_refuses_is_said_on_the_page(admin: FlaskClient) -> None:
    page = admin.get(ACCOUNTS, query_string={"search": " ".join(["w"] * 9)}).get_data(as_text=True)
    assert "at most 8 words" in page
