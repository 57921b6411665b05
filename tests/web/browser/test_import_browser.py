"""The admin Imports page in Chromium: a file that repeats a stored account is checked (the
block rule's line error and the warn rule's match shown with a link), then imported with the
override checkbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import SYSTEM
from tests.web.browser.conftest import LiveServer, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_an_import_shows_duplicates_and_takes_the_override(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    engine = live_server.engine
    stored = engine.records.create(
        "account", {"name": "西安华信环保科技有限公司", "city": "西安", "phone": "029 8888 6666"}, actor=SYSTEM
    )
    path = tmp_path / "客户.csv"
    path.write_text(
        "name,city,phone\n华信环保科技（西安）有限公司,西安,\n秦川机床贸易有限公司,宝鸡,+86 29 8888 6666\n",
        encoding="utf-8",
    )
    sign_in(page)
    page.goto("/admin/imports/")
    page.select_option("#crm-import-entity", "account")
    page.set_input_files("#crm-import-file", str(path))
    page.select_option("#crm-import-on-error", "skip")
    page.click("button[name=dry_run]")
    page.wait_for_selector(".crm-import-duplicates")
    assert page.inner_text(".crm-rejected") == "1"
    assert "duplicate" in page.inner_text(".crm-import-problems")
    matches = page.inner_text(".crm-import-duplicates")
    assert "same_phone" in matches and f"#{stored['id']}" in matches
    assert "would be imported" in page.inner_text("body")
    shot(page, "import-duplicates-checked")

    page.select_option("#crm-import-entity", "account")
    page.set_input_files("#crm-import-file", str(path))
    page.check("#crm-import-allow-duplicate")
    page.click("button.btn-primary[type=submit]:not([name])")
    page.wait_for_selector(".crm-import-duplicates")
    assert page.inner_text(".crm-inserted") == "2" and page.inner_text(".crm-rejected") == "0"
    assert re.search("imported anyway", page.inner_text(".crm-import-duplicates"))
    shot(page, "import-duplicates-overridden")
