"""Rollups with a time window (``within``): counted on every write by the clock of that write,
and kept current as time passes by the daily refresh, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from engine.users import SYSTEM_USER
from tests.derived.derived_support import MEMBER, loyalty_book
from tests.support import SYSTEM, CliResult


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    with CrmEngine(database_url) as engine:
        engine.apply(load_definitions(loyalty_book(tmp_path)))
        yield engine


def today() -> date:
    return datetime.now(UTC).date()


def days_ago(days: int) -> str:
    return (today() - timedelta(days=days)).isoformat()


def member(crm: CrmEngine, household: int | None = None, name: str = "Ana") -> dict[str, Any]:
    return crm.records.create("member", {"name": name, "household": household}, actor=SYSTEM)


def purchase(crm: CrmEngine, member_id: int, amount: str, purchased: str | None, **values: Any) -> dict[str, Any]:
    data = {"member": member_id, "amount": amount, "purchased_at": purchased, **values}
    return crm.records.create("purchase", data, actor=SYSTEM)


def get(crm: CrmEngine, entity: str, record_id: int) -> dict[str, Any]:
    return crm.records.get(entity, record_id, actor=SYSTEM)


def refresh(crm: CrmEngine, now: datetime | None = None) -> dict[str, int]:
    """The daily refresh (what ``crm derived refresh`` runs), by the clock ``now``."""
    plan = crm.derived.plan(crm.model)
    daily = [name for name in plan.entities_with_derived() if plan.entity(name).daily]
    return crm.derived.refresh_entities(crm.model, daily, actor=SYSTEM_USER.name, now=now)


def test_only_children_within_the_period_count(crm: CrmEngine) -> None:
    m = member(crm)
    purchase(crm, m["id"], "700.00", days_ago(400))  # a year and more ago
    assert get(crm, "member", m["id"])["annual_spend"] == Decimal("0.00")
    purchase(crm, m["id"], "10.00", days_ago(10))
    purchase(crm, m["id"], "1.00", days_ago(365))  # the first day of the window
    purchase(crm, m["id"], "2.00", days_ago(366))  # the day before it
    purchase(crm, m["id"], "0.50", days_ago(0))  # today
    purchase(crm, m["id"], "99.00", None)  # no date: never counted
    assert get(crm, "member", m["id"])["annual_spend"] == Decimal("11.50")


def test_moving_a_child_in_or_out_of_the_window_recounts(crm: CrmEngine) -> None:
    m = member(crm)
    old = purchase(crm, m["id"], "700.00", days_ago(400))
    crm.records.update("purchase", old["id"], {"purchased_at": days_ago(3)}, actor=SYSTEM)
    assert get(crm, "member", m["id"])["annual_spend"] == Decimal("700.00")
    crm.records.update("purchase", old["id"], {"purchased_at": None}, actor=SYSTEM)
    assert get(crm, "member", m["id"])["annual_spend"] == Decimal("0.00")


def test_where_and_within_must_both_hold(crm: CrmEngine) -> None:
    m = member(crm)
    purchase(crm, m["id"], "150.00", days_ago(5))  # big and recent: counted
    purchase(crm, m["id"], "20.00", days_ago(5))  # recent, not big
    purchase(crm, m["id"], "500.00", days_ago(45))  # big, not recent
    assert get(crm, "member", m["id"])["big_purchases_30d"] == 1
    after = refresh(crm, datetime.now(UTC) + timedelta(days=26))  # the big recent one is now 31 days old
    assert after["member"] == 1
    assert get(crm, "member", m["id"])["big_purchases_30d"] == 0


def test_a_datetime_window_counts_from_now(crm: CrmEngine) -> None:
    m = member(crm)
    now = datetime.now(UTC)
    purchase(crm, m["id"], "1.00", None, paid_at=(now - timedelta(hours=2)).isoformat())
    purchase(crm, m["id"], "1.00", None, paid_at=(now - timedelta(hours=30)).isoformat())
    assert get(crm, "member", m["id"])["paid_today"] == 1
    refresh(crm, now + timedelta(hours=21, minutes=59))
    assert get(crm, "member", m["id"])["paid_today"] == 1
    refresh(crm, now + timedelta(hours=22, minutes=1))
    assert get(crm, "member", m["id"])["paid_today"] == 0


def test_the_daily_refresh_drops_what_aged_out_and_everything_depending_on_it(crm: CrmEngine) -> None:
    household = crm.records.create("household", {"name": "Silva"}, actor=SYSTEM)
    m = member(crm, household["id"])
    other = member(crm, household["id"], "Rui")
    bought = purchase(crm, m["id"], "900.00", days_ago(10))
    purchase(crm, m["id"], "300.00", days_ago(300))
    purchase(crm, other["id"], "5.00", days_ago(1))
    before = get(crm, "member", m["id"])
    assert (before["annual_spend"], before["status"]) == (Decimal("1200.00"), "gold")
    assert get(crm, "household", household["id"])["total_spend"] == Decimal("1205.00")
    assert get(crm, "purchase", bought["id"])["member_status"] == "gold"
    since = crm.events.list(user=SYSTEM_USER, limit=1000)[-1].id

    assert refresh(crm) == {"member": 0}  # nothing moved yet
    changed = refresh(crm, datetime.now(UTC) + timedelta(days=100))  # the 300-day-old purchase ages out
    assert changed == {"member": 1}

    after = get(crm, "member", m["id"])
    assert (after["annual_spend"], after["status"]) == (Decimal("900.00"), "standard")  # a compute reading it
    assert after["version"] == before["version"] + 1
    assert get(crm, "household", household["id"])["total_spend"] == Decimal("905.00")  # a parent up the chain
    assert get(crm, "purchase", bought["id"])["member_status"] == "standard"  # a path reading the compute
    assert get(crm, "member", other["id"])["annual_spend"] == Decimal("5.00")

    events = crm.events.list(user=SYSTEM_USER, since=since)
    moved = [(e.entity, e.record_id) for e in events if e.type == "record.updated"]
    assert ("member", m["id"]) in moved and ("household", household["id"]) in moved
    update = next(e for e in events if (e.entity, e.record_id) == ("member", m["id"]))
    assert update.payload["changes"]["annual_spend"] == {"old": "1200.00", "new": "900.00"}
    trail = crm.records.audit("member", m["id"], actor=SYSTEM)  # newest first
    last = {
        row["field"]: (row["old_value"], row["new_value"]) for row in trail if row["change_id"] == trail[0]["change_id"]
    }
    assert last["annual_spend"] == ("1200.00", "900.00") and last["status"] == ("gold", "standard")


def test_an_import_and_a_later_window_fill_their_records(crm: CrmEngine, tmp_path: Path, database_url: str) -> None:
    m = member(crm)
    path = tmp_path / "purchases.csv"
    rows = [f"{m['id']},{amount},{days_ago(days)}" for amount, days in (("40.00", 2), ("60.00", 200), ("80.00", 500))]
    path.write_text("member,amount,purchased_at\n" + "\n".join(rows) + "\n")
    report = import_csv(crm, "purchase", path, actor=SYSTEM)
    assert report.inserted == 3
    assert get(crm, "member", m["id"])["annual_spend"] == Decimal("100.00")

    # a narrower window added by a schema change is filled for the records already there
    rollup = {**MEMBER["annual_spend"]["rollup"], "within": {"field": "purchased_at", "period": "P4W"}}
    crm.apply(load_definitions(loyalty_book(tmp_path, member={"annual_spend": {"type": "money", "rollup": rollup}})))
    assert get(crm, "member", m["id"])["annual_spend"] == Decimal("40.00")


def test_crm_derived_refresh_recounts_windows(
    database_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(loyalty_book(tmp_path)))
        m = member(crm)
        p = purchase(crm, m["id"], "1500.00", days_ago(10))
        assert get(crm, "member", m["id"])["status"] == "gold"
        with crm.db.write() as tx:  # time passes: the purchase is now 400 days old
            table = crm.model.table("purchase")
            tx.execute(sa.update(table).where(table.c.id == p["id"]).values(purchased_at=today() - timedelta(400)))

    daily = run_cli("--database-url", database_url, "derived", "refresh", "--json")
    assert daily.exit_code == 0, daily.stderr
    assert daily.json() == {"changed": {"member": 1}}
    with CrmEngine(database_url) as crm:
        after = get(crm, "member", m["id"])
        assert (after["annual_spend"], after["status"]) == (Decimal("0.00"), "standard")

    again = run_cli("--database-url", database_url, "derived", "refresh")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip() == "member: 0 record(s) changed"
