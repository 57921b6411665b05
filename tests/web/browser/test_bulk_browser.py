"""Bulk and inline edit in Chromium: a rep ticks three deals, moves them to the next stage and
sets their next step; the preview shows one refused (no expected close date) and nothing
saved; Apply changes the two others. Then a list cell is edited in place, and a stale one
shows the value saved meanwhile. In English and in Chinese."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import SYSTEM, acting_for
from tests.web.browser.conftest import REP, LiveServer, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def deals(live_server: LiveServer, prefix: str) -> list[dict[str, Any]]:
    """Three of the rep's deals in needs analysis; the last has no expected close date."""
    engine = live_server.engine
    rita = acting_for(REP[0])
    account = engine.records.create("account", {"name": f"{prefix} Holdings"}, actor=rita)["id"]
    made = []
    for n, close in enumerate(("2027-02-26", "2027-03-31", None), start=1):
        values = {"title": f"{prefix} {n}", "account": account, "amount": f"{n}0000", "probability": 20}
        if close:
            values["expected_close"] = close
        record = engine.records.create("opportunity", values, actor=rita)
        engine.workflows.run("opportunity", record["id"], "confirm_needs", user=engine.users.get(REP[0]))
        made.append(engine.records.get("opportunity", record["id"], actor=SYSTEM))
    return made


def bulk_edit(page: Page, prefix: str, records: list[dict[str, Any]], next_step: str, language: str) -> None:
    """From the list filtered to ``prefix``: tick the records, Bulk edit, fill the form, Preview."""
    page.goto(f"/admin/records/opportunity/?search={prefix.replace(' ', '+')}")
    for record in records:
        page.locator(f'input.action-checkbox[value="{record["id"]}"]').check()
    menu = page.locator(".dropdown-menu:has(a[onclick*=bulk_edit])")
    menu.locator("xpath=preceding-sibling::a[1]").click()
    with page.expect_navigation():
        menu.locator("a[onclick*=bulk_edit]").click()
    page.wait_for_url(re.compile(r"/bulk/\?"))
    page.check("#crm-set-stage")
    page.select_option("#crm-v-stage", "proposal")
    page.check("#crm-set-next_step")
    page.fill("#crm-v-next_step", next_step)
    shot(page, f"29-bulk-form-{language}")
    page.click("button.crm-bulk-preview")
    page.wait_for_selector(".crm-bulk-summary")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_rep_bulk_edits_with_a_refusal_and_edits_a_cell(page: Page, live_server: LiveServer, language: str) -> None:
    engine = live_server.engine
    prefix = f"Bulk Browser {language}"
    records = deals(live_server, prefix)
    engine.users.set_language(REP[0], language)
    try:
        rep_edits(page, live_server, prefix, records, language)
    finally:
        engine.users.set_language(REP[0], "en")  # the session's server is shared: leave her as found


def rep_edits(page: Page, live_server: LiveServer, prefix: str, records: list[dict[str, Any]], language: str) -> None:
    engine = live_server.engine
    sign_in(page, REP)
    bulk_edit(page, prefix, records, "Send the offer" if language == "en" else "发送报价", language)
    summary = page.locator(".crm-bulk-summary")
    assert (summary.get_attribute("data-updated"), summary.get_attribute("data-refused")) == ("2", "1")
    refused = page.locator(f'tr.crm-bulk-result[data-id="{records[2]["id"]}"]')
    assert refused.get_attribute("data-ok") == "false"
    assert ("Expected close" if language == "en" else "预计成交") in refused.inner_text()
    shot(page, f"30-bulk-preview-{language}")
    assert all(engine.records.get("opportunity", r["id"], actor=SYSTEM)["stage"] == "needs_analysis" for r in records)
    with page.expect_navigation():
        page.click("form.crm-bulk-apply button[value=apply]")
    assert page.locator(".crm-bulk-summary").get_attribute("data-applied") == "true"
    shot(page, f"31-bulk-applied-{language}")
    stages = [engine.records.get("opportunity", r["id"], actor=SYSTEM)["stage"] for r in records]
    assert stages == ["proposal", "proposal", "needs_analysis"]

    # inline: the probability cell of the first deal, edited in place
    page.goto(f"/admin/records/opportunity/?search={prefix.replace(' ', '+')}")
    cell = page.locator(f'.crm-inline[data-id="{records[0]["id"]}"][data-field="probability"]')
    cell.click()
    box = cell.locator(".crm-inline-box")
    box.fill("55")
    shot(page, f"32-inline-editing-{language}")
    box.press("Enter")
    page.wait_for_function(
        f"""() => {{
            const c = document.querySelector('.crm-inline[data-id="{records[0]["id"]}"][data-field="probability"]');
            return c && !c.classList.contains('crm-inline-open') && c.textContent.trim() === '55';
        }}"""
    )
    assert engine.records.get("opportunity", records[0]["id"], actor=SYSTEM)["probability"] == 55
    # someone else changes the second deal meanwhile: the stale cell is refused and shows their value
    engine.records.update("opportunity", records[1]["id"], {"probability": 90}, actor=SYSTEM)
    other = page.locator(f'.crm-inline[data-id="{records[1]["id"]}"][data-field="probability"]')
    other.click()
    other.locator(".crm-inline-box").fill("30")
    other.locator(".crm-inline-save").click()
    message = page.locator(f'tr:has(.crm-inline[data-id="{records[1]["id"]}"]) .crm-inline-message.text-danger')
    message.first.wait_for()
    page.wait_for_function(
        f"""() => document.querySelector('.crm-inline[data-id="{records[1]["id"]}"][data-field="probability"]')
            .textContent.trim() === '90'"""
    )
    shot(page, f"33-inline-conflict-{language}")
    assert engine.records.get("opportunity", records[1]["id"], actor=SYSTEM)["probability"] == 90
