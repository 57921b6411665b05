"""Deactivating a user hands their book over: every record moves (cascades included) as one
hand-over with an id; the user is refused at once everywhere; the refusals change nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.errors import ConflictError, NotFoundError, PermissionDeniedError, UsageError
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.ownership.ownership_support import make, owner, set_up, user
from tests.support import acting_for

PASSWORD = "open sesame"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    return engine


def _book(crm: CrmEngine) -> dict[str, list[int]]:
    """ann's book, with one of bob's contacts under her account and a pool account."""
    account = make(crm, "account", "ann", name="Acme")
    other = make(crm, "account", "ann", name="Beta")
    return {
        "account": [account, other],
        "contact": [make(crm, "contact", "ann", name="Wang", account=account)],
        "deal": [make(crm, "deal", "ann", title="Pumps", account=account)],
        "note": [make(crm, "note", "ann", text="call back", account=other)],
        "bobs": [make(crm, "contact", "bob", name="Li", account=account)],
        "pool": [make(crm, "account", None, name="Nobody's")],
    }


def _owned_by(crm: CrmEngine, name: str) -> int:
    total = 0
    with crm.db.read() as conn:
        for entity in crm.model.definitions.entities:
            table = crm.model.table(entity)
            total += int(conn.execute(sa.select(sa.func.count()).where(table.c.owner == name)).scalar() or 0)
    return total


def test_every_record_moves_in_one_handover(crm: CrmEngine) -> None:
    book = _book(crm)
    deactivated, handover = crm.handovers.deactivate("ann", transfer_to="carl", actor=user(crm, "boss"))
    assert not deactivated.active
    assert handover is not None
    assert handover.records == {"account": 2, "contact": 1, "deal": 1, "note": 1}
    assert handover.by == "boss" and handover.from_user == "ann" and handover.to_user == "carl"
    assert _owned_by(crm, "ann") == 0
    assert {owner(crm, e, i) for e in ("account", "contact", "deal", "note") for i in book[e]} == {"carl"}
    assert owner(crm, "contact", book["bobs"][0]) == "bob" and owner(crm, "account", book["pool"][0]) is None
    # listed, and every move audited as the hand-over
    assert [h.id for h in crm.handovers.list()] == [handover.id] == [h.id for h in crm.handovers.list(user="carl")]
    trail = crm.records.audit("note", book["note"][0], actor=acting_for("boss"))
    assert [r["actor"] for r in trail if r["field"] == "owner" and r["action"] == "update"] == [
        f"system:handover {handover.id}"
    ]


def test_a_user_without_records_needs_no_transfer(crm: CrmEngine) -> None:
    deactivated, handover = crm.handovers.deactivate("cleo", transfer_to=None, actor=user(crm, "boss"))
    assert not deactivated.active and handover is None
    assert crm.handovers.reactivate("cleo", actor=user(crm, "boss")).active


@pytest.mark.parametrize(
    ("name", "transfer_to", "error", "code"),
    [
        ("ann", None, ConflictError, "owns_records"),
        ("ann", "ann", UsageError, "invalid_transfer"),
        ("ann", "ghost", NotFoundError, "unknown_user"),
        ("ann", "cleo", UsageError, "invalid_transfer"),  # cleo is made inactive first
        ("boss", "carl", ConflictError, "last_admin"),
        ("system", "carl", UsageError, "reserved_name"),
    ],
)
def test_refusals_change_nothing(
    crm: CrmEngine, name: str, transfer_to: str | None, error: type[Exception], code: str
) -> None:
    _book(crm)
    crm.users.set_active("cleo", False)
    before = _owned_by(crm, "ann")
    with pytest.raises(error) as refused:
        crm.handovers.deactivate(name, transfer_to=transfer_to, actor=user(crm, "boss"))
    assert [p.code for p in refused.value.problems] == [code]  # type: ignore[attr-defined]
    assert _owned_by(crm, "ann") == before and crm.users.get("ann").active
    assert crm.handovers.list() == []


def test_only_administrators_deactivate(crm: CrmEngine) -> None:
    with pytest.raises(PermissionDeniedError):
        crm.handovers.deactivate("bob", transfer_to="carl", actor=user(crm, "ann"))
    assert crm.users.get("bob").active


def test_an_administrator_may_go_when_another_remains(crm: CrmEngine) -> None:
    crm.users.create("second", roles=["admin"])
    assert not crm.handovers.deactivate("boss", transfer_to=None, actor=user(crm, "second"))[0].active
    with pytest.raises(ConflictError):
        crm.handovers.deactivate("second", transfer_to=None, actor=user(crm, "second"))


def test_reactivating_an_active_user_is_refused(crm: CrmEngine) -> None:
    with pytest.raises(ConflictError):
        crm.handovers.reactivate("ann", actor=user(crm, "boss"))


def _app(engine: CrmEngine) -> Flask:
    return create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"})


def _sign_in(client: FlaskClient, name: str) -> int:
    found = _CSRF.search(client.get("/admin/login/").get_data(as_text=True))
    assert found
    data = {"csrf_token": found.group(1), "name": name, "password": PASSWORD}
    return client.post("/admin/login/", data=data).status_code


def test_deactivation_refuses_token_session_and_sign_in_at_once_in_another_process(
    crm: CrmEngine, database_url: str
) -> None:
    _book(crm)
    crm.users.set_password("ann", PASSWORD)
    with CrmEngine(database_url) as elsewhere:  # a second web worker on the same database
        worker = _app(elsewhere)
        token = elsewhere.tokens.create("ann")
        api = worker.test_client()
        bearer = {"Authorization": f"Bearer {token}"}
        # her two accounts and the pool's one
        assert api.get("/api/v1/records/account", headers=bearer).get_json()["total"] == 3
        browser = worker.test_client()
        assert _sign_in(browser, "ann") == 302
        assert browser.get("/admin/").status_code == 200

        # the first worker deactivates ann over the API
        admin = _app(crm).test_client()
        admin_token = crm.tokens.create("boss")
        answer = admin.post(
            "/api/v1/users/ann/deactivate",
            json={"transfer_to": "bob"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["handover"]["records"]["account"] == 2

        refused = api.get("/api/v1/records/account", headers=bearer)
        assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
        assert browser.get("/admin/").status_code == 302  # to the sign-in page
        assert _sign_in(worker.test_client(), "ann") == 401  # the sign-in is refused
        # reactivated: the token works again, the ended session does not
        assert (
            admin.post("/api/v1/users/ann/reactivate", headers={"Authorization": f"Bearer {admin_token}"}).status_code
            == 200
        )
        assert api.get("/api/v1/records/account", headers=bearer).get_json()["total"] == 1  # her book stayed with bob
        assert browser.get("/admin/").status_code == 302


def test_the_api_refuses_as_problems(crm: CrmEngine) -> None:
    _book(crm)
    client = _app(crm).test_client()
    admin = {"Authorization": f"Bearer {crm.tokens.create('boss')}"}
    rep = {"Authorization": f"Bearer {crm.tokens.create('bob')}"}
    cases = [
        ("/api/v1/users/ann/deactivate", {}, admin, 409, "owns_records"),
        ("/api/v1/users/ann/deactivate", {"transfer_to": "ghost"}, admin, 404, "unknown_user"),
        ("/api/v1/users/ann/deactivate", {"transfer_to": 7}, admin, 400, "type"),
        ("/api/v1/users/ann/deactivate", {"transfer_to": "carl"}, rep, 403, None),
        ("/api/v1/users/nobody/reactivate", None, admin, 404, None),
    ]
    for url, body, headers, status, code in cases:
        answer = client.post(url, json=body, headers=headers) if body is not None else client.post(url, headers=headers)
        assert answer.status_code == status, (url, answer.get_data(as_text=True))
        assert answer.mimetype == "application/problem+json"
        if code is not None:
            assert code in [p.get("code") for p in answer.get_json().get("errors", [])], answer.get_json()
    listed = client.get("/api/v1/handovers", headers=admin)
    assert listed.status_code == 200 and listed.get_json() == {"items": []}


def test_a_handover_before_any_definitions_moves_nothing(engine: CrmEngine) -> None:
    engine.users.create("admin1", roles=["admin"])
    engine.users.create("leaver")
    engine.users.create("taker")
    _, handover = engine.handovers.deactivate("leaver", transfer_to="taker", actor=engine.users.get("admin1"))
    assert handover is not None and handover.records == {} and not engine.users.get("leaver").active
