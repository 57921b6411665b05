"""Demo data agrees with itself where the engine derives values, on SQLite and PostgreSQL: an
order's total is its lines', a member's points balance is its ledger's and its spend and last
purchase are its purchases', a receivable's days overdue follow from its due date, and per-capita
figures from the sales and the people serving the account. The generator writes the children
and lets the engine compute the parents; asking the engine again changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import pytest

from engine.derived import settle
from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from tests.demo.demo_support import NOW, rows

SIZE = 600


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    yield engine
    engine.close()


def _demo(engine: CrmEngine, mode: str) -> None:
    load_preset(engine, mode)
    generate_demo(engine, mode, SIZE, now=NOW)


def _computed_again(engine: CrmEngine) -> dict[str, int]:
    """What the engine would change if it computed every derived value of the data again."""
    model = engine.model
    every = {name: [r["id"] for r in rows(engine, name)] for name in engine.derived.plan(model).entities_with_derived()}
    with engine.db.write() as tx:
        return settle(engine.derived, tx, model, every, NOW)


def _by(records: list[dict[str, object]], key: str) -> dict[object, list[dict[str, object]]]:
    out: dict[object, list[dict[str, object]]] = defaultdict(list)
    for r in records:
        out[r[key]].append(r)
    return out


def test_orders_and_quotes_total_their_lines(crm: CrmEngine) -> None:
    _demo(crm, "standard_product")
    assert _computed_again(crm) == {}
    for parent, child in (("sales_order", "order_line"), ("quote", "quote_line")):
        lines = _by(rows(crm, child), parent)
        records = rows(crm, parent)
        for record in records:
            mine = lines.get(record["id"], [])
            assert record["line_count"] == len(mine)
            assert record["total_amount"] == sum((line["line_amount"] for line in mine), Decimal(0))
            for line in mine:
                listed = (line["quantity"] * line["unit_price"]).quantize(Decimal("0.01"))
                assert line["list_amount"] == listed
        # an order or quote past its draft has lines: the transitions out of draft ask for them
        assert all(r["line_count"] for r in records if r["status"] not in ("draft", "cancelled")), parent
        assert all(r["order_number"].startswith("SO-") for r in records if parent == "sales_order")
    orders = rows(crm, "sales_order")
    assert all(o["distributor"] is not None for o in orders if o["channel"] == "distributor")


def test_members_balance_their_ledger_and_purchases(crm: CrmEngine) -> None:
    _demo(crm, "membership")
    assert _computed_again(crm) == {}
    ledger = _by(rows(crm, "points_entry"), "member")
    bought = _by(rows(crm, "purchase"), "member")
    members = rows(crm, "member")
    for member in members:
        entries = ledger.get(member["id"], [])
        signed = sum(-e["points"] if e["entry_type"] in ("redeem", "expire") else e["points"] for e in entries)
        assert member["points_balance"] == signed
        purchases = bought.get(member["id"], [])
        sales = [p["purchase_date"] for p in purchases if p["purchase_type"] == "sale"]
        assert member["last_purchase_date"] == (max(sales) if sales else None)
    assert all(e["points_change"] < 0 for es in ledger.values() for e in es if e["entry_type"] == "redeem")


def test_receivables_count_days_overdue_and_accounts_their_people(crm: CrmEngine) -> None:
    _demo(crm, "key_account")
    assert _computed_again(crm) == {}
    today = NOW.date()
    for r in rows(crm, "receivable"):
        owed = r["status"] not in ("collected", "written_off")
        expected = max(0, (today - r["due_date"]).days) if owed else 0
        assert r["overdue_days"] == expected, r  # the demo's clock is a midnight: whole days
    team = _by([m for m in rows(crm, "account_team_member") if m["until"] is None], "account")
    for account in rows(crm, "account"):
        people = len(team.get(account["id"], []))
        assert account["serving_headcount"] == people
        if people and account["annual_sales"] is not None:
            assert account["per_capita_sales"] == (account["annual_sales"] / people).quantize(Decimal("0.01"))
