"""Saved views in the admin UI (SQLite and PostgreSQL): the Views picker of a list and of
the board lists what the user may see, choosing one applies it (filter, sort, columns),
"Save view" keeps the list's filters (owner "me" as @me), and deleting one's own view."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.clock import frozen
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from engine.web.admin._filters import entity_filters
from tests.support import SYSTEM
from tests.views import bundle

PASSWORD = "open sesame"
LIST = "/admin/records/deal/"
BOARD = "/admin/board/deal_flow/"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NOW = datetime(2026, 2, 14, 9, 0, tzinfo=UTC)


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(bundle.write(tmp_path)))
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"]), ("ravi", ["rep"])):
        engine.users.create(name, roles=roles)
        engine.users.set_password(name, PASSWORD)
    for title, owner, close_on, amount in (
        ("Rita Feb", "rita", "2026-02-20", "900"),
        ("Rita Mar", "rita", "2026-03-20", "100"),
        ("Ravi Feb", "ravi", "2026-02-10", "500"),
    ):
        engine.records.create(
            "deal", {"title": title, "owner": owner, "close_on": close_on, "amount": amount}, actor=SYSTEM
        )
    yield engine
    engine.close()


def ui(crm: CrmEngine, name: str) -> FlaskClient:
    client = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    page = client.get("/admin/login/").get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found
    signed = client.post("/admin/login/", data={"csrf_token": found.group(1), "name": name, "password": PASSWORD})
    assert signed.status_code == 302
    return client


def token(client: FlaskClient, url: str) -> str:
    found = _TOKEN.search(client.get(url).get_data(as_text=True))
    assert found, url
    return found.group(1)


def shown(page: str) -> list[str]:
    """The titles of the records listed (the id column links to them too)."""
    found = re.findall(r'<a href="[^"]*details/\?id=\d+[^"]*">([^<]+)</a>', page)
    return [t for t in found if not t.isdigit()]


def options(page: str) -> dict[str, str]:
    picker = re.search(r'<select id="crm-view-picker".*?</select>', page, re.S)
    assert picker, "no Views picker"
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', picker.group(0)))


def test_the_picker_lists_the_views_the_user_may_see_and_applies_one(crm: CrmEngine) -> None:
    ravi_view = crm.views.create({"entity": "deal", "name": "Ravi's"}, user=crm.users.get("ravi"))
    rita = ui(crm, "rita")
    page = rita.get(LIST).get_data(as_text=True)
    assert sorted(shown(page)) == ["Rita Feb", "Rita Mar"]
    found = options(page)
    assert found[""] == "All records"
    assert found["my_deals_this_month"] == "My deals closing this month"
    assert str(ravi_view.id) not in found  # a colleague's personal view
    with frozen(NOW):
        applied = rita.get(LIST + "?view=my_deals_this_month").get_data(as_text=True)
    assert shown(applied) == ["Rita Feb"]
    assert 'value="my_deals_this_month" selected' in applied
    # the view's columns: title, amount, close_on (and the id), not stage or owner
    head = re.search(r"<thead>.*?</thead>", applied, re.S)
    assert head is not None and "Close on" in head.group(0) and "Stage" not in head.group(0)


def test_the_picker_and_save_button_speak_chinese(crm: CrmEngine) -> None:
    crm.users.set_language("rita", "zh")
    page = ui(crm, "rita").get(LIST).get_data(as_text=True)
    assert options(page)[""] == "全部记录"
    assert options(page)["my_deals_this_month"] == "我本月成交的商机"
    assert "保存视图" in page and "视图名称" in page


def test_save_view_keeps_the_filters_and_me_becomes_at_me(crm: CrmEngine) -> None:
    definition = crm.model.entity("deal")
    owner = len(entity_filters(definition))  # the first system filter: owner
    amount = next(
        i for i, f in enumerate(entity_filters(definition)) if f.field.name == "amount" and f.operator == "gte"
    )
    rita = ui(crm, "rita")
    query = f"flt0_{owner}=me&flt1_{amount}=200"
    assert shown(rita.get(f"{LIST}?{query}").get_data(as_text=True)) == ["Rita Feb"]
    saved = rita.post(f"{LIST}views/save/?{query}", data={"csrf_token": token(rita, LIST), "name": "Mine over 200"})
    assert saved.status_code == 302
    made = [v for v in crm.views.visible(user=crm.users.get("rita"), entity="deal") if v.source == "stored"]
    assert [(v.name, v.where, v.shared) for v in made] == [
        ("Mine over 200", {"and": [{"owner": {"eq": "@me"}}, {"amount": {"gte": "200"}}]}, False)
    ]
    assert saved.headers["Location"].endswith(f"?view={made[0].id}")
    assert shown(rita.get(saved.headers["Location"]).get_data(as_text=True)) == ["Rita Feb"]
    # a rep has no "shared" checkbox, and a posted one is refused
    assert 'id="crm-view-shared"' not in rita.get(LIST).get_data(as_text=True)
    refused = rita.post(f"{LIST}views/save/", data={"csrf_token": token(rita, LIST), "name": "x", "shared": "on"})
    assert refused.status_code == 302 and "view=" not in refused.headers["Location"]
    # and the rep deletes their own view
    deleted = rita.post(f"{LIST}views/delete/", data={"csrf_token": token(rita, LIST), "view": str(made[0].id)})
    assert deleted.status_code == 302
    assert [v for v in crm.views.visible(user=crm.users.get("rita"), entity="deal") if v.source == "stored"] == []


def test_an_admin_shares_a_view_and_a_rep_applies_it_within_their_reach(crm: CrmEngine) -> None:
    ada = ui(crm, "ada")
    assert 'id="crm-view-shared"' in ada.get(LIST).get_data(as_text=True)
    sort = ada.post(f"{LIST}views/save/", data={"csrf_token": token(ada, LIST), "name": "Everything", "shared": "on"})
    assert sort.status_code == 302
    view = next(v for v in crm.views.visible(user=crm.users.get("ada"), entity="deal") if v.source == "stored")
    assert view.shared
    rita = ui(crm, "rita")
    page = rita.get(f"{LIST}?view={view.id}").get_data(as_text=True)
    assert sorted(shown(page)) == ["Rita Feb", "Rita Mar"]  # never Ravi's
    assert "crm-view-delete" not in page  # a shared view is not hers to delete


def test_the_board_picker_applies_a_view(crm: CrmEngine) -> None:
    ada = ui(crm, "ada")
    page = ada.get(BOARD).get_data(as_text=True)
    assert "my_deals_this_month" in options(page)
    assert re.search(r'data-state="open" data-count="3"', page)
    with frozen(NOW):
        quiet = ada.get(BOARD + "?view=quiet_deals").get_data(as_text=True)
    assert re.search(r'data-state="open" data-count="0"', quiet)
    big = crm.views.create(
        {"entity": "deal", "name": "Big", "where": {"amount": {"gte": 500}}}, user=crm.users.get("ada")
    )
    filtered = ada.get(f"{BOARD}?view={big.id}").get_data(as_text=True)
    assert re.search(r'data-state="open" data-count="2"', filtered)
    assert f'value="{big.id}" selected' in filtered


def test_cards_a_column_loads_later_keep_the_view(crm: CrmEngine) -> None:
    big = crm.views.create(
        {"entity": "deal", "name": "Big", "where": {"amount": {"gte": 500}}}, user=crm.users.get("ada")
    )
    ada = ui(crm, "ada")
    cards = ada.get(f"{BOARD}cards/?state=open&offset=0&view={big.id}").get_data(as_text=True)
    assert "Rita Feb" in cards and "Ravi Feb" in cards and "Rita Mar" not in cards
    everything = ada.get(f"{BOARD}cards/?state=open&offset=0").get_data(as_text=True)
    assert "Rita Mar" in everything


def test_every_list_has_quick_filters_on_owner_dates_and_state(crm: CrmEngine) -> None:
    from engine.web.admin._filters import filter_index

    rita_mar = crm.records.list("deal", where={"title": "Rita Mar"}, actor=SYSTEM).items[0]
    crm.workflows.run("deal", rita_mar["id"], "win", user=crm.users.get("ada"))
    state = filter_index(crm.model.entity("deal"), "stage", "eq")
    assert state is not None
    rita = ui(crm, "rita")
    assert shown(rita.get(f"{LIST}?flt0_{state}=won").get_data(as_text=True)) == ["Rita Mar"]
    page = rita.get(LIST).get_data(as_text=True)
    groups = re.search(r'filter-groups-data" class="d-none">(.*?)</', page, re.S)
    assert groups is not None
    offered = json.loads(html.unescape(groups.group(1)))
    for label in ("Owner", "Created", "Updated", "Stage"):
        assert label in offered, " | ".join(sorted(offered))


def test_a_view_grouped_by_a_field_heads_each_group_of_rows(crm: CrmEngine) -> None:
    grouped = crm.views.create(
        {"entity": "deal", "name": "By owner", "group_by": "owner", "sort": ["-amount"]}, user=crm.users.get("ada")
    )
    page = ui(crm, "ada").get(f"{LIST}?view={grouped.id}").get_data(as_text=True)
    body = page[page.index("</thead>") :]
    heads = re.findall(r'<th colspan="999" scope="colgroup" class="crm-group-head" data-group="([^"]*)">', body)
    assert heads == ["ravi", "rita"]  # sorted by the group first
    ravi, rita = (body.index(f'data-group="{name}"') for name in heads)
    assert body.index("Ravi Feb") < rita and ravi < body.index("Rita Feb") < body.index("Rita Mar")  # -amount within
    # a rep's list under the same field: only her group (a view never widens what she reads)
    mine = crm.views.create(
        {"entity": "deal", "name": "Mine by owner", "group_by": "owner"}, user=crm.users.get("rita")
    )
    page = ui(crm, "rita").get(f"{LIST}?view={mine.id}").get_data(as_text=True)
    assert re.findall(r'class="crm-group-head" data-group="([^"]*)"', page) == ["rita"]


def test_save_view_keeps_the_lists_search_as_the_filter_it_amounts_to(crm: CrmEngine) -> None:
    crm.records.create("deal", {"title": "Rita Big Feb", "owner": "rita", "amount": "50"}, actor=SYSTEM)
    rita = ui(crm, "rita")
    searched = sorted(shown(rita.get(f"{LIST}?search=feb").get_data(as_text=True)))
    assert searched == ["Rita Big Feb", "Rita Feb"]
    saved = rita.post(f"{LIST}views/save/?search=feb", data={"csrf_token": token(rita, LIST), "name": "Feb"})
    (made,) = [v for v in crm.views.visible(user=crm.users.get("rita"), entity="deal") if v.source == "stored"]
    assert made.where is not None and {"title": {"contains": "feb"}} in made.where["or"]
    # applied later without the search, it lists what the search listed
    assert sorted(shown(rita.get(saved.headers["Location"]).get_data(as_text=True))) == searched
