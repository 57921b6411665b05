"""required_when and read_only_when, enforced alike by the services, the API and import."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError, RecordValidationError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from engine.web import create_app
from tests.derived.derived_support import order_book
from tests.support import SYSTEM

RULES: dict[str, Any] = {
    "channel": {"type": "enum", "choices": ["direct", "distributor"]},
    "distributor": {"type": "string", "required_when": {"==": [{"var": "record.channel"}, "distributor"]}},
    "number": {"type": "string", "required": True, "read_only_when": {"==": [{"var": "before.status"}, "confirmed"]}},
}


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    with CrmEngine(database_url) as engine:
        engine.apply(load_definitions(order_book(tmp_path, sales_order=RULES)))
        yield engine


def problems(error: pytest.ExceptionInfo[RecordValidationError]) -> set[tuple[str, str | None]]:
    return {(p.code, p.field) for p in error.value.problems}


def test_required_when_holds_only_when_its_rule_does(crm: CrmEngine) -> None:
    crm.records.create("sales_order", {"number": "SO-1", "channel": "direct"}, actor=SYSTEM)
    with pytest.raises(RecordValidationError) as refused:
        crm.records.create(
            "sales_order", {"number": "SO-2", "channel": "distributor", "distributor": "  "}, actor=SYSTEM
        )
    assert problems(refused) == {("required", "distributor")}
    made = crm.records.create(
        "sales_order", {"number": "SO-3", "channel": "distributor", "distributor": "国药控股"}, actor=SYSTEM
    )
    with pytest.raises(RecordValidationError) as refused:
        crm.records.update("sales_order", made["id"], {"distributor": None}, actor=SYSTEM)
    assert problems(refused) == {("required", "distributor")}
    crm.records.update(
        "sales_order", made["id"], {"channel": "direct", "distributor": None}, actor=SYSTEM
    )  # no longer required


def test_read_only_when_reads_the_record_before_the_change(crm: CrmEngine) -> None:
    made = crm.records.create("sales_order", {"number": "SO-1"}, actor=SYSTEM)
    crm.records.update(
        "sales_order", made["id"], {"number": "SO-1A", "status": "confirmed"}, actor=SYSTEM
    )  # still a draft before
    with pytest.raises(RecordValidationError) as refused:
        crm.records.update("sales_order", made["id"], {"number": "SO-1B"}, actor=SYSTEM)
    assert problems(refused) == {("read_only", "number")}
    assert crm.records.get("sales_order", made["id"], actor=SYSTEM)["number"] == "SO-1A"
    crm.records.update("sales_order", made["id"], {"channel": "direct"}, actor=SYSTEM)  # other fields still change


def test_the_api_and_import_refuse_alike(crm: CrmEngine, tmp_path: Path) -> None:
    crm.users.create("ada", roles=["admin"])
    token = crm.tokens.create("ada", name="t")
    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    answer = client.post(
        "/api/v1/records/sales_order",
        json={"number": "SO-9", "channel": "distributor"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    assert [(e["code"], e["field"]) for e in answer.json["errors"]] == [("required", "distributor")]
    schema = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).json
    distributor = schema["components"]["schemas"]["sales_order"]["properties"]["distributor"]
    assert distributor["x-required-when"] == RULES["distributor"]["required_when"]

    path = tmp_path / "orders.csv"
    path.write_text("number,channel,distributor\nSO-10,distributor,\nSO-11,distributor,华润医药\n", encoding="utf-8")
    report = import_csv(crm, "sales_order", path, on_error="skip", actor=SYSTEM)
    assert (report.inserted, report.rejected) == (1, 1)
    assert [(p.line, p.code, p.field) for p in report.problems] == [(2, "required", "distributor")]


def test_a_rule_reading_an_unknown_field_is_refused_with_its_pointer(tmp_path: Path) -> None:
    bad = {"distributor": {"type": "string", "required_when": {"==": [{"var": "record.chanel"}, "x"]}}}
    with pytest.raises(DefinitionError) as refused:
        load_definitions(order_book(tmp_path, sales_order=bad))
    assert [(p.code, p.pointer) for p in refused.value.problems] == [
        ("invalid_path", "/fields/distributor/required_when")
    ]


def test_the_admin_edit_form_marks_what_the_rules_require_and_fix(crm: CrmEngine) -> None:
    crm.users.create("ada", roles=["admin"])
    crm.users.set_password("ada", "open sesame")
    made = crm.records.create(
        "sales_order", {"number": "SO-7", "channel": "distributor", "distributor": "国药控股"}, actor=SYSTEM
    )
    crm.records.update("sales_order", made["id"], {"status": "confirmed"}, actor=SYSTEM)
    plain = crm.records.create("sales_order", {"number": "SO-8", "channel": "direct"}, actor=SYSTEM)
    client = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    login = client.get("/admin/login/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)
    assert csrf is not None
    client.post("/admin/login/", data={"csrf_token": csrf.group(1), "name": "ada", "password": "open sesame"})

    page = client.get(f"/admin/records/sales_order/edit/?id={made['id']}").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="number"[^>]*readonly', page)  # confirmed: the number is fixed
    assert _required_mark(page, "distributor")
    other = client.get(f"/admin/records/sales_order/edit/?id={plain['id']}").get_data(as_text=True)
    assert not re.search(r'<input[^>]*id="number"[^>]*readonly', other)
    assert not _required_mark(other, "distributor")


def _required_mark(page: str, name: str) -> bool:
    """Whether the form's label of ``name`` carries flask-admin's required star."""
    found = re.search(rf'<label[^>]*for="{name}"[^>]*>(.*?)</label>', page, re.S)
    return found is not None and "&#42;" in found.group(1)
