"""The standard-product preset's duplicate rules, on its demo data (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.duplicates import DuplicateError
from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from engine.storage import audit_log, duplicate_keys
from tests.support import SYSTEM


@pytest.fixture
def standard(engine: CrmEngine) -> CrmEngine:
    load_preset(engine, "standard_product")
    generate_demo(engine, "standard_product", 200, seed=3)
    return engine


def test_the_preset_declares_rules_for_accounts_contacts_and_leads(standard: CrmEngine) -> None:
    entities = standard.model.definitions.entities
    rules = {name: {(r.name, r.action) for r in entities[name].duplicates} for name in ("account", "contact", "lead")}
    assert rules == {
        "account": {("same_company", "block"), ("same_phone", "warn")},
        "contact": {("same_mobile", "block"), ("same_email", "block"), ("same_phone", "warn")},
        "lead": {("same_mobile", "warn"), ("same_company", "warn")},
    }


def test_demo_records_are_keyed_and_a_copy_of_one_is_refused(standard: CrmEngine) -> None:
    account = standard.records.list("account", where={"city": {"is_null": False}}, limit=1, actor=SYSTEM).items[0]
    with standard.db.read() as conn:
        keyed = conn.execute(
            sa.select(sa.func.count()).select_from(duplicate_keys).where(duplicate_keys.c.entity == "account")
        ).scalar()
    assert keyed and keyed >= standard.records.list("account", limit=0, actor=SYSTEM).total // 2
    copy = {"name": f" {account['name']} ", "city": account["city"], "code": None, "credit_code": None}
    with pytest.raises(DuplicateError) as raised:
        standard.records.create("account", copy, actor=SYSTEM)
    assert account["id"] in [c.id for c in raised.value.candidates]


def test_duplicates_the_demo_made_are_recorded_as_confirmed_by_the_system(standard: CrmEngine) -> None:
    blocked = [g for name in ("account", "contact") for g in standard.duplicates.scan(name, actor=SYSTEM)]
    blocked = [g for g in blocked if g.action == "block"]
    with standard.db.read() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.action == "allow_duplicate")).mappings().all()
    assert len(rows) == sum(len(g.ids) - 1 for g in blocked)
    assert all(r["actor"] == "system:demo" for r in rows)


def test_converting_a_lead_into_a_company_that_exists_is_refused_and_nothing_is_created(
    standard: CrmEngine,
) -> None:
    standard.users.create("ada", roles=["admin"])
    ada = standard.users.get("ada")
    standard.records.create("account", {"name": "西安华信环保科技有限公司", "city": "西安"}, actor=SYSTEM)
    lead = standard.records.create(
        "lead",
        {"company": "华信环保科技（西安）有限公司", "city": "西安", "contact_name": "王磊", "need": "除尘设备"},
        actor=SYSTEM,
    )
    for transition in ("contact", "qualify"):
        standard.workflows.run("lead", lead["id"], transition, user=ada)
    accounts = standard.records.list("account", limit=0, actor=SYSTEM).total
    with pytest.raises(DuplicateError) as raised:
        standard.workflows.run("lead", lead["id"], "convert_new_account", user=ada)
    assert raised.value.candidates[0].display == "西安华信环保科技有限公司"
    assert standard.records.list("account", limit=0, actor=SYSTEM).total == accounts
    assert standard.records.get("lead", lead["id"], actor=SYSTEM)["status"] == "qualified"
