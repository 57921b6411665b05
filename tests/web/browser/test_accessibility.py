"""Accessibility basics, checked by axe-core in Chromium on what admins and reps open every
day, in English and Chinese: the page's language, landmarks, labels on every control,
contrast (WCAG 2 A and AA). A violation of impact "serious" or "critical" fails, with its
rule, the elements and axe's help; lesser ones are left to review."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.support import SYSTEM
from tests.web.browser.conftest import ADMIN, REP, LiveServer, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: WCAG 2.0 and 2.1, levels A and AA, as axe tags them.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("serious", "critical")


def _violations(page: Page) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    return [v for v in result.response["violations"] if v["impact"] in FAILING]


def _said(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:5]]}" for v in violations
    )


def _pages(live_server: LiveServer) -> list[str]:
    engine = live_server.engine
    account = engine.records.list("account", limit=1, sort="id", actor=SYSTEM).items[0]["id"]
    return [
        "/admin/",
        "/admin/my-day/",
        "/admin/board/opportunity_pipeline/",
        "/admin/records/opportunity/",
        f"/admin/records/account/details/?id={account}",
        "/admin/records/account/new/",
        "/admin/notifications/",
    ]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_pages_of_an_admins_day_pass_axe(page: Page, live_server: LiveServer, language: str) -> None:
    live_server.engine.users.set_language(ADMIN[0], language)
    sign_in(page, ADMIN)
    page.wait_for_url("**/admin/")
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if language == "zh" else "en")
    found = {}
    for url in [*_pages(live_server), "/admin/definitions/", "/admin/duplicates/", "/admin/automations/"]:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        violations = _violations(page)
        if violations:
            found[url] = _said(violations)
    assert not found, "\n\n".join(f"{url}\n{text}" for url, text in found.items())


def test_the_pages_of_a_reps_day_pass_axe(page: Page, live_server: LiveServer) -> None:
    live_server.engine.users.set_language(REP[0], "zh")
    sign_in(page, REP)
    page.wait_for_url("**/admin/my-day/")
    found = {}
    for url in [
        "/admin/my-day/",
        "/admin/board/opportunity_pipeline/",
        "/admin/records/lead/",
        "/admin/records/lead/new/",
    ]:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        violations = _violations(page)
        if violations:
            found[url] = _said(violations)
    assert not found, "\n\n".join(f"{url}\n{text}" for url, text in found.items())
