"""The record service on SQLite and PostgreSQL: CRUD, concurrency, references, filters, audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConflictError, NotFoundError, RecordValidationError, ReferenceIntegrityError, UsageError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import SYSTEM, acting_for, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True, "max_length": 100},
            "industry": {"type": "enum", "choices": ["telecom", "banking", "retail"]},
            "tags": {"type": "multi_enum", "choices": ["vip", "new", "churn_risk"]},
            "email": {"type": "email", "unique": True},
            "founded": {"type": "date"},
            "active": {"type": "boolean", "default": True},
        },
    },
    "contact": {
        "fields": {
            "name": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "on_delete": "set_null"},
        }
    },
    "opportunity": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "required": True, "on_delete": "cascade"},
            "amount": {"type": "money", "minimum": 0},
            "stage": {"type": "enum", "choices": ["lead", "won", "lost"], "default": "lead"},
        },
        "unique": [["account", "title"]],
    },
    "order": {
        "fields": {
            "number": {"type": "string", "required": True},
            "opportunity": {"type": "reference", "target": "opportunity", "on_delete": "restrict"},
        }
    },
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    engine.apply(load_definitions(write_bundle(tmp_path, "sales", ENTITIES)))
    return engine


def test_create_fills_system_fields_defaults_and_converts(crm: CrmEngine) -> None:
    account = crm.records.create(
        "account",
        {"name": "Acme", "tags": ["vip"], "founded": "2001-05-04", "email": "info@acme.example"},
        actor=acting_for("alice"),
    )
    assert account["id"] == 1 and account["version"] == 1
    assert account["created_by"] == "alice" and account["owner"] == "alice"
    assert account["active"] is True
    assert account["founded"] == date(2001, 5, 4)
    assert account["tags"] == ["vip"]
    assert account["created_at"].tzinfo is not None
    opp = crm.records.create("opportunity", {"title": "Big deal", "account": 1, "amount": "1200.50"}, actor=SYSTEM)
    assert opp["amount"] == Decimal("1200.50") and opp["stage"] == "lead"


def test_invalid_record_reports_every_field(crm: CrmEngine) -> None:
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("account", {"industry": "farming", "founded": "yesterday", "colour": "red"}, actor=SYSTEM)
    codes = {(p.field, p.code) for p in caught.value.problems}
    assert codes == {("name", "required"), ("industry", "choice"), ("founded", "format"), ("colour", "unknown_field")}
    assert crm.records.list("account", actor=SYSTEM).total == 0


def test_reference_to_missing_record_names_the_field(crm: CrmEngine) -> None:
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("opportunity", {"title": "Ghost", "account": 99}, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("account", "unknown_reference")]


def test_unique_field_and_unique_together(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme", "email": "a@acme.example"}, actor=SYSTEM)
    with pytest.raises(ConflictError) as caught:
        crm.records.create("account", {"name": "Acme 2", "email": "a@acme.example"}, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("email", "unique")]
    crm.records.create("opportunity", {"title": "Deal", "account": 1}, actor=SYSTEM)
    with pytest.raises(ConflictError):
        crm.records.create("opportunity", {"title": "Deal", "account": 1}, actor=SYSTEM)


def test_update_with_stale_version_is_a_conflict(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    updated = crm.records.update("account", 1, {"industry": "telecom"}, expected_version=1, actor=acting_for("bob"))
    assert updated["version"] == 2 and updated["industry"] == "telecom"
    with pytest.raises(ConflictError) as caught:
        crm.records.update("account", 1, {"industry": "banking"}, expected_version=1, actor=SYSTEM)
    assert caught.value.problems[0].code == "stale_version"
    assert crm.records.get("account", 1, actor=SYSTEM)["industry"] == "telecom"


def test_update_validates_only_given_fields_and_refuses_null_required(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("account", 1, {"name": None}, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("name", "required")]
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("account", 1, {"version": 7}, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("version", "read_only")]


def test_unchanged_update_keeps_version(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    assert crm.records.update("account", 1, {"name": "Acme"}, actor=SYSTEM)["version"] == 1


def test_delete_honours_on_delete(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    crm.records.create("contact", {"name": "Ann", "account": 1}, actor=SYSTEM)
    crm.records.create("opportunity", {"title": "Deal", "account": 1}, actor=SYSTEM)
    crm.records.create("order", {"number": "SO-1", "opportunity": 1}, actor=SYSTEM)
    with pytest.raises(ReferenceIntegrityError) as caught:
        crm.records.delete("account", 1, actor=SYSTEM)
    assert caught.value.problems[0].code == "restricted"
    assert crm.records.get("account", 1, actor=SYSTEM)["name"] == "Acme", "a refused delete changes nothing"
    assert crm.records.get("contact", 1, actor=SYSTEM)["account"] == 1
    crm.records.delete("order", 1, actor=SYSTEM)
    crm.records.delete("account", 1, actor=acting_for("carol"))
    assert crm.records.list("opportunity", actor=SYSTEM).total == 0, "cascade"
    contact = crm.records.get("contact", 1, actor=SYSTEM)
    assert contact["account"] is None and contact["version"] == 2, "set_null is an audited update"
    with pytest.raises(NotFoundError):
        crm.records.get("account", 1, actor=SYSTEM)


def test_delete_with_stale_version(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    crm.records.update("account", 1, {"name": "Acme Ltd"}, actor=SYSTEM)
    with pytest.raises(ConflictError):
        crm.records.delete("account", 1, expected_version=1, actor=SYSTEM)


@pytest.fixture
def accounts(crm: CrmEngine) -> CrmEngine:
    rows = [
        ("Acme", "telecom", ["vip"], "2001-01-01"),
        ("Globex", "banking", ["vip", "new"], "2010-06-30"),
        ("Initech", "retail", [], None),
        ("Umbrella_Corp", None, ["churn_risk"], "1999-12-31"),
        ("acme east", "telecom", None, "2020-02-02"),
    ]
    for name, industry, tags, founded in rows:
        crm.records.create(
            "account", {"name": name, "industry": industry, "tags": tags, "founded": founded}, actor=SYSTEM
        )
    return crm


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"industry": "telecom"}, ["Acme", "acme east"]),
        ({"industry": {"ne": "telecom"}}, ["Globex", "Initech", "Umbrella_Corp"]),
        ({"industry": None}, ["Umbrella_Corp"]),
        ({"industry": {"is_null": False}, "founded": {"gte": "2005-01-01"}}, ["Globex", "acme east"]),
        ({"founded": {"lt": "2001-01-01"}}, ["Umbrella_Corp"]),
        ({"founded": {"lte": "2001-01-01"}}, ["Acme", "Umbrella_Corp"]),
        ({"id": {"gt": 3}}, ["Umbrella_Corp", "acme east"]),
        ({"industry": {"in": ["banking", "retail"]}}, ["Globex", "Initech"]),
        ({"name": {"contains": "ACME"}}, ["Acme", "acme east"]),
        ({"name": {"contains": "_"}}, ["Umbrella_Corp"]),
        ({"name": {"startswith": "g"}}, ["Globex"]),
        ({"tags": {"contains": "vip"}}, ["Acme", "Globex"]),
        ({"or": [{"industry": "banking"}, {"name": {"startswith": "init"}}]}, ["Globex", "Initech"]),
        ({"and": [{"industry": "telecom"}, {"not": {"name": "Acme"}}]}, ["acme east"]),
        ({"active": True}, ["Acme", "Globex", "Initech", "Umbrella_Corp", "acme east"]),
    ],
)
def test_filters(accounts: CrmEngine, where: dict[str, Any], expected: list[str]) -> None:
    page = accounts.records.list("account", where=where, sort="name", limit=100, actor=SYSTEM)
    assert sorted(r["name"] for r in page.items) == sorted(expected)
    assert page.total == len(expected)


def test_filters_of_one_form_run_with_their_own_values(accounts: CrmEngine) -> None:
    # lists whose filters differ only in their values share one statement, built once
    cases = [
        ({"industry": "telecom"}, ["Acme", "acme east"]),
        ({"industry": "banking"}, ["Globex"]),
        ({"industry": None}, ["Umbrella_Corp"]),
        ({"industry": {"in": ["banking", "retail"]}}, ["Globex", "Initech"]),
        ({"industry": {"in": ["telecom"]}}, ["Acme", "acme east"]),
        ({"industry": {"in": []}}, []),
        ({"name": {"contains": "_"}}, ["Umbrella_Corp"]),
        ({"name": {"contains": "%"}}, []),
        ({"name": {"contains": "GLOB"}}, ["Globex"]),
        ({"name": {"startswith": "acme"}}, ["Acme", "acme east"]),
        ({"tags": {"contains": "vip"}}, ["Acme", "Globex"]),
        ({"tags": {"contains": "churn_risk"}}, ["Umbrella_Corp"]),
        ({"founded": {"lt": "2001-01-01"}}, ["Umbrella_Corp"]),
        ({"founded": {"lt": "2015-01-01"}}, ["Acme", "Globex", "Umbrella_Corp"]),
        ({"or": [{"industry": "banking"}, {"name": "Acme"}]}, ["Acme", "Globex"]),
        ({"or": [{"industry": "retail"}, {"name": "acme east"}]}, ["Initech", "acme east"]),
        ({"active": True}, ["Acme", "Globex", "Initech", "Umbrella_Corp", "acme east"]),
        ({"active": None}, []),
        ({"industry": {"is_null": True}}, ["Umbrella_Corp"]),
        ({"industry": {"is_null": False}}, ["Acme", "Globex", "Initech", "acme east"]),
    ]
    for _round in range(2):
        for where, expected in cases:
            page = accounts.records.list("account", where=where, limit=100, actor=SYSTEM)
            assert sorted(r["name"] for r in page.items) == sorted(expected), where
            assert page.total == len(expected)
    # a page short of the limit gives the total without counting; a full one counts
    assert accounts.records.list("account", limit=2, offset=4, actor=SYSTEM).total == 5
    assert accounts.records.list("account", limit=2, offset=9, actor=SYSTEM).total == 5
    assert accounts.records.list("account", limit=2, actor=SYSTEM).total == 5


@pytest.mark.parametrize(
    ("where", "pointer", "code"),
    [
        ({"colour": "red"}, "/colour", "unknown_field"),
        ({"industry": {"like": "tele"}}, "/industry/like", "unknown_operator"),
        ({"founded": {"gt": "soon"}}, "/founded/gt", "invalid_value"),
        ({"or": {"industry": "x"}}, "/or", "type"),
        ({"or": [{"name": "a"}, {"nme": "b"}]}, "/or/1/nme", "unknown_field"),
        ([1, 2], "", "type"),
    ],
)
def test_bad_filters_name_the_pointer(accounts: CrmEngine, where: Any, pointer: str, code: str) -> None:
    with pytest.raises(UsageError) as caught:
        accounts.records.list("account", where=where, actor=SYSTEM)
    assert [(p.pointer, p.code) for p in caught.value.problems] == [(pointer, code)]


def test_sort_and_pagination_with_total(accounts: CrmEngine) -> None:
    page = accounts.records.list("account", sort="-founded,name", limit=2, offset=1, actor=SYSTEM)
    assert page.total == 5
    assert [r["name"] for r in page.items] == ["Globex", "Acme"]
    with pytest.raises(UsageError):
        accounts.records.list("account", sort="nmae", actor=SYSTEM)


def test_audit_log_records_who_when_what(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=acting_for("alice"))
    crm.records.update("account", 1, {"name": "Acme Ltd", "industry": "telecom"}, actor=acting_for("bob"))
    crm.records.delete("account", 1, actor=acting_for("carol"))
    entries = crm.records.audit("account", 1, actor=SYSTEM)
    summary = [(e["action"], e["field"], e["old_value"], e["new_value"], e["actor"]) for e in reversed(entries)]
    assert ("create", "name", None, "Acme", "alice") in summary
    assert ("update", "name", "Acme", "Acme Ltd", "bob") in summary
    assert ("update", "industry", None, "telecom", "bob") in summary
    assert summary[-1][0] == "delete" and summary[-1][2]["name"] == "Acme Ltd" and summary[-1][4] == "carol"


def test_unknown_entity_suggests_the_right_one(crm: CrmEngine) -> None:
    with pytest.raises(UsageError) as caught:
        crm.records.list("acount", actor=SYSTEM)
    assert '"account"' in caught.value.message


def test_entity_named_like_a_sql_keyword_works(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    crm.records.create("opportunity", {"title": "Deal", "account": 1}, actor=SYSTEM)
    order = crm.records.create("order", {"number": "SO-1", "opportunity": 1}, actor=SYSTEM)
    assert crm.records.list("order", where={"number": "SO-1"}, actor=SYSTEM).items[0]["id"] == order["id"]
