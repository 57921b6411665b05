"""``/api/v1/webhooks`` and the admin page ``/admin/webhooks/``: administrators manage
subscriptions, see deliveries and replay; the secret is taken once and never answered."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.web import create_app
from engine.webhooks import ALLOW_PRIVATE_ENV
from tests.support import SYSTEM
from tests.web.conftest import AuthHeaders
from tests.web.web_support import error_codes, problem
from tests.webhooks.receiver import Receiver, serve

API = "/api/v1/webhooks"
SECRET = "whsec-api-5d1f0e9b"
PASSWORD = "open sesame"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    yield from serve()


def test_administrators_manage_webhooks_through_the_api(
    sales: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders, receiver: Receiver
) -> None:
    body = {"name": "erp", "url": receiver.url, "secret": SECRET, "entity": "account", "events": ["created"]}
    created = client.post(API, json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert SECRET not in created.get_data(as_text=True)
    assert created.get_json()["events"] == ["created"]
    assert problem(client.post(API, json=body), 409)["code"] == "conflict"
    bad = problem(client.post(API, json={**body, "name": "bad name", "events": ["sent"]}), 422)
    assert sorted(p["field"] for p in bad["errors"]) == ["events", "name"]
    assert "unknown_entity" in error_codes(
        problem(client.post(API, json={**body, "name": "x", "entity": "acount"}), 404)
    )

    sales.records.create("account", {"name": "Sent"}, actor=SYSTEM)
    receiver.statuses = [500]
    sales.webhooks.work()
    listed = client.get(API)
    assert [s["name"] for s in listed.get_json()["items"]] == ["erp"] and SECRET not in listed.get_data(as_text=True)
    failed = client.get(f"{API}/erp/deliveries?failed=true").get_json()["items"]
    assert [(d["status"], d["last_status"]) for d in failed] == [("pending", 500)]
    assert client.post(f"{API}/erp/disable").get_json()["enabled"] is False
    assert client.post(f"{API}/erp/enable").get_json()["enabled"] is True
    assert client.post(f"{API}/erp/replay?since=0").get_json() == {"queued": 1}
    assert problem(client.get(f"{API}/epr"), 404)["code"] == "not_found"
    sales.users.create("rita")
    assert problem(client.get(API, headers=auth_headers("rita")), 403)["code"] == "forbidden"
    assert client.delete(f"{API}/erp").status_code == 204
    assert client.get(API).get_json() == {"items": []}


def test_private_urls_are_refused_with_a_problem_naming_the_url(
    sales: CrmEngine, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    refused = problem(client.post(API, json={"name": "erp", "url": "http://127.0.0.1:9/x", "secret": SECRET}), 422)
    assert refused["code"] == "invalid_webhook_url"
    assert refused["errors"][0]["field"] == "url"


def test_the_admin_page_lists_subscriptions_and_replays_dead_deliveries(sales: CrmEngine, receiver: Receiver) -> None:
    sales.users.create("ada", roles=["admin"])
    sales.users.set_password("ada", PASSWORD)
    from engine.users import SYSTEM_USER

    sales.webhooks.create("erp", url=receiver.url, secret=SECRET, user=SYSTEM_USER)
    sales.records.create("account", {"name": "Dead letter"}, actor=SYSTEM)
    sales.webhooks.fan_out()
    with sales.db.write() as conn:
        from engine.storage import webhook_deliveries

        conn.execute(
            webhook_deliveries.update().values(status="dead", attempts=12, last_status=500, last_error="HTTP 500")
        )
    app: Flask = create_app({"CRM_ENGINE": sales, "TESTING": True, "SECRET_KEY": "tests"})
    ui = app.test_client()
    token = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
    login = token.search(ui.get("/admin/login/").get_data(as_text=True))
    assert login
    ui.post("/admin/login/", data={"csrf_token": login.group(1), "name": "ada", "password": PASSWORD})
    page = ui.get("/admin/webhooks/").get_data(as_text=True)
    assert "erp" in page and "Failed deliveries" in page and "dead" in page and SECRET not in page
    found = token.search(page)
    assert found
    replayed = ui.post("/admin/webhooks/replay/", data={"csrf_token": found.group(1), "name": "erp"})
    assert replayed.status_code == 302
    assert sales.webhooks.work() == 1
    assert len(receiver.requests) == 1
    sales.users.set_language("ada", "zh")
    chinese = ui.get("/admin/webhooks/").get_data(as_text=True)
    assert "最近的推送" in chinese and "重新推送失败项" in chinese
