"""Merging in the admin UI: the "Merge into…" button, the target picker, the confirm page
saying which value each field keeps, the merge itself, and undo on the merges page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.errors import NotFoundError
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.merge.merge_support import make, set_up
from tests.support import SYSTEM
from tests.web.test_web_admin_ui import PASSWORD, sign_in, token


@pytest.fixture
def book(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    for name in ("boss", "ann"):
        engine.users.set_password(name, PASSWORD)
    return engine


@pytest.fixture
def ui(book: CrmEngine) -> FlaskClient:
    return create_app({"CRM_ENGINE": book, "TESTING": True, "SECRET_KEY": "tests"}).test_client()


def test_merge_and_undo_through_the_pages(book: CrmEngine, ui: FlaskClient) -> None:
    target = make(book, "account", name="Acme", phone="1")
    source = make(book, "account", name="Acme Ltd", phone="2", city="Xi'an")
    contact = make(book, "contact", name="c", account=source)
    sign_in(ui, "boss")
    page = ui.get(f"/admin/records/account/details/?id={source}").get_data(as_text=True)
    assert f"/admin/records/account/merge/?id={source}" in page and "Merge into…" in page
    picker = ui.get(f"/admin/records/account/merge/?id={source}&q=Acme").get_data(as_text=True)
    assert f"into={target}" in picker  # the search lists the other Acme
    url = f"/admin/records/account/merge/?id={source}&into={target}"
    confirm = ui.get(url).get_data(as_text=True)
    assert 'data-field="city" data-winner="source"' in confirm
    assert 'data-field="phone" data-winner="target"' in confirm
    assert "1 × " in confirm  # the contact that moves
    done = ui.post(
        "/admin/records/account/merge/",
        data={"csrf_token": token(ui, url), "id": source, "into": target, "take": ["phone"]},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"details/?id={target}")
    record = book.records.get("account", target, actor=SYSTEM)
    assert (record["phone"], record["city"]) == ("2", "Xi'an")
    assert book.records.get("contact", contact, actor=SYSTEM)["account"] == target
    merges = ui.get("/admin/merges/").get_data(as_text=True)
    assert 'class="crm-merge" data-id="1"' in merges and "Undo" in merges
    undone = ui.post("/admin/merges/undo/", data={"csrf_token": token(ui, "/admin/merges/"), "id": 1})
    assert undone.status_code == 302
    assert book.records.get("account", source, actor=SYSTEM)["phone"] == "2"
    assert "Undone" in ui.get("/admin/merges/").get_data(as_text=True)


def test_refusals_come_back_as_messages(book: CrmEngine, ui: FlaskClient) -> None:
    theirs = make(book, "account", name="Theirs")
    mine = book.records.create("account", {"name": "Mine"}, actor=book.users.get("ann"))["id"]
    sign_in(ui, "ann")
    url = f"/admin/records/account/merge/?id={mine}&into={theirs}"
    page = ui.get(url, follow_redirects=True).get_data(as_text=True)
    assert "Merge" in page
    posted = ui.post(
        "/admin/records/account/merge/",
        data={"csrf_token": token(ui, f"/admin/records/account/merge/?id={mine}"), "id": mine, "into": theirs},
        follow_redirects=True,
    )
    assert posted.status_code == 200
    assert "alert-danger" in posted.get_data(as_text=True)
    assert book.records.get("account", mine, actor=SYSTEM)["name"] == "Mine"
    with pytest.raises(NotFoundError):
        book.merges.get(1, actor=SYSTEM)
    # a crafted post without a token changes nothing
    assert ui.post("/admin/records/account/merge/", data={"id": mine, "into": theirs}).status_code == 302
    assert book.records.get("account", mine, actor=SYSTEM)["name"] == "Mine"
