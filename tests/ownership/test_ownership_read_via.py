"""``read_via``: a rep reads the customer and the contact of their own deals, through every
read path alike (get, list, filter, count, search, export, report, reference display), and
nothing more: no other account, no update, and nothing once the deal points elsewhere."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engine.errors import NotFoundError, PermissionDeniedError
from engine.records import display_texts
from engine.reports import run_report
from engine.runtime import CrmEngine
from engine.transfer import export_csv
from engine.web import create_app
from tests.ownership.ownership_support import make, set_up, user
from tests.support import acting_for


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    return engine


@pytest.fixture
def ids(crm: CrmEngine) -> dict[str, int]:
    """carl's customer and contact on ann's deal, and carl's other customer ann has no deal with."""
    customer = make(crm, "account", "carl", name="Customer of the deal")
    contact = make(crm, "contact", "carl", name="Buyer", account=customer)
    other = make(crm, "account", "carl", name="Other customer")
    hidden_contact = make(crm, "contact", "carl", name="Stranger", account=other)
    deal = make(crm, "deal", "ann", title="Pumps", account=customer, contact=contact)
    return {"customer": customer, "contact": contact, "other": other, "stranger": hidden_contact, "deal": deal}


def _names(crm: CrmEngine, entity: str, **options: object) -> list[str]:
    page = crm.records.list(entity, actor=user(crm, "ann"), sort="id", **options)  # type: ignore[arg-type]
    return [r.get("name") for r in page.items]


def test_get_list_filter_count_and_search_agree(crm: CrmEngine, ids: dict[str, int]) -> None:
    ann = user(crm, "ann")
    assert crm.records.get("account", ids["customer"], actor=ann)["name"] == "Customer of the deal"
    assert crm.records.get("contact", ids["contact"], actor=ann)["name"] == "Buyer"
    with pytest.raises(NotFoundError):
        crm.records.get("account", ids["other"], actor=ann)
    with pytest.raises(NotFoundError):
        crm.records.get("contact", ids["stranger"], actor=ann)
    assert _names(crm, "account") == ["Customer of the deal"]
    assert crm.records.list("account", actor=ann, limit=0).total == 1  # the count agrees
    assert _names(crm, "account", where={"name": {"contains": "customer"}}) == ["Customer of the deal"]
    assert _names(crm, "account", search="Other") == []
    assert _names(crm, "contact") == ["Buyer"]
    # a filter through the reference sees the same accounts
    deals = crm.records.list("deal", where={"account.name": {"contains": "deal"}}, actor=ann)
    assert [d["id"] for d in deals.items] == [ids["deal"]]


def test_reference_display_export_and_report_agree(crm: CrmEngine, ids: dict[str, int], tmp_path: Path) -> None:
    ann = user(crm, "ann")
    texts = display_texts(crm.records, "account", [ids["customer"], ids["other"]], ann)
    assert texts == {ids["customer"]: "Customer of the deal"}  # no "#49" for the deal's customer
    target = tmp_path / "accounts.csv"
    assert export_csv(crm, "account", target, actor=ann) == 1
    with target.open(encoding="utf-8") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["Customer of the deal"]
    result = run_report(crm, "accounts_per_owner", actor=ann)
    assert [(r["owner"], r["accounts"]) for r in result.rows] == [("carl", 1)]


def test_read_via_gives_no_update(crm: CrmEngine, ids: dict[str, int]) -> None:
    with pytest.raises(PermissionDeniedError):
        crm.records.update("account", ids["customer"], {"name": "Mine now"}, actor=user(crm, "ann"))
    with pytest.raises(PermissionDeniedError):
        crm.records.update("account", ids["customer"], {"owner": "ann"}, actor=user(crm, "ann"))


def test_read_via_runs_no_transitions(crm: CrmEngine, ids: dict[str, int]) -> None:
    ann = user(crm, "ann")
    assert crm.workflows.check("account", ids["customer"], ann) == []
    with pytest.raises(PermissionDeniedError):
        crm.workflows.run("account", ids["customer"], "win", user=ann)
    own = make(crm, "account", "ann", name="Her own")
    assert [c.name for c in crm.workflows.check("account", own, ann)] == ["win"]
    crm.workflows.run("account", own, "win", user=ann)


def test_reading_ends_when_the_deal_points_elsewhere(crm: CrmEngine, ids: dict[str, int]) -> None:
    crm.records.update("deal", ids["deal"], {"account": ids["other"]}, actor=acting_for("ann"))
    assert _names(crm, "account") == ["Other customer"]
    with pytest.raises(NotFoundError):
        crm.records.get("account", ids["customer"], actor=user(crm, "ann"))


def test_roles_without_read_via_read_only_their_own(crm: CrmEngine, ids: dict[str, int]) -> None:
    make(crm, "deal", "cleo", title="Valves", account=ids["customer"])
    assert crm.records.list("account", actor=user(crm, "cleo")).total == 0
    assert crm.records.list("account", actor=user(crm, "bob")).total == 0  # a rep without deals


def test_the_api_and_the_admin_picker_agree(crm: CrmEngine, ids: dict[str, int]) -> None:
    app = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"})
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {crm.tokens.create('ann')}"}
    listed = client.get("/api/v1/records/account", headers=bearer).get_json()
    assert [r["name"] for r in listed["items"]] == ["Customer of the deal"] and listed["total"] == 1
    assert client.get(f"/api/v1/records/account/{ids['other']}", headers=bearer).status_code == 404
    changed = client.patch(f"/api/v1/records/account/{ids['customer']}", json={"name": "x"}, headers=bearer)
    assert changed.status_code == 403 and changed.mimetype == "application/problem+json"
