"""The admin UI: the users page deactivates with a hand-over and reactivates (administrators
only); the record page offers a pool record's claim button to those who may claim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.web import create_app
from tests.ownership.ownership_support import USERS, make, owner, set_up

PASSWORD = "open sesame"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    for name in USERS:
        engine.users.set_password(name, PASSWORD)
    return engine


def _token(client: FlaskClient, url: str) -> str:
    found = _TOKEN.search(client.get(url).get_data(as_text=True))
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def _signed_in(crm: CrmEngine, name: str) -> FlaskClient:
    client = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    data = {"csrf_token": _token(client, "/admin/login/"), "name": name, "password": PASSWORD}
    assert client.post("/admin/login/", data=data).status_code == 302
    return client


def test_the_users_page_hands_over_and_reactivates(crm: CrmEngine) -> None:
    account = make(crm, "account", "ann", name="Acme")
    admin = _signed_in(crm, "boss")
    page = admin.get("/admin/users/").get_data(as_text=True)
    assert 'data-user="ann"' in page and "Deactivate" in page
    csrf = _token(admin, "/admin/users/")
    refused = admin.post("/admin/users/deactivate/", data={"csrf_token": csrf, "name": "ann"}, follow_redirects=True)
    assert "transfer" in refused.get_data(as_text=True) and crm.users.get("ann").active  # owns records: refused
    done = admin.post(
        "/admin/users/deactivate/",
        data={"csrf_token": csrf, "name": "ann", "transfer_to": "bob"},
        follow_redirects=True,
    )
    assert "1 record(s) handed to bob" in done.get_data(as_text=True)
    assert not crm.users.get("ann").active and owner(crm, "account", account) == "bob"
    assert 'data-handover="1"' in done.get_data(as_text=True)
    admin.post("/admin/users/reactivate/", data={"csrf_token": csrf, "name": "ann"})
    assert crm.users.get("ann").active


def test_the_users_page_is_for_administrators(crm: CrmEngine) -> None:
    assert _signed_in(crm, "ann").get("/admin/users/").status_code == 403


def test_a_pool_record_has_a_claim_button(crm: CrmEngine) -> None:
    pooled = make(crm, "account", None, name="Pool Ltd")
    ann = _signed_in(crm, "ann")
    url = f"/admin/records/account/details/?id={pooled}"
    assert "crm-claim" in ann.get(url).get_data(as_text=True)
    assert _signed_in(crm, "cleo").get(url).status_code == 404  # no claim limit: the pool is not hers to see
    claimed = ann.post("/admin/records/account/claim/", data={"csrf_token": _token(ann, url), "id": str(pooled)})
    assert claimed.status_code == 302 and owner(crm, "account", pooled) == "ann"
    assert "crm-claim" not in ann.get(url).get_data(as_text=True)


def test_the_picker_and_the_deal_page_show_the_customer_read_via(crm: CrmEngine) -> None:
    customer = make(crm, "account", "carl", name="Customer of the deal")
    make(crm, "account", "carl", name="Other customer")
    deal = make(crm, "deal", "ann", title="Pumps", account=customer)
    ann = _signed_in(crm, "ann")
    offered = ann.get("/admin/records/deal/ajax/lookup/?name=account&query=").get_json()
    assert [text for _, text in offered] == ["Customer of the deal"]
    page = ann.get(f"/admin/records/deal/details/?id={deal}").get_data(as_text=True)
    assert "Customer of the deal" in page  # the name, not a bare id
