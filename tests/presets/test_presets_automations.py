"""The presets' automations on SQLite and PostgreSQL, as a user meets them: renewals,
expiry and overdue receivables (key account), the order re-check task handed to finance
and closed by the approval (standard product), birthdays, dormancy and yearly level
reviews (membership). The clock is moved by passing ``now`` to the tick."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from engine.automations import tick
from engine.presets import load_preset
from engine.runtime import CrmEngine
from engine.workflow import TransitionRefusedError
from tests.presets.presets_support import USERS
from tests.support import SYSTEM

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)
TODAY = NOW.date()


def engine_with(database_url: str, preset: str) -> CrmEngine:
    crm = CrmEngine(database_url)
    load_preset(crm, preset)
    for name, roles in USERS.items():
        crm.users.create(name, roles=list(roles), team="sales")
    return crm


@pytest.fixture
def key_account(database_url: str) -> Iterator[CrmEngine]:
    crm = engine_with(database_url, "key_account")
    yield crm
    crm.close()


def run(crm: CrmEngine, entity: str, record_id: int, *steps: tuple[str, str, dict[str, Any] | None]) -> None:
    for transition, user, inputs in steps:
        crm.workflows.run(entity, record_id, transition, user=crm.users.get(user), inputs=inputs, now=NOW)


def tasks(crm: CrmEngine, **match: Any) -> list[dict[str, Any]]:
    found = crm.records.list("task", actor=SYSTEM, limit=500).items
    return [t for t in found if all(t.get(k) == v for k, v in match.items())]


def status(crm: CrmEngine, entity: str, record_id: int) -> str:
    return str(crm.records.get(entity, record_id, actor=SYSTEM)["status"])


def agreement_in_force(crm: CrmEngine, account: int, ends: date) -> int:
    values = {
        "account": account,
        "title": "年度通信服务协议",
        "start_date": str(ends - timedelta(days=365)),
        "end_date": str(ends),
        "committed_amount": "1200000",
        "discount_rate": "3",
        "signed_on": str(ends - timedelta(days=370)),
        "owner": "rita",
    }
    record = crm.records.create("agreement", values, actor=SYSTEM)
    run(crm, "agreement", record["id"], ("submit", "rita", None), ("approve", "mia", {"comment": "ok"}))
    run(crm, "agreement", record["id"], ("sign", "rita", None))
    return int(record["id"])


def test_key_account_renews_expires_and_collects_by_itself(key_account: CrmEngine) -> None:
    crm = key_account
    account = crm.records.create("account", {"name": "中国移动陕西分公司", "owner": "rita"}, actor=SYSTEM)["id"]
    ended = agreement_in_force(crm, account, TODAY - timedelta(days=3))
    ending = agreement_in_force(crm, account, TODAY + timedelta(days=40))
    later = agreement_in_force(crm, account, TODAY + timedelta(days=200))
    receivable = crm.records.create(
        "receivable",
        {
            "account": account,
            "invoice_number": "INV-2026-118",
            "invoice_date": str(TODAY - timedelta(days=40)),
            "due_date": str(TODAY - timedelta(days=10)),
            "amount": "50000",
            "collected_amount": "0",
            "owner": "rita",
        },
        actor=SYSTEM,
    )["id"]

    first = tick(crm, now=NOW)
    assert first.planned == {"agreement_expiry": 1, "agreement_renewal_reminder": 1, "receivable_overdue": 1}
    again = tick(crm, now=NOW + timedelta(hours=1))
    assert again.planned == {}  # once per record and occurrence

    assert [status(crm, "agreement", i) for i in (ended, ending, later)] == ["expired", "active", "active"]
    history = crm.workflows.history("agreement", ended, actor=SYSTEM)
    assert history[-1]["transition"] == "expire" and history[-1]["actor"] == "system:automation:agreement_expiry"
    (renewal,) = tasks(crm, agreement=ending)
    assert renewal["assignee"] == "rita" and renewal["due"] == TODAY + timedelta(days=40)
    assert renewal["priority"] == "high" and renewal["title"].startswith("Renew agreement KA-")

    assert status(crm, "receivable", receivable) == "overdue"
    (collection,) = tasks(crm, receivable=receivable)
    assert collection["assignee"] == "fiona"  # the only finance user, by collection_task_to_finance
    assert "INV-2026-118" in collection["title"]


def test_a_renewal_missed_by_more_than_sixty_days_is_not_created_late(key_account: CrmEngine) -> None:
    crm = key_account
    account = crm.records.create("account", {"name": "Shaanxi Power Grid", "owner": "rita"}, actor=SYSTEM)["id"]
    ending = agreement_in_force(crm, account, TODAY + timedelta(days=40))
    tick(crm, now=NOW + timedelta(days=45))  # the server was down; the agreement has ended
    assert tasks(crm, agreement=ending) == []
    assert status(crm, "agreement", ending) == "expired"


def test_standard_product_order_recheck_goes_to_finance_and_closes_on_approval(database_url: str) -> None:
    crm = engine_with(database_url, "standard_product")
    try:
        account = crm.records.create("account", {"name": "西安华信环保科技有限公司", "owner": "rita"}, actor=SYSTEM)
        product = crm.records.create("product", {"name": "GPS tracker T8", "owner": "rita"}, actor=SYSTEM)
        order = crm.records.create(
            "sales_order",
            {"account": account["id"], "channel": "direct", "order_date": str(TODAY), "owner": "rita"},
            actor=SYSTEM,
        )
        line = {"sales_order": order["id"], "product": product["id"], "quantity": 10, "unit_price": "980"}
        crm.records.create("order_line", line, actor=SYSTEM)
        other = {"title": "Confirm the delivery date", "sales_order": order["id"], "owner": "rita"}
        follow_up = crm.records.create("task", other, actor=SYSTEM)["id"]
        run(crm, "sales_order", order["id"], ("submit", "rita", None), ("review", "sam", None))
        (recheck,) = [t for t in tasks(crm, sales_order=order["id"]) if t["id"] != follow_up]
        assert recheck["assignee"] == "fiona" and recheck["status"] == "open"
        assert recheck["title"].startswith("Re-check order SO-")

        run(crm, "sales_order", order["id"], ("approve", "fiona", None))
        closed = crm.records.get("task", recheck["id"], actor=SYSTEM)
        assert closed["status"] == "done" and closed["done_at"] is not None
        untouched = crm.records.get("task", follow_up, actor=SYSTEM)
        assert untouched["status"] == "open" and untouched["assignee"] is None  # not the re-check
    finally:
        crm.close()


def test_membership_birthdays_dormancy_and_level_reviews(database_url: str) -> None:
    crm = engine_with(database_url, "membership")
    try:

        def member(name: str, **values: Any) -> int:
            base = {"member_number": f"M-{name}", "name": name, "owner": "sid"}
            return int(crm.records.create("member", {**base, **values}, actor=SYSTEM)["id"])

        birthday = member("王芳", birthday=str(date(1990, 12, 8)), join_date=str(TODAY - timedelta(days=60)))
        quiet = member("李强", join_date=str(TODAY - timedelta(days=400)))
        recent = member("赵敏", join_date=str(TODAY - timedelta(days=30)))
        silver = member("陈静", join_date=str(date(2025, 12, 6)))  # a year ago today
        run(crm, "member", silver, ("upgrade_to_silver", "mia", None))  # a manager's override

        tick(crm, now=NOW)
        (care,) = tasks(crm, member=birthday, care_type="birthday")
        assert care["due"] == date(2026, 12, 8) and "王芳" in care["title"]
        (review,) = tasks(crm, member=silver, care_type="level_review")
        assert "silver" in review["title"] and review["due"] == TODAY
        assert tasks(crm, member=quiet, care_type="level_review") == []  # basic has no level to keep
        tick(crm, now=NOW + timedelta(days=1))
        assert len(tasks(crm, member=birthday, care_type="birthday")) == 1  # once a year

        # the schedule runs at 02:00 UTC; a member who joined 400 days ago and never bought sleeps
        tick(crm, now=datetime(2026, 12, 8, 2, 0, 30, tzinfo=UTC))
        assert status(crm, "member", quiet) == "dormant"
        assert status(crm, "member", recent) == "active" and status(crm, "member", birthday) == "active"
        assert [t["care_type"] for t in tasks(crm, member=quiet)] == ["inactivity"]  # the win-back task
    finally:
        crm.close()


def test_a_lead_without_an_account_converts_into_a_linked_account_contact_and_opportunity(database_url: str) -> None:
    crm = engine_with(database_url, "standard_product")
    try:
        values = {
            "company": "西安华信环保科技有限公司",
            "contact_name": "王建国",
            "job_title": "设备部经理",
            "mobile": "13891234567",
            "city": "西安",
            "budget": "380000",
            "need": "在线监测设备更新换代,年内采购",
            "purchase_timeframe": "within_3_months",
            "owner": "rita",
        }
        lead = crm.records.create("lead", values, actor=SYSTEM)["id"]
        run(crm, "lead", lead, ("contact", "rita", None), ("qualify", "rita", None))
        with pytest.raises(TransitionRefusedError):  # no account chosen: this conversion is not the one
            run(crm, "lead", lead, ("convert", "rita", None))
        run(crm, "lead", lead, ("convert_new_account", "rita", None))

        (account,) = crm.records.list("account", actor=SYSTEM).items
        assert (account["name"], account["city"]) == ("西安华信环保科技有限公司", "西安")
        (contact,) = crm.records.list("contact", actor=SYSTEM).items
        assert (contact["name"], contact["account"], contact["mobile"]) == ("王建国", account["id"], "13891234567")
        (opportunity,) = crm.records.list("opportunity", actor=SYSTEM).items
        assert (opportunity["account"], opportunity["contact"], opportunity["lead"]) == (
            account["id"],
            contact["id"],
            lead,
        )
        assert status(crm, "lead", lead) == "converted"
        assert crm.records.get("lead", lead, actor=SYSTEM)["account"] == account["id"]  # link_converted_lead
        assert account["owner"] == contact["owner"] == opportunity["owner"] == "rita"
    finally:
        crm.close()
