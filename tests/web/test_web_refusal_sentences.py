"""Refusals whose words name other records or roles read as sentences in the user's
language (SQLite and PostgreSQL): a delete held back by the records that refer to the
record, and a step that assigns to a role nobody holds."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from engine.presets import load_preset
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.support import acting_for
from tests.web.test_web_admin_ui import PASSWORD, sign_in, token


@pytest.fixture
def crm(engine: CrmEngine) -> CrmEngine:
    load_preset(engine, "standard_product")
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    return engine


@pytest.fixture
def ui(crm: CrmEngine) -> FlaskClient:
    return create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"}).test_client()


def _flashed(ui: FlaskClient, url: str) -> str:
    page = html.unescape(ui.get(url).get_data(as_text=True))
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


@pytest.mark.parametrize(("language", "expected"), [
    ("zh", "有 2 条商机记录通过「客户」引用它,请先删除它们或改为引用其他记录"),
    ("en", "2 Opportunity records refer to it through “Account”; delete them or point them elsewhere first"),
])  # fmt: skip
def test_a_delete_held_back_by_references_names_them(
    ui: FlaskClient, crm: CrmEngine, language: str, expected: str
) -> None:
    account = crm.records.create("account", {"name": "西安华信环保科技有限公司"}, actor=acting_for("ada"))["id"]
    for title in ("一期", "二期"):
        crm.records.create("opportunity", {"title": title, "account": account}, actor=acting_for("ada"))
    crm.users.set_language("ada", language)
    sign_in(ui)
    listing = "/admin/records/account/"
    ui.post(listing + "delete/", data={"csrf_token": token(ui, listing), "id": account})
    assert expected in _flashed(ui, listing)
    assert crm.records.list("account", where={"id": account}, limit=0, actor=acting_for("ada")).total == 1


@pytest.mark.parametrize(("language", "expected"), [
    ("zh", "此步骤要把记录分配给角色为服务工程师的用户,但没有这样的用户,请联系管理员创建"),
    ("en", "assigns the record to a user with the role Service engineer, and there is none; ask an administrator"),
])  # fmt: skip
def test_a_step_that_assigns_to_a_role_nobody_holds_says_so(
    ui: FlaskClient, crm: CrmEngine, language: str, expected: str
) -> None:
    account = crm.records.create("account", {"name": "陕西重汽"}, actor=acting_for("ada"))["id"]
    fields = {"subject": "GPS 终端无信号", "account": account, "request_type": "repair"}
    request_id = crm.records.create("service_request", fields, actor=acting_for("ada"))["id"]
    crm.users.set_language("ada", language)
    sign_in(ui)
    url = f"/admin/records/service_request/details/?id={request_id}"
    ui.post(
        "/admin/records/service_request/transition/",
        data={"csrf_token": token(ui, url), "id": request_id, "transition": "dispatch"},
    )
    assert expected in _flashed(ui, url)
