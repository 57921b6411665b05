"""What the record service refuses at input, on SQLite and PostgreSQL: blank required texts,
text no database stores, references the user may not follow, owners that are not users;
and every problem of one request reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import RecordValidationError
from engine.runtime import CrmEngine
from engine.transfer import export_csv
from tests.records.records_support import set_up
from tests.support import SYSTEM


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return set_up(engine, tmp_path)


def _codes(error: pytest.ExceptionInfo[Any]) -> list[tuple[str | None, str]]:
    return [(p.field, p.code) for p in error.value.problems]


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_required_text_blank_after_trimming_is_missing(crm: CrmEngine, blank: str) -> None:
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("account", {"name": blank}, actor=SYSTEM)
    assert _codes(caught) == [("name", "required")]
    created = crm.records.create("account", {"name": "Acme", "notes": blank}, actor=SYSTEM)  # optional: kept as given
    assert created["notes"] == blank
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("account", created["id"], {"name": blank}, actor=SYSTEM)
    assert _codes(caught) == [("name", "required")]
    assert crm.records.list("account", actor=SYSTEM).total == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Ac\ud800me"}, "name"),
        ({"name": "Acme\x00"}, "name"),
        ({"name": "Acme", "notes": "\udfff"}, "notes"),
        ({"name": "Acme", "extra": {"a": ["\ud800"]}}, "extra"),
        ({"name": "Acme", "extra": {"\ud83d": 1}}, "extra"),
        ({"name": "Acme", "extra": "\x00"}, "extra"),
        ({"name": "Acme", "tags": ["vip", "\ud800"]}, "tags"),
        ({"name": "Acme", "owner": "ann\ud800"}, "owner"),
    ],
)
def test_unstorable_text_is_refused_and_lists_and_exports_still_work(
    crm: CrmEngine, tmp_path: Path, data: dict[str, Any], field: str
) -> None:
    crm.records.create("account", {"name": "Kept", "extra": {"k": "\U0001f600"}}, actor=SYSTEM)
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("account", data, actor=SYSTEM)
    assert [p.field for p in caught.value.problems] == [field]
    with pytest.raises(RecordValidationError):
        crm.records.update("account", 1, {k: v for k, v in data.items() if k != "name"} or data, actor=SYSTEM)
    page = crm.records.list("account", actor=SYSTEM)
    assert [r["name"] for r in page.items] == ["Kept"]
    assert crm.records.get("account", 1, actor=SYSTEM)["extra"] == {"k": "\U0001f600"}
    export_csv(crm, "account", tmp_path / "out.csv", actor=SYSTEM)
    assert "Kept" in (tmp_path / "out.csv").read_text(encoding="utf-8")


def test_every_problem_of_a_request_at_once(crm: CrmEngine) -> None:
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create(
            "deal", {"title": " ", "stage": "won", "colour": "red", "account": 99, "owner": "nobody"}, actor=SYSTEM
        )
    assert sorted(_codes(caught)) == sorted(
        [
            ("stage", "workflow_field"),
            ("title", "required"),
            ("colour", "unknown_field"),
            ("account", "unknown_reference"),
            ("owner", "unknown_owner"),
        ]
    )
    account = crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    deal = crm.records.create("deal", {"title": "Deal"}, actor=SYSTEM)
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("deal", deal["id"], {"stage": "won", "title": "", "account": 99, "colour": 1}, actor=SYSTEM)
    assert sorted(_codes(caught)) == sorted(
        [
            ("stage", "workflow_field"),
            ("title", "required"),
            ("account", "unknown_reference"),
            ("colour", "unknown_field"),
        ]
    )
    assert crm.records.get("deal", deal["id"], actor=SYSTEM)["version"] == 1
    crm.records.update("deal", deal["id"], {"account": account["id"]}, actor=SYSTEM)


def test_a_reference_to_a_missing_record_is_an_invalid_record(crm: CrmEngine) -> None:
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("deal", {"title": "Ghost", "account": 99}, actor=SYSTEM)
    assert _codes(caught) == [("account", "unknown_reference")]
    assert caught.value.http_status == 422


def test_a_reference_outside_the_read_scope_is_refused_like_a_missing_one(crm: CrmEngine) -> None:
    ann, bob = crm.users.get("ann"), crm.users.get("bob")
    bobs = crm.records.create("account", {"name": "Bob's"}, actor=bob)
    anns = crm.records.create("account", {"name": "Ann's"}, actor=ann)
    missing_id = bobs["id"] + anns["id"] + 10
    refusals = []
    for target in (bobs["id"], missing_id):
        with pytest.raises(RecordValidationError) as caught:
            crm.records.create("deal", {"title": "Deal", "account": target}, actor=ann)
        refusals.append([(p.field, p.code, p.message.replace(str(target), "N")) for p in caught.value.problems])
    assert (
        refusals[0]
        == refusals[1]
        == [("account", "unknown_reference", "account N does not exist; pick an existing account id")]
    )
    deal = crm.records.create("deal", {"title": "Deal", "account": anns["id"]}, actor=ann)
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("deal", deal["id"], {"account": bobs["id"]}, actor=ann)
    assert _codes(caught) == [("account", "unknown_reference")]
    # the system (no user) and an administrator follow every reference
    crm.records.create("deal", {"title": "Sys", "account": bobs["id"]}, actor=SYSTEM)


@pytest.mark.parametrize(("owner", "accepted"), [("bob", True), ("system", True), ("gone", False), ("nobody", False)])
def test_owner_must_be_an_active_user(crm: CrmEngine, owner: str, accepted: bool) -> None:
    account = crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    if accepted:
        assert crm.records.create("account", {"name": "Other", "owner": owner}, actor=SYSTEM)["owner"] == owner
        assert crm.records.update("account", account["id"], {"owner": owner}, actor=SYSTEM)["owner"] == owner
        return
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("account", {"name": "Other", "owner": owner}, actor=SYSTEM)
    assert _codes(caught) == [("owner", "unknown_owner")]
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("account", account["id"], {"owner": owner}, actor=SYSTEM)
    assert _codes(caught) == [("owner", "unknown_owner")]
    assert crm.records.create("account", {"name": "Nobody's", "owner": None}, actor=SYSTEM)["owner"] is None
