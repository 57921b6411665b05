"""Automations over HTTP (SQLite and PostgreSQL): the API lists automations and runs, shows a
run with its context, retries a failed run and runs the clock; the admin page shows the same
and its retry button works. Only administrators get any of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.automations import MAX_ATTEMPTS
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.automations import bundle
from tests.support import SYSTEM

PASSWORD = "open sesame"
RANK_LATER = bundle.automation(
    "rank_later",
    "task",
    {"event": "created"},
    [{"set": {"priority": {"+": [{"var": "record.priority"}, 3]}}}],
    mode="background",
    label={"en": "Rank later", "zh": "稍后定级"},
)


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(bundle.write(tmp_path, [bundle.RENEWAL, RANK_LATER])))
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"])):
        engine.users.create(name, roles=roles)
        engine.users.set_password(name, PASSWORD)
    yield engine
    engine.close()


def api(crm: CrmEngine, user: str = "ada") -> FlaskClient:
    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {crm.tokens.create(user, name='tests')}"
    return client


def fail_until_dead(crm: CrmEngine) -> tuple[int, int]:
    """One task whose background run succeeds and one whose run fails for good: their ids."""
    ok = crm.records.create("task", {"title": "Call", "priority": 1}, actor=SYSTEM)
    bad = crm.records.create("task", {"title": "Visit", "priority": 4}, actor=SYSTEM)  # 4 + 3 > maximum 5
    now = datetime.now(UTC)
    for _ in range(MAX_ATTEMPTS):
        crm.automations.run_pending(now=now)
        now += timedelta(days=1)
    return ok["id"], bad["id"]


def test_the_api_lists_automations_and_runs_shows_context_and_retries(crm: CrmEngine) -> None:
    ok, bad = fail_until_dead(crm)
    client = api(crm)

    listed = client.get("/api/v1/automations")
    assert listed.status_code == 200
    by_name = {a["name"]: a for a in listed.json["items"]}
    assert set(by_name) == {"rank_later", "renewal_reminder"}
    assert by_name["rank_later"]["runs"] == {"done": 1, "failed": 1}
    assert by_name["rank_later"]["mode"] == "background" and by_name["rank_later"]["label"]["zh"] == "稍后定级"
    assert by_name["renewal_reminder"]["trigger"] == {"event": "date", "field": "end_date", "offset": "-P60D"}

    failed = client.get("/api/v1/automations/runs?failed=true").json["items"]
    assert [(r["automation"], r["record_id"], r["attempts"]) for r in failed] == [("rank_later", bad, MAX_ATTEMPTS)]
    assert "priority" in failed[0]["error"]
    everything = client.get("/api/v1/automations/runs?automation=rank_later").json["items"]
    assert [r["record_id"] for r in everything] == [bad, ok]  # newest first

    shown = client.get(f"/api/v1/automations/runs/{failed[0]['id']}")
    assert shown.status_code == 200
    assert shown.json["context"]["event"]["type"] == "created" and shown.json["context"]["record_id"] == bad
    assert shown.json["context"]["chain"] == ["rank_later"]

    done = everything[1]["id"]
    refused = client.post(f"/api/v1/automations/runs/{done}/retry")
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"

    crm.records.update("task", bad, {"priority": 0}, actor=SYSTEM)
    retried = client.post(f"/api/v1/automations/runs/{failed[0]['id']}/retry")
    assert retried.status_code == 200 and retried.json["status"] == "done"
    assert crm.records.get("task", bad, actor=SYSTEM)["priority"] == 3
    assert client.get("/api/v1/automations/runs?failed=true").json["items"] == []


def test_the_api_runs_the_clock_once_and_names_what_it_did(crm: CrmEngine) -> None:
    today = datetime.now(UTC).date()
    crm.records.create("agreement", {"title": "Ends soon", "end_date": str(today + timedelta(days=10))}, actor=SYSTEM)
    client = api(crm)
    first = client.post("/api/v1/automations/tick")
    assert first.status_code == 200 and first.json["planned"] == {"renewal_reminder": 1}
    again = client.post("/api/v1/automations/tick")
    assert again.json["planned"] == {}  # idempotent: the occurrence already fired
    tasks = crm.records.list("task", actor=SYSTEM).items
    assert [t["title"] for t in tasks] == ["Renew Ends soon"]


@pytest.mark.parametrize(
    ("method", "url", "status", "user"),
    [
        ("GET", "/api/v1/automations", 403, "rita"),
        ("GET", "/api/v1/automations/runs", 403, "rita"),
        ("POST", "/api/v1/automations/tick", 403, "rita"),
        ("GET", "/api/v1/automations/runs/999", 404, "ada"),
        ("GET", "/api/v1/automations/runs/abc", 404, "ada"),
        ("POST", "/api/v1/automations/runs/999/retry", 404, "ada"),
        ("GET", "/api/v1/automations/runs?automation=rank_latr", 404, "ada"),
        ("GET", "/api/v1/automations/runs?limit=0", 400, "ada"),
        ("GET", "/api/v1/automations/runs?colour=red", 400, "ada"),
    ],
)
def test_bad_requests_are_problems_not_crashes(crm: CrmEngine, method: str, url: str, status: int, user: str) -> None:
    answer = api(crm, user).open(url, method=method)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"


def test_the_unknown_automation_answer_suggests_the_name(crm: CrmEngine) -> None:
    answer = api(crm).get("/api/v1/automations/runs?automation=rank_latr")
    assert "rank_later" in answer.json["detail"]


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def signed_in(crm: CrmEngine, name: str) -> FlaskClient:
    client = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    found = _TOKEN.search(client.get("/admin/login/").get_data(as_text=True))
    assert found
    data = {"csrf_token": found.group(1), "name": name, "password": PASSWORD}
    assert client.post("/admin/login/", data=data).status_code == 302
    return client


def test_the_admin_page_shows_runs_and_retries_a_failed_one(crm: CrmEngine) -> None:
    _ok, bad = fail_until_dead(crm)
    client = signed_in(crm, "ada")
    page = client.get("/admin/automations/").get_data(as_text=True)
    assert 'data-automation="rank_later"' in page and 'data-automation="renewal_reminder"' in page
    assert 'data-status="failed" data-count="1"' in page
    failed_page = client.get("/admin/automations/?failed=1").get_data(as_text=True)
    rows = re.findall(r'data-run="(\d+)" data-status="(\w+)"', failed_page)
    assert len(rows) == 1 and rows[0][1] == "failed"
    assert f"task #{bad}" in failed_page

    crm.records.update("task", bad, {"priority": 1}, actor=SYSTEM)
    csrf = _TOKEN.search(failed_page)
    assert csrf
    answer = client.post(f"/admin/automations/runs/{rows[0][0]}/retry/", data={"csrf_token": csrf.group(1)})
    assert answer.status_code == 302
    assert crm.records.get("task", bad, actor=SYSTEM)["priority"] == 4
    after = client.get("/admin/automations/?failed=1").get_data(as_text=True)
    assert "data-run=" not in after

    crm.users.set_language("ada", "zh")
    zh = client.get("/admin/automations/").get_data(as_text=True)
    assert "稍后定级" in zh and "失败的运行" in zh


def test_the_admin_page_is_for_administrators_only(crm: CrmEngine) -> None:
    assert signed_in(crm, "rita").get("/admin/automations/").status_code == 403
