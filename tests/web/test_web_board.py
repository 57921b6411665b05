"""The pipeline board (SQLite and PostgreSQL): columns count and sum only what the user may
read, filters narrow them, a card shows its days in the stage and an overdue stay, and
moving a card runs the transition through the workflow service (roles, required fields,
inputs), answering with the refusal's reasons when it cannot."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient

from engine.clock import frozen
from engine.records import format_amount
from engine.runtime import CrmEngine
from engine.workflow import CARDS_PER_COLUMN, board
from tests.support import SYSTEM, acting_for
from tests.web.test_web_admin_ui import sign_in, token

URL = "/admin/board/opportunity_pipeline/"


def column(page: str, state: str) -> tuple[int, str]:
    found = re.search(rf'data-state="{state}" data-count="(\d+)"', page)
    assert found, state
    total = re.search(rf'data-state="{state}" data-count="\d+".*?crm-board-total">([^<]*)<', page, re.S)
    return int(found.group(1)), html.unescape(total.group(1)) if total else ""


def deal(engine: CrmEngine, owner: str, amount: str, **values: Any) -> dict[str, Any]:
    account = engine.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    fields = {"title": f"{owner} deal {amount}", "account": account, "amount": amount, **values}
    return engine.records.create("opportunity", fields, actor=acting_for(owner))


def test_columns_count_and_sum_what_the_user_may_read(ui: FlaskClient, standard: CrmEngine) -> None:
    deal(standard, "rita", "1000.50")
    deal(standard, "rita", "2000")
    deal(standard, "ada", "400")
    everyone = standard.records.list("opportunity", where={"stage": "qualification"}, limit=500, actor=SYSTEM).items
    assert len(everyone) >= 3  # others' deals too
    sign_in(ui, "rita")
    page = ui.get(URL).get_data(as_text=True)
    assert column(page, "qualification") == (2, "3,000.50")
    assert page.count('<article class="crm-card') == 2 and "rita deal 1000.50" in page
    sign_in(ui, "ada")
    page = ui.get(URL).get_data(as_text=True)
    amount = sum((Decimal(str(r["amount"])) for r in everyone if r["amount"] is not None), Decimal(0))
    assert column(page, "qualification") == (len(everyone), format_amount(amount, 2))
    assert column(ui.get(URL + "?owner=me").get_data(as_text=True), "qualification")[0] == 1  # her own deal
    searched = ui.get(URL + "?q=rita+deal+2000").get_data(as_text=True)
    assert column(searched, "qualification")[0] == 1 and "rita deal 2000" in searched


def test_a_card_moves_only_as_the_workflow_allows(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = deal(standard, "rita", "5000")
    standard.workflows.run("opportunity", mine["id"], "confirm_needs", user=standard.users.get("rita"))
    sign_in(ui, "rita")
    form = {"csrf_token": token(ui, URL), "id": mine["id"], "transition": "propose"}
    current = standard.records.get("opportunity", mine["id"], actor=SYSTEM)
    refused = ui.post(URL + "move/", data={**form, "version": current["version"]})
    assert refused.status_code == 409 and refused.json is not None  # as the API answers a refusal
    assert refused.json["ok"] is False and "Expected close" in refused.json["reasons"][0]
    assert standard.records.get("opportunity", mine["id"], actor=SYSTEM)["stage"] == "needs_analysis"
    standard.records.update("opportunity", mine["id"], {"expected_close": "2027-03-31"}, actor=acting_for("rita"))
    current = standard.records.get("opportunity", mine["id"], actor=SYSTEM)
    moved = ui.post(URL + "move/", data={**form, "version": current["version"]})
    assert moved.status_code == 200 and moved.json == {
        "ok": True,
        "state": "proposal",
        "version": current["version"] + 1,
    }
    assert standard.workflows.history("opportunity", mine["id"], actor=SYSTEM)[-1]["actor"] == "rita"
    # a move that asks for an input: "lose" needs its reason
    lose = {**form, "transition": "lose", "version": current["version"] + 1}
    assert ui.post(URL + "move/", data=lose).json["ok"] is False
    lost = ui.post(URL + "move/", data={**lose, "input_reason": "no_budget", "comment": "预算冻结"})
    assert lost.json["state"] == "lost"
    assert standard.records.get("opportunity", mine["id"], actor=SYSTEM)["lost_reason"] == "no_budget"


def test_a_card_of_someone_else_cannot_be_moved(ui: FlaskClient, standard: CrmEngine) -> None:
    theirs = deal(standard, "ada", "700")
    sign_in(ui, "rita")
    form = {"csrf_token": token(ui, URL), "id": theirs["id"], "version": theirs["version"], "transition": "lose"}
    refused = ui.post(URL + "move/", data={**form, "input_reason": "price"})
    assert refused.status_code == 404 and refused.json["ok"] is False
    assert "ada" not in refused.get_data(as_text=True)
    assert standard.records.get("opportunity", theirs["id"], actor=SYSTEM)["stage"] == "qualification"
    assert ui.post(URL + "move/", data={**form, "csrf_token": "forged"}).status_code == 400


def test_cards_know_how_long_they_have_been_in_their_stage(standard: CrmEngine) -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with frozen(start):
        mine = deal(standard, "rita", "9000", expected_close="2026-06-30")
        rita = standard.users.get("rita")
        standard.workflows.run("opportunity", mine["id"], "confirm_needs", user=rita)
        standard.workflows.run("opportunity", mine["id"], "propose", user=rita)  # proposal allows 21 days
    with frozen(start + timedelta(days=30)):
        shown = board(standard, "opportunity_pipeline", actor=rita)
    (card,) = [c for col in shown.columns if col.state.name == "proposal" for c in col.cards]
    assert card.days_in_state(shown.now) == 30 and card.breached
    assert [c.state.name for c in shown.columns][-2:] == ["won", "lost"]  # final states at the end, collapsed
    assert all(c.collapsed and not c.cards for c in shown.columns if c.state.final)


def test_a_long_column_loads_the_rest_of_its_cards_in_pages(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = {deal(standard, "rita", str(1000 + n))["id"] for n in range(CARDS_PER_COLUMN * 2 + 20)}
    deal(standard, "ada", "77")  # a colleague's deal: never on rita's board
    sign_in(ui, "rita")
    page = ui.get(URL + "?owner=me").get_data(as_text=True)
    assert column(page, "qualification")[0] == len(mine)
    seen = [int(i) for i in re.findall(r'<article class="crm-card[^"]*"[^>]*data-id="(\d+)"', page)]
    assert len(seen) == CARDS_PER_COLUMN
    pages = 1
    while True:
        more = re.search(r'class="crm-board-more[^"]*"[^>]*href="([^"]*)" data-cards-url="([^"]*)"', page)
        if more is None:
            break
        listing, url = (html.unescape(g) for g in more.groups())
        assert "owner=me" in url and "state=qualification" in url and "/admin/records/opportunity/" in listing
        left = int(re.search(r"\((\d+) left\)", page[more.start() :]).group(1))  # type: ignore[union-attr]
        assert left == len(mine) - len(seen)
        page = ui.get(url).get_data(as_text=True)
        assert "<html" not in page  # a fragment the column appends
        seen += [int(i) for i in re.findall(r'<article class="crm-card[^"]*"[^>]*data-id="(\d+)"', page)]
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) and set(seen) == mine
    assert ui.get("/admin/board/opportunity_pipeline/cards/?state=won").status_code == 404  # a final state
    assert ui.get("/admin/board/opportunity_pipeline/cards/?state=qualification&offset=x").status_code == 400


def test_the_board_filters_by_team_and_by_creation_dates(ui: FlaskClient, standard: CrmEngine) -> None:
    standard.users.create("sam", roles=["rep"], team="west")
    with frozen(datetime(2026, 3, 10, 9, 0, tzinfo=UTC)):
        march = deal(standard, "sam", "300")
    with frozen(datetime(2026, 4, 20, 9, 0, tzinfo=UTC)):
        april = deal(standard, "sam", "400")
        east = deal(standard, "rita", "500")
    sign_in(ui, "ada")

    def cards(query: str) -> set[int]:
        page = ui.get(URL + query).get_data(as_text=True)
        return {int(i) for i in re.findall(r'<article class="crm-card[^"]*"[^>]*data-id="(\d+)"', page)}

    assert cards("?team=west") == {march["id"], april["id"]}  # the demo's deals are nobody's in west
    assert east["id"] in cards("?team=east") and not cards("?team=west") & cards("?team=east")
    assert cards("?team=west&from=2026-04-01") == {april["id"]}
    assert cards("?team=west&to=2026-03-10") == {march["id"]}  # up to and including the day
    assert cards("?team=nobody") == set()
    page = ui.get(URL + "?team=west&from=2026-13-01").get_data(as_text=True)
    assert "is not a date" in html.unescape(page)
    assert ui.get(URL + "?team=west").get_data(as_text=True).count('data-count="2"') >= 1
