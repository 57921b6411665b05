"""Notifications over HTTP (SQLite and PostgreSQL): the API's list, unread count and mark-read
(someone else's notification is 404), the OpenAPI document, and the admin UI's bell and page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER
from engine.web import create_app
from tests.notifications import bundle
from tests.support import SYSTEM

PASSWORD = "open sesame"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = bundle.make(database_url, tmp_path)
    for n in range(3):
        engine.records.create("deal", {"title": f"Huge {n}", "amount": 2_000_000}, actor=SYSTEM)
    approved = engine.records.create("deal", {"title": "华信 ERP", "owner": "wang.fang"}, actor=SYSTEM)
    engine.workflows.run("deal", approved["id"], "approve", user=SYSTEM_USER)
    yield engine
    engine.close()


@pytest.fixture
def app(crm: CrmEngine) -> Flask:
    return create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"})


def api(app: Flask, crm: CrmEngine, user: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {crm.tokens.create(user, name='tests')}"
    return client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    return body


def test_the_api_lists_the_callers_notifications_newest_first_in_pages(app: Flask, crm: CrmEngine) -> None:
    client = api(app, crm, "wang.fang")
    first = client.get("/api/v1/notifications?limit=2")
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert [n["title"] for n in body["items"]] == ["Deal approved: 华信 ERP", "Big deal: Huge 2"]
    assert body["unread"] == 4 and all(n["user"] == "wang.fang" for n in body["items"])
    assert first.headers["Link"] == f'<{body["next"]}>; rel="next"'

    second = client.get(body["next"]).get_json()
    assert [n["title"] for n in second["items"]] == ["Big deal: Huge 1", "Big deal: Huge 0"]
    assert second["next"] is None

    assert client.get("/api/v1/notifications/unread-count").get_json() == {"unread": 4}


def test_marking_read_one_and_all(app: Flask, crm: CrmEngine) -> None:
    client = api(app, crm, "wang.fang")
    newest = client.get("/api/v1/notifications").get_json()["items"][0]
    marked = client.post(f"/api/v1/notifications/{newest['id']}/read")
    assert marked.status_code == 200, marked.get_data(as_text=True)
    assert marked.get_json()["read"] is True and marked.get_json()["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=true").get_json()
    assert [n["title"] for n in unread["items"]] == ["Big deal: Huge 2", "Big deal: Huge 1", "Big deal: Huge 0"]
    assert client.get("/api/v1/notifications/unread-count").get_json() == {"unread": 3}

    everything = client.post("/api/v1/notifications/read")
    assert everything.get_json() == {"marked": 3, "unread": 0}
    assert client.get("/api/v1/notifications/unread-count").get_json() == {"unread": 0}
    assert api(app, crm, "li.na").get("/api/v1/notifications/unread-count").get_json() == {"unread": 4}


def test_another_users_notification_is_not_found(app: Flask, crm: CrmEngine) -> None:
    theirs = crm.notifications.list("li.na")[0]
    client = api(app, crm, "wang.fang")
    assert problem(client.post(f"/api/v1/notifications/{theirs.id}/read"), 404)["code"] == "not_found"
    problem(client.post("/api/v1/notifications/99999999/read"), 404)
    problem(client.post("/api/v1/notifications/abc/read"), 404)
    assert crm.notifications.get("li.na", theirs.id).read is False


def test_bad_requests_are_problems(app: Flask, crm: CrmEngine) -> None:
    client = api(app, crm, "wang.fang")
    problem(client.get("/api/v1/notifications?unread=maybe"), 400)
    problem(client.get("/api/v1/notifications?limit=0"), 400)
    problem(client.get("/api/v1/notifications?user=li.na"), 400)  # no peeking at others
    assert problem(client.get("/api/v1/notifications?cursor=forged"), 400)["code"] == "invalid_cursor"
    next_of_all = client.get("/api/v1/notifications?limit=1").get_json()["next"]
    cursor = next_of_all.split("cursor=")[1]
    problem(client.get(f"/api/v1/notifications?unread=true&cursor={cursor}"), 400)  # another list's cursor
    problem(app.test_client().get("/api/v1/notifications"), 401)


def test_the_openapi_document_describes_the_notification_operations(app: Flask, crm: CrmEngine) -> None:
    spec = api(app, crm, "wang.fang").get("/api/v1/openapi.json").get_json()
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "notifications.list",
        "notifications.unread_count",
        "notifications.mark_read",
        "notifications.mark_all_read",
    } <= operations
    assert "404" in spec["paths"]["/notifications/{notification_id}/read"]["post"]["responses"]


# -- admin UI --------------------------------------------------------------------------------------


def signed_in(app: Flask, crm: CrmEngine, name: str) -> FlaskClient:
    crm.users.set_password(name, PASSWORD)
    client = app.test_client()
    found = _TOKEN.search(client.get("/admin/login/").get_data(as_text=True))
    assert found
    data = {"csrf_token": found.group(1), "name": name, "password": PASSWORD}
    assert client.post("/admin/login/", data=data).status_code == 302
    return client


def bell(page: str) -> str:
    found = re.search(r'<a id="notifications-bell"[^>]*>(.*?)</a>', page, re.S)
    assert found, "no bell in the top bar"
    return found.group(1)


def test_the_bell_shows_the_unread_count_and_the_page_marks_read(app: Flask, crm: CrmEngine) -> None:
    client = signed_in(app, crm, "wang.fang")
    assert 'data-unread="4"' in bell(client.get("/admin/").get_data(as_text=True))

    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert "Deal approved: 华信 ERP" in page and "Please book the deal." in page
    assert "4 unread" in page and "Mark all read" in page
    token = _TOKEN.search(page)
    assert token
    newest = crm.notifications.list("wang.fang")[0]
    client.post("/admin/notifications/read/", data={"csrf_token": token.group(1), "id": str(newest.id)})
    assert 'data-unread="3"' in bell(client.get("/admin/notifications/").get_data(as_text=True))

    client.post("/admin/notifications/read/", data={"csrf_token": token.group(1), "all": "1"})
    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert "data-unread" not in bell(page) and "0 unread" in page
    # without a CSRF token nothing is marked
    crm.records.create("deal", {"title": "Huge 3", "amount": 3_000_000}, actor=SYSTEM)
    client.post("/admin/notifications/read/", data={"all": "1"})
    assert crm.notifications.unread_count("wang.fang") == 1


def test_the_page_speaks_chinese(app: Flask, crm: CrmEngine) -> None:
    crm.users.set_language("li.na", "zh")
    page = signed_in(app, crm, "li.na").get("/admin/notifications/").get_data(as_text=True)
    assert "通知" in page and "4 条未读" in page and "全部标为已读" in page and "标为已读" in page


def test_someone_elses_notification_cannot_be_marked_from_the_page(app: Flask, crm: CrmEngine) -> None:
    client = signed_in(app, crm, "wang.fang")
    token = _TOKEN.search(client.get("/admin/notifications/").get_data(as_text=True))
    assert token
    theirs = crm.notifications.list("li.na")[0]
    client.post("/admin/notifications/read/", data={"csrf_token": token.group(1), "id": str(theirs.id)})
    assert crm.notifications.get("li.na", theirs.id).read is False
