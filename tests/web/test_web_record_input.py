"""What the API refuses in a record body, on SQLite and PostgreSQL: every problem of a request in
one 422, references to missing or unreadable records, owners that are not users, blank required
texts and text no database stores (after which lists and reads still work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.records.records_support import set_up
from tests.web.conftest import AuthHeaders
from tests.web.web_support import API, problem


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return set_up(engine, tmp_path)


def _errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e.get("field", ""), e["code"]) for e in body["errors"])


def _post_raw(client: FlaskClient, entity: str, text: str, **kwargs: Any) -> Any:
    return client.post(f"{API}/records/{entity}", data=text.encode(), content_type="application/json", **kwargs)


def test_every_problem_of_a_body_in_one_answer(crm: CrmEngine, client: FlaskClient) -> None:
    body = {"title": "  ", "stage": "won", "colour": "red", "account": 999, "owner": "nobody-at-all"}
    refused = problem(client.post(f"{API}/records/deal", json=body), 422)
    assert refused["code"] == "invalid_record"
    assert _errors(refused) == [
        ("account", "unknown_reference"),
        ("colour", "unknown_field"),
        ("owner", "unknown_owner"),
        ("stage", "workflow_field"),
        ("title", "required"),
    ]
    assert all(e["message"] for e in refused["errors"])
    deal = client.post(f"{API}/records/deal", json={"title": "Deal"}).get_json()
    changed = problem(
        client.patch(f"{API}/records/deal/{deal['id']}", json={"stage": "won", "account": 999, "title": ""}), 422
    )
    assert _errors(changed) == [("account", "unknown_reference"), ("stage", "workflow_field"), ("title", "required")]
    assert client.get(f"{API}/records/deal").get_json()["total"] == 1


def test_a_reference_to_a_missing_record_is_422_naming_the_field(crm: CrmEngine, client: FlaskClient) -> None:
    refused = problem(client.post(f"{API}/records/deal", json={"title": "Ghost", "account": 999}), 422)
    assert _errors(refused) == [("account", "unknown_reference")]


def test_a_reference_outside_the_read_scope_answers_like_a_missing_one(
    crm: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    bobs = client.post(f"{API}/records/account", json={"name": "Bob's"}, headers=auth_headers("bob")).get_json()
    missing = bobs["id"] + 1000
    answers = []
    for target in (bobs["id"], missing):
        response = client.post(
            f"{API}/records/deal", json={"title": "Deal", "account": target}, headers=auth_headers("ann")
        )
        body = problem(response, 422)
        answers.append(
            (response.status_code, body["detail"], [e["message"].replace(str(target), "N") for e in body["errors"]])
        )
    assert answers[0] == answers[1]
    assert client.get(f"{API}/records/deal").get_json()["total"] == 0


def test_owner_must_be_an_active_user(crm: CrmEngine, client: FlaskClient) -> None:
    for owner in ("nobody-at-all", "gone"):
        refused = problem(client.post(f"{API}/records/account", json={"name": "A", "owner": owner}), 422)
        assert _errors(refused) == [("owner", "unknown_owner")]
    created = client.post(f"{API}/records/account", json={"name": "A", "owner": "bob"})
    assert created.status_code == 201 and created.get_json()["owner"] == "bob"


@pytest.mark.parametrize("blank", ['""', '"   "'])
def test_a_blank_required_text_is_refused(crm: CrmEngine, client: FlaskClient, blank: str) -> None:
    refused = problem(_post_raw(client, "account", '{"name": ' + blank + "}"), 422)
    assert _errors(refused) == [("name", "required")]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"name": "A\\ud800"}', "name"),
        ('{"name": "A\\u0000"}', "name"),
        ('{"name": "A", "notes": "\\udfff x"}', "notes"),
        ('{"name": "A", "extra": {"k": ["ok", {"deep": "\\ud800"}]}}', "extra"),
        ('{"name": "A", "extra": {"\\ud800": 1}}', "extra"),
        ('{"name": "A", "tags": ["vip", "\\ud800"]}', "tags"),
        ('{"name": "A", "owner": "\\ud800"}', "owner"),
        ('{"name": "A", "\\ud800": 1}', "\\ud800"),
    ],
)
def test_unstorable_text_is_a_4xx_and_the_entity_stays_readable(
    crm: CrmEngine, client: FlaskClient, text: str, field: str
) -> None:
    kept = client.post(f"{API}/records/account", json={"name": "Kept", "extra": {"k": "中文 \U0001f600"}}).get_json()
    refused = problem(_post_raw(client, "account", text), 422)
    assert [e["field"] for e in refused["errors"]] == [field]
    patched = client.patch(f"{API}/records/account/{kept['id']}", data=text.encode(), content_type="application/json")
    assert 400 <= patched.status_code < 500
    listed = client.get(f"{API}/records/account")
    assert listed.status_code == 200 and [r["name"] for r in listed.get_json()["items"]] == ["Kept"]
    read = client.get(f"{API}/records/account/{kept['id']}")
    assert read.status_code == 200 and read.get_json()["extra"] == {"k": "中文 \U0001f600"}
