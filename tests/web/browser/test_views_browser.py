"""Saved views in Chromium: a rep filters the opportunity list to their own qualifying deals,
saves that as a view, comes back to the full list and applies it from the Views picker; the
board applies a shipped view; the same pages in Chinese. Screenshots in English and Chinese."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from engine.web.admin._filters import entity_filters, filter_index
from tests.support import SYSTEM, acting_for
from tests.web.browser.conftest import REP, LiveServer, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

LIST = "/admin/records/opportunity/"


def listed(page: Page) -> list[str]:
    """The titles in the list's display column."""
    return [c.strip() for c in page.locator("table.model-list tbody td.col-title").all_inner_texts()]


def test_a_rep_saves_a_view_of_a_filtered_list_and_applies_it(page: Page, live_server: LiveServer) -> None:
    engine = live_server.engine
    account = engine.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    today = datetime.now(UTC).date().isoformat()  # the shipped view: closing this month
    for title in ("View Deal Alpha", "View Deal Beta"):
        values = {"title": title, "account": account, "amount": "4200", "expected_close": today}
        engine.records.create("opportunity", values, actor=acting_for(REP[0]))
    engine.users.set_language(REP[0], "en")
    definition = engine.model.entity("opportunity")
    owner = len(entity_filters(definition))  # the owner quick filter comes after the field filters
    stage = filter_index(definition, "stage", "eq")
    mine_qualifying = engine.records.list(
        "opportunity", where={"owner": REP[0], "stage": "qualification"}, limit=500, actor=SYSTEM
    ).total
    assert mine_qualifying >= 2  # new opportunities start qualifying

    sign_in(page, REP)
    page.goto(f"{LIST}?flt0_{owner}=me&flt1_{stage}=qualification")
    page.locator("#crm-view-name").fill("My qualifying deals")
    with page.expect_navigation():
        page.get_by_role("button", name="Save view").click()
    assert re.search(r"[?&]view=\d+", page.url), page.url
    page.locator(".alert-success", has_text="View “My qualifying deals” saved.").wait_for()
    assert {"View Deal Alpha", "View Deal Beta"} <= set(listed(page))
    shot(page, "views-01-saved-en")

    page.goto(LIST)
    with page.expect_navigation():
        page.locator("#crm-view-picker").select_option(label="My qualifying deals")
    assert re.search(r"[?&]view=\d+", page.url)
    titles = listed(page)
    assert {"View Deal Alpha", "View Deal Beta"} <= set(titles) and len(titles) == min(mine_qualifying, 25)
    shot(page, "views-02-applied-en")

    # the board applies a view the preset ships, from its own picker
    page.goto("/admin/board/opportunity_pipeline/")
    with page.expect_navigation():
        page.locator("#crm-view-picker").select_option("my_open_opportunities_this_month")
    assert "view=my_open_opportunities_this_month" in page.url
    qualifying = page.locator('.crm-board-column[data-state="qualification"]')
    assert {"View Deal Alpha", "View Deal Beta"} <= set(qualifying.locator(".crm-card-title").all_inner_texts())
    shot(page, "views-03-board-en")

    engine.users.set_language(REP[0], "zh")
    try:
        page.goto(LIST)
        page.locator("label[for=crm-view-picker]", has_text="视图").wait_for()
        with page.expect_navigation():
            page.locator("#crm-view-picker").select_option(label="我本月预计成交的商机")
        assert "view=my_open_opportunities_this_month" in page.url
        assert page.get_by_role("button", name="保存视图").count() == 1
        assert {"View Deal Alpha", "View Deal Beta"} <= set(listed(page))
        shot(page, "views-04-applied-zh")
        page.goto("/admin/board/opportunity_pipeline/?view=my_open_opportunities_this_month")
        shot(page, "views-05-board-zh")
    finally:
        engine.users.set_language(REP[0], "en")
