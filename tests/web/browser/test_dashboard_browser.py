"""The dashboard in Chromium: tiles, funnel and trend in English and Chinese, and a KPI tile
that opens the list of exactly the records it counts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.web.browser.conftest import ADMIN, LiveServer, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_a_kpi_tile_opens_the_list_it_counts(page: Page, live_server: LiveServer) -> None:
    live_server.engine.users.set_language(ADMIN[0], "en")
    sign_in(page)
    page.goto("/admin/?period=this_year")
    tiles = page.locator(".crm-tile")
    tiles.first.wait_for()
    assert page.locator("svg.crm-funnel").count() == 1 and page.locator("svg.crm-trend").count() == 1
    shot(page, "dashboard-en")
    page.screenshot(path=str(shot(page, "dashboard-en-top")), full_page=False)  # what opens first
    opened = page.locator('[data-tile="open_pipeline"]')
    count = int(opened.get_attribute("data-count") or "0")
    assert count > 0
    opened.locator("a.crm-tile-main").click()
    page.wait_for_url(re.compile(r"/admin/records/opportunity/\?"))
    assert f"List ({count})" in page.content()
    shot(page, "dashboard-tile-list")


def test_the_dashboard_in_chinese(page: Page, live_server: LiveServer) -> None:
    live_server.engine.users.set_language(ADMIN[0], "zh")
    try:
        sign_in(page)
        page.goto("/admin/?period=this_year")
        page.locator(".crm-tile").first.wait_for()
        text = page.inner_text("body")
        assert "今年" in text and "赢单" in text and "转入下一阶段" in text
        shot(page, "dashboard-zh")
        page.screenshot(path=str(shot(page, "dashboard-zh-top")), full_page=False)
    finally:
        live_server.engine.users.set_language(ADMIN[0], "en")
