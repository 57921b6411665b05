"""crm derived refresh: daily computes recomputed, and every derived field repaired with --all."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.derived.derived_support import order_book
from tests.support import SYSTEM, CliResult

OVERDUE = {
    "due": {"type": "datetime"},
    "overdue": {"type": "boolean", "refresh": "daily", "compute": {"<": [{"var": "record.due"}, {"var": "now"}]}},
}


def test_refresh_recomputes_daily_fields_and_all_repairs_the_rest(
    database_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(order_book(tmp_path, sales_order=OVERDUE)))
        o = crm.records.create("sales_order", {"number": "SO-1", "due": "2999-01-01T00:00:00Z"}, actor=SYSTEM)
        crm.records.create("order_line", {"sales_order": o["id"], "quantity": 2, "unit_price": "5.00"}, actor=SYSTEM)
        assert crm.records.get("sales_order", o["id"], actor=SYSTEM)["overdue"] is False
        table = crm.model.table("sales_order")
        with (
            crm.db.write() as tx
        ):  # time passes (the due date is now behind us), and a value is written around the engine
            tx.execute(sa.update(table).values(due=sa.func.current_timestamp(), total=Decimal("1.00")))

    daily = run_cli("--database-url", database_url, "derived", "refresh", "--json")
    assert daily.exit_code == 0, daily.stderr
    assert daily.json() == {"changed": {"sales_order": 1}}
    with CrmEngine(database_url) as crm:
        after = crm.records.get("sales_order", o["id"], actor=SYSTEM)
        assert after["overdue"] is True
        assert after["total"] == Decimal("1.00")  # not a daily field: left alone

    repaired = run_cli("--database-url", database_url, "derived", "refresh", "--all", "--entity", "sales_order")
    assert repaired.exit_code == 0, repaired.stderr
    assert "sales_order: 1 record(s) changed" in repaired.stdout
    with CrmEngine(database_url) as crm:
        assert crm.records.get("sales_order", o["id"], actor=SYSTEM)["total"] == Decimal("10.00")

    unknown = run_cli("--database-url", database_url, "derived", "refresh", "--entity", "sales_ordr")
    assert unknown.exit_code != 0 and "Traceback" not in unknown.stderr
