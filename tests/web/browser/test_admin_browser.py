"""A new user's day in the admin UI, in Chromium: sign in, create a lead, work it to
converted and its opportunity to won, read and override a score, upload a bad definition,
read the dashboard, switch to Chinese; and a sales rep who sees only their own leads."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from engine.workflow import CARDS_PER_COLUMN
from tests.support import SYSTEM, acting_for
from tests.web.browser.conftest import ADMIN, REP, LiveServer, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def expect_text(page: Page, selector: str, pattern: str) -> str:
    """The text of ``selector`` once it matches ``pattern``."""
    locator = page.locator(selector).first
    locator.wait_for()
    text = locator.inner_text()
    assert re.search(pattern, text), f"{selector}: {text!r} does not match {pattern!r}"
    return text


def new_lead(live_server: LiveServer, company: str) -> int:
    """A lead ready to be worked: a contact, a need, an account, a budget."""
    engine = live_server.engine
    account = engine.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    record = engine.records.create(
        "lead",
        {
            "company": company,
            "contact_name": "Grace Hopper",
            "need": "Replace the old ERP this year.",
            "budget": "250000",
            "purchase_timeframe": "within_3_months",
            "account": account,
        },
        actor=acting_for(ADMIN[0]),
    )
    return int(record["id"])


def run_transition(page: Page, name: str) -> None:
    page.click(f'[data-transition-button="{name}"]')
    page.wait_for_load_state()


def test_sign_in_refuses_a_wrong_password_then_signs_in(page: Page) -> None:
    page.goto("/admin/records/lead/")
    page.wait_for_url(re.compile(r"/admin/login/\?next="))
    page.fill("#name", ADMIN[0])
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    expect_text(page, ".alert-danger", "Wrong user name or password")
    shot(page, "01-sign-in-refused")
    page.fill("#name", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/records/lead/")  # back where the user was going
    expect_text(page, ".crm-user-name", "Ada Admin")


def test_a_bad_value_is_shown_at_its_field_then_the_lead_is_created(page: Page, live_server: LiveServer) -> None:
    sign_in(page)
    page.goto("/admin/records/lead/new/")
    page.fill("#company", "Northwind Robotics")
    page.fill("#email", "not-an-email")
    page.fill("#employees", "1200")
    page.select_option("#source", "referral")
    page.click("input[type=submit][value='Save']")
    error = expect_text(page, "#email ~ .invalid-feedback", "email address")
    assert "email" in error
    assert page.locator("#email.is-invalid").count() == 1
    shot(page, "02-lead-form-error-at-field")
    page.fill("#email", "ops@northwind.example")
    # the account picker searches the accounts as one types (the start of a name the demo made)
    account = live_server.engine.records.list("account", sort="name", limit=1, actor=SYSTEM).items[0]["name"]
    page.locator("#account").locator("xpath=..").locator(".select2-choice, .select2-selection").first.click()
    page.keyboard.type(account[:2])
    page.locator(".select2-result-selectable, .select2-results__option").first.click()
    page.click("input[type=submit][value='Save']")
    page.wait_for_url(re.compile(r"/admin/records/lead/details/\?id=\d+"))
    expect_text(page, "h1", "Northwind Robotics")
    created = live_server.engine.records.list("lead", where={"company": "Northwind Robotics"}, actor=SYSTEM).items
    assert len(created) == 1 and created[0]["email"] == "ops@northwind.example"
    assert created[0]["account"] is not None and created[0]["employees"] == 1200
    shot(page, "03-lead-created")


def test_work_a_lead_to_converted_and_its_opportunity_to_won(page: Page, live_server: LiveServer) -> None:
    lead = new_lead(live_server, "Contoso Pharma")
    sign_in(page)
    page.goto(f"/admin/records/lead/details/?id={lead}")
    # a refusal comes back with its reason: disqualifying needs a reason
    run_transition(page, "disqualify")
    expect_text(page, ".alert-danger", "“Disqualify” needs “Reason”")
    shot(page, "04-transition-refused")
    for name in ("contact", "qualify", "convert"):
        run_transition(page, name)
        expect_text(page, ".alert-success", "Done")
    expect_text(page, ".crm-history", "Converted")  # the state's label
    # the opportunity made from the lead is one click away, in the related records
    related = page.locator('.crm-related-group[data-entity="opportunity"][data-field="lead"]')
    expect_text(page, '.crm-related-group[data-entity="opportunity"][data-field="lead"]', "Contoso Pharma")
    shot(page, "05-lead-converted")
    related.locator("a[data-related-id]").first.click()
    page.wait_for_url(re.compile(r"/admin/records/opportunity/details/\?id=\d+"))
    opportunity = int(page.url.rsplit("=", 1)[1])
    assert live_server.engine.records.get("opportunity", opportunity, actor=SYSTEM)["lead"] == lead
    expect_text(page, ".crm-fields", "Contoso Pharma")
    shot(page, "05b-opportunity-from-related-link")
    run_transition(page, "confirm_needs")
    run_transition(page, "propose")  # a proposal needs an expected close date: refused, with why
    expect_text(page, ".alert-danger", "Fill in “Expected close” before the record can enter “Proposal and quote”")
    page.goto(f"/admin/records/opportunity/edit/?id={opportunity}")
    page.fill("#expected_close", "2026-12-31")
    page.click("input[type=submit][value='Save']")
    page.wait_for_url(re.compile(r"/details/"))
    for name in ("propose", "negotiate", "win"):
        run_transition(page, name)
        expect_text(page, ".alert-success", "Done")
    assert live_server.engine.records.get("opportunity", opportunity, actor=SYSTEM)["stage"] == "won"
    expect_text(page, ".crm-history", "Won")
    shot(page, "06-opportunity-won")


def test_a_score_shows_its_explanation_and_takes_an_override(page: Page, live_server: LiveServer) -> None:
    lead = new_lead(live_server, "Fabrikam Foods")
    live_server.engine.scoring.run(entity="lead", record_ids=[lead])
    sign_in(page)
    page.goto(f"/admin/records/lead/details/?id={lead}")
    card = '.crm-score[data-scoring="lead_quality"]'
    expect_text(page, f"{card} [data-score-value]", r"\d")
    expect_text(page, f"{card} .crm-factors", "Budget of 100,000 or more")
    shot(page, "07-score-explained")
    page.click(f"{card} summary")
    page.fill(f"{card} input[name=value]", "95")
    page.fill(f"{card} input[name=reason]", "Board-level sponsor")
    page.click(f"{card} button[type=submit]:not([name=clear])")
    expect_text(page, ".alert-success", "Override saved")
    expect_text(page, f"{card} [data-score-value]", "95.0")
    expect_text(page, card, "Board-level sponsor")
    shot(page, "08-score-overridden")


def test_a_bad_definition_upload_shows_the_error_at_its_pointer(page: Page, tmp_path: object) -> None:
    from pathlib import Path

    document = {
        "schema_version": 1,
        "kind": "entity",
        "name": "visit",
        "fields": {"place": {"type": "string"}, "duration": {"type": "intger"}},
    }
    upload = Path(str(tmp_path)) / "visit.json"
    upload.write_text(json.dumps(document))
    sign_in(page)
    page.goto("/admin/definitions/")
    page.set_input_files("input[name=bundle]", str(upload))
    page.click(".crm-upload button[type=submit]")
    row = page.locator(".crm-problem[data-code=unknown_type]")
    row.wait_for()
    assert "/fields/duration/type" in row.inner_text()
    assert "entities/visit.json" in row.inner_text()
    shot(page, "09-definition-error-at-pointer")


def test_the_dashboard_draws_the_pipeline_funnel(page: Page, live_server: LiveServer) -> None:
    sign_in(page)
    page.goto("/admin/?workflow=opportunity_pipeline")
    funnel = page.locator("svg.crm-funnel")
    funnel.wait_for()
    states = live_server.engine.model.definitions.workflows["opportunity_pipeline"].states
    assert funnel.locator("rect").count() == len([s for s in states.values() if not s.final])  # open stages
    assert "Funnel: Opportunity pipeline" in (funnel.locator("title").first.text_content() or "")
    assert page.locator("svg.crm-scores").count() >= 1
    forecast = page.locator('[data-report="weighted_forecast"] figcaption')  # loaded after the first screen
    forecast.wait_for()
    assert "Weighted amount" in forecast.inner_text()  # the measure drawn, not a count
    shot(page, "10-dashboard")


def test_switching_to_chinese_shows_chinese_labels(page: Page, live_server: LiveServer) -> None:
    live_server.engine.users.set_language(ADMIN[0], "en")
    sign_in(page)
    page.goto("/admin/records/lead/")
    page.click("button[data-language=zh]")
    page.wait_for_load_state()
    expect_text(page, ".alert-success", "语言已保存")
    expect_text(page, "h1", "线索")  # the entity's Chinese label
    expect_text(page, "table.model-list thead", "公司名称")  # a field's Chinese label
    expect_text(page, ".nav-tabs", "列表")  # flask-admin's own words too
    shot(page, "11-chinese-labels")
    assert live_server.engine.users.get(ADMIN[0]).language == "zh"
    page.click("button[data-language=en]")
    expect_text(page, "h1", "Lead")


def test_a_rep_sees_only_their_own_leads(page: Page, live_server: LiveServer) -> None:
    engine = live_server.engine
    for company in ("Rita's First Lead", "Rita's Second Lead"):
        engine.records.create("lead", {"company": company}, actor=acting_for(REP[0]))
    own = engine.records.list("lead", where={"owner": REP[0]}, actor=SYSTEM).total
    assert engine.records.list("lead", limit=0, actor=SYSTEM).total > own  # the company has many more
    sign_in(page, REP)
    page.goto("/admin/records/lead/")
    cells = page.locator("table.model-list td.col-owner")
    cells.first.wait_for()
    owners = cells.all_inner_texts()
    assert [o.strip() for o in owners] == ["Rita Rep"] * own  # the display name, not the login
    assert page.locator("td.col-owner .crm-person").first.get_attribute("title") == REP[0]
    expect_text(page, ".nav-tabs", rf"List \({own}\)")
    assert page.locator("form[action*='/delete/']").count() == 0  # reps never delete: no Delete button
    shot(page, "12-rep-sees-own-leads")


def test_reference_pickers_invite_a_search_and_errors_are_pages(page: Page, live_server: LiveServer) -> None:
    live_server.engine.users.set_language(REP[0], "en")
    sign_in(page, REP)
    page.goto("/admin/records/opportunity/new/")
    picker = page.locator(".select2-container .select2-chosen").first
    picker.wait_for()
    assert picker.inner_text().strip() == "Search or choose…"  # not flask-admin's literal "data-placeholder"
    assert "data-placeholder" not in " ".join(page.locator(".select2-chosen").all_inner_texts())
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and page.request.get(icon).ok
    shot(page, "13-reference-picker")
    refused = page.goto("/admin/definitions/")  # for administrators only
    assert refused is not None and refused.status == 403
    expect_text(page, "h1", "You may not open this page")
    shot(page, "14-refused-page")
    page.click("text=Back to the dashboard")
    page.wait_for_url("**/admin/")


def test_a_rep_drags_a_deal_through_a_guarded_stage_on_the_board(page: Page, live_server: LiveServer) -> None:
    engine = live_server.engine
    account = engine.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    rita = acting_for(REP[0])
    deal = engine.records.create(
        "opportunity", {"title": "Board Deal", "account": account, "amount": "88000"}, actor=rita
    )
    engine.workflows.run("opportunity", deal["id"], "confirm_needs", user=engine.users.get(REP[0]))
    live_server.engine.users.set_language(REP[0], "en")
    sign_in(page, REP)
    page.goto("/admin/board/opportunity_pipeline/")
    card = page.locator(f'article.crm-card[data-id="{deal["id"]}"]')
    card.wait_for()
    assert card.get_attribute("data-state") == "needs_analysis"
    card.drag_to(page.locator('.crm-board-column[data-state="proposal"]'))
    # a proposal needs an expected close date: refused with the reason, the card stays
    expect_text(page, ".crm-board-message.alert-danger", "Expected close")
    assert page.locator(f'.crm-board-column[data-state="needs_analysis"] article[data-id="{deal["id"]}"]').count() == 1
    shot(page, "15-board-refusal")
    engine.records.update("opportunity", deal["id"], {"expected_close": "2027-03-31"}, actor=rita)
    page.reload()
    with page.expect_navigation():  # a move reloads the board with the server's counts
        page.locator(f'article.crm-card[data-id="{deal["id"]}"]').drag_to(
            page.locator('.crm-board-column[data-state="proposal"]')
        )
    expect_text(page, ".crm-board-message.alert-success", "Moved to “Proposal and quote”")
    moved = page.locator(f'.crm-board-column[data-state="proposal"] article[data-id="{deal["id"]}"]')
    moved.wait_for()
    # the keyboard: "Move to…" on the card, a transition that asks for an input in a dialog
    moved.locator("select.crm-card-move").select_option("lose")
    page.locator("#crm-board-inputs select[name=input_reason]").select_option("no_budget")
    shot(page, "16-board-inputs")
    with page.expect_navigation():
        page.click("#crm-board-inputs button[value=run]")
    expect_text(page, ".crm-board-message.alert-success", "Moved to “Lost”")
    assert engine.records.get("opportunity", deal["id"], actor=SYSTEM)["lost_reason"] == "no_budget"
    shot(page, "17-board")


def test_a_long_board_column_loads_its_further_cards_as_it_scrolls(page: Page, live_server: LiveServer) -> None:
    engine = live_server.engine
    accounts = engine.records.list("account", limit=1, actor=SYSTEM).items
    for n in range(CARDS_PER_COLUMN + 12):
        fields = {"title": f"Scroll deal {n:03d}", "account": accounts[0]["id"], "amount": "1000"}
        engine.records.create("opportunity", fields, actor=acting_for(REP[0]))
    sign_in(page, REP)
    page.goto("/admin/board/opportunity_pipeline/?q=Scroll+deal")
    column = page.locator('.crm-board-column[data-state="qualification"]')
    column.locator("article.crm-card").first.wait_for()
    assert column.locator("article.crm-card").count() == CARDS_PER_COLUMN
    column.locator(".crm-board-more").scroll_into_view_if_needed()
    page.wait_for_function(
        "n => document.querySelectorAll('.crm-board-column[data-state=qualification] article.crm-card').length === n",
        arg=CARDS_PER_COLUMN + 12,
    )
    assert column.locator(".crm-board-more").count() == 0
    # a card that came later moves like the first ones: its "Move to…" menu is live
    late = column.locator("article.crm-card").last
    late.locator("select.crm-card-move").select_option("lose")
    page.locator("#crm-board-inputs").wait_for()
    page.keyboard.press("Escape")


def test_a_rep_starts_on_their_day_and_ticks_a_task_off(page: Page, live_server: LiveServer) -> None:
    engine = live_server.engine
    engine.users.set_language(REP[0], "zh")
    overdue = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    engine.records.create("task", {"title": "回访西安华信", "due": overdue}, actor=acting_for(REP[0]))
    sign_in(page, REP)
    page.wait_for_url("**/admin/my-day/")
    item = page.locator(".crm-day-overdue li", has_text="回访西安华信")
    item.wait_for()
    shot(page, "18-my-day-zh")
    item.locator("button[data-action=done]").click()
    page.wait_for_load_state()
    expect_text(page, ".alert-success", "「回访西安华信」已完成")
    assert page.locator(".crm-day-overdue li", has_text="回访西安华信").count() == 0
    engine.users.set_language(REP[0], "en")
