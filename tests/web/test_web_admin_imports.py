"""The admin import page, on SQLite and PostgreSQL: check a file (dry run), import it with
natural keys and an encoding, and revert it, through the real app and its forms."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.support import SYSTEM
from tests.web.test_web_admin_ui import PASSWORD, sign_in, token
from tests.web.web_support import SALES


@pytest.fixture
def admin(engine: CrmEngine) -> FlaskClient:
    engine.apply(load_definitions(SALES))
    engine.records.create("account", {"name": "Acme", "code": "A1"}, actor=SYSTEM)
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    engine.users.create("rita", roles=["rep"])
    engine.users.set_password("rita", PASSWORD)
    client = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(client, "ada")
    return client


def _post(client: FlaskClient, body: bytes, **fields: str) -> str:
    data = {
        "csrf_token": token(client, "/admin/imports/"),
        "entity": "contact",
        "encoding": "utf-8",
        "delimiter": ",",
        **fields,
        "file": (io.BytesIO(body), "联系人.csv"),
    }
    response = client.post("/admin/imports/run/", data=data, content_type="multipart/form-data")
    return response.get_data(as_text=True)


def _count(engine: CrmEngine) -> int:
    return len(engine.records.list("contact", actor=SYSTEM).items)


def test_check_import_and_revert_from_the_page(admin: FlaskClient, engine: CrmEngine) -> None:
    body = "姓名,客户\n李伟,A1\n王芳,NOPE\n".encode("gbk")
    mapping = '{"姓名": "name", "客户": "account.code"}'
    checked = _post(admin, body, encoding="gbk", mapping=mapping, dry_run="1", on_error="skip")
    assert "Dry run: nothing was written" in checked
    assert re.search(r'class="crm-inserted">1<', checked) and re.search(r'class="crm-rejected">1<', checked)
    assert "unknown_reference" in checked and "NOPE" in checked
    assert _count(engine) == 0

    done = _post(admin, body, encoding="gbk", mapping=mapping, on_error="skip")
    assert re.search(r'class="crm-inserted">1<', done) and 'id="import-1"' in done
    assert [(c["name"], c["account"]) for c in engine.records.list("contact", actor=SYSTEM).items] == [("李伟", 1)]

    revert = admin.post("/admin/imports/revert/1/", data={"csrf_token": token(admin, "/admin/imports/")})
    assert revert.status_code == 302
    page = admin.get("/admin/imports/").get_data(as_text=True)
    assert "Import 1 reverted: 1 record(s) deleted, 0 restored." in page
    assert _count(engine) == 0


def test_refusals_come_back_on_the_page(admin: FlaskClient, engine: CrmEngine) -> None:
    wrong = _post(admin, b"name,account.city\nAnn,x\n")
    assert "unknown_key" in wrong and _count(engine) == 0
    bad_map = _post(admin, b"name\nAnn\n", mapping="{nope")
    assert "not JSON" in bad_map
    no_csrf = admin.post("/admin/imports/revert/1/", data={})
    assert no_csrf.status_code == 302


def test_the_page_is_for_administrators(engine: CrmEngine, admin: FlaskClient) -> None:
    rep = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(rep, "rita")
    assert rep.get("/admin/imports/").status_code in (302, 403)
