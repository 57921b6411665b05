"""Demo data of the presets that a business user would believe, on SQLite and PostgreSQL:
receivables collect at most what was invoiced, a planned visit is done once at most,
purchases and key-account consumption span the last one to two years with busy months, key
accounts consume what key accounts do, and an approved 立项 earns the evaluation its approval
needed once the scorings run.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from tests.demo.demo_support import NOW, check_history, check_records, rows

SIZE = 1000


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    yield engine
    engine.close()


def _demo(engine: CrmEngine, mode: str, industry: str | None = None) -> None:
    load_preset(engine, mode, industry=industry)
    generate_demo(engine, mode if industry is None else f"{mode}_{industry}", SIZE, now=NOW)


def test_receivables_collect_at_most_the_amount(crm: CrmEngine) -> None:
    _demo(crm, "key_account")
    receivables = rows(crm, "receivable")
    statuses = Counter(r["status"] for r in receivables)
    assert statuses["collected"] and statuses["partially_collected"] and statuses["open"]
    for r in receivables:
        collected = r["collected_amount"] or Decimal(0)
        assert Decimal(0) <= collected <= r["amount"], r
        if r["status"] == "collected":
            assert collected == r["amount"]
        if r["status"] == "partially_collected":
            assert Decimal(0) < collected < r["amount"]
    check_records(crm)
    check_history(crm)


def test_key_accounts_consume_over_two_years_with_busy_months(crm: CrmEngine) -> None:
    _demo(crm, "key_account")
    consumption = rows(crm, "consumption")
    months = Counter(c["period"] for c in consumption)
    last_year = f"{NOW.year - 1}-{NOW.month:02d}"
    assert len(months) >= 18 and min(months) <= f"{NOW.year - 1}-01"
    # the last twelve months: hundreds of thousands to tens of millions per account, long-tailed
    yearly: dict[int, Decimal] = defaultdict(Decimal)
    for c in consumption:
        if c["period"] > last_year:
            yearly[c["account"]] += c["amount"]
    totals = sorted(yearly.values())
    assert 100_000 <= statistics.median(totals) <= 10_000_000
    assert totals[-1] >= 5_000_000 and totals[-1] >= 5 * statistics.median(totals)
    assert all(c["amount"] > 1000 for c in consumption)


def test_a_planned_visit_is_done_once_at_most(crm: CrmEngine) -> None:
    _demo(crm, "promotion")
    items = {i["id"]: i for i in rows(crm, "visit_plan_item")}
    done = Counter(a["visit_plan_item"] for a in rows(crm, "activity") if a["visit_plan_item"] and a["done_at"])
    assert done and max(done.values()) == 1
    planned_per_rep = Counter(i["owner"] for i in items.values())
    done_per_rep = Counter(items[item]["owner"] for item in done)
    assert all(done_per_rep[rep] <= planned_per_rep[rep] for rep in done_per_rep)


def test_purchases_span_the_last_two_years_with_busy_months(crm: CrmEngine) -> None:
    _demo(crm, "membership")
    dates = [p["purchase_date"] for p in rows(crm, "purchase")]
    assert min(dates) <= NOW.date() - timedelta(days=365) and max(dates) <= NOW.date()
    by_month = Counter((d.year, d.month) for d in dates)
    assert len(by_month) >= 20
    # year end (Double 11, December) sells more than the summer
    busy = sum(n for (_, month), n in by_month.items() if month in (11, 12))
    quiet = sum(n for (_, month), n in by_month.items() if month in (7, 8))
    assert busy > quiet
    # recency spreads: some members bought last month, some not for half a year
    last: dict[int, date] = {}
    for p in rows(crm, "purchase"):
        last[p["member"]] = max(last.get(p["member"], p["purchase_date"]), p["purchase_date"])
    assert any(d >= NOW.date() - timedelta(days=30) for d in last.values())
    assert any(d <= NOW.date() - timedelta(days=180) for d in last.values())


@pytest.mark.parametrize(
    ("industry", "threshold"),
    [(None, 60), ("engineering_equipment", 70)],
    ids=["complex_sale", "engineering_equipment"],
)
def test_an_approved_project_earns_the_evaluation_it_needed(
    crm: CrmEngine, industry: str | None, threshold: int
) -> None:
    _demo(crm, "complex_sale", industry)
    runs = crm.scoring.run(now=NOW)
    assert [r.error for r in runs] == [None] * len(runs)
    projects = rows(crm, "project")
    approved = [p for p in projects if p["approval_status"] == "approved"]
    assert approved and len(approved) < len(projects)
    for p in approved:
        assert p["evaluation_score"] >= threshold and p["evaluation_grade"] != "drop", p
    # projects nobody approved still show the whole range
    assert {p["evaluation_grade"] for p in projects} >= {"pursue", "drop"}
    check_records(crm)
    check_history(crm)
