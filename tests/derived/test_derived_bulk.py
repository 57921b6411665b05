"""Derived fields kept true in bulk: rollups counted by the database, parents recounted a level
at a time, and the system rows written on the connection's own cursor, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.derived import _service as derived_service
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import RECORD_UPDATED, HotStatement, RowInserter, audit_log, events, workflow_history
from engine.transfer import import_csv
from engine.users import SYSTEM_USER
from tests.derived.derived_support import order_book
from tests.support import SYSTEM


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    with CrmEngine(database_url) as engine:
        engine.apply(load_definitions(order_book(tmp_path)))
        yield engine


def test_rollups_counted_by_the_database_equal_those_counted_in_python(crm: CrmEngine) -> None:
    c = crm.records.create("customer", {"name": "北京联通", "tier": "gold"}, actor=SYSTEM)
    orders = [
        crm.records.create("sales_order", {"number": f"SO-{n}", "customer": c["id"]}, actor=SYSTEM)["id"]
        for n in range(4)
    ]
    lines = [(orders[0], 2, "100.00"), (orders[0], 1, "50.50"), (orders[1], None, "9.99"), (orders[2], 3, "0.01")]
    for order_id, quantity, price in lines:
        crm.records.create(
            "order_line", {"sales_order": order_id, "quantity": quantity, "unit_price": price}, actor=SYSTEM
        )
    service = crm.derived
    model = crm.model
    plan = service.plan(model).entity("sales_order")
    with crm.db.write() as tx:
        for rollup in plan.rollups:  # total (sum) and largest_line (max): both without a where rule
            assert derived_service._grouped(model, rollup, orders) is not None
            children = service._children(tx, model, rollup, orders)
            in_python = {i: derived_service._aggregate(rollup, children.get(i, [])) for i in orders}
            assert service._rolled_up(tx, model, rollup, orders) == in_python
    # an order whose only line has no quantity (a zero total), and one without lines
    assert [crm.records.get("sales_order", i, actor=SYSTEM)["total"] for i in orders] == [
        Decimal("250.50"),
        Decimal("0.00"),
        Decimal("0.03"),
        Decimal("0.00"),
    ]
    assert crm.records.get("sales_order", orders[3], actor=SYSTEM)["largest_line"] is None
    counted = service.plan(model).entity("customer").rollups
    in_sql = {r.field.name: derived_service._grouped(model, r, [c["id"]]) is not None for r in counted}
    assert in_sql == {"order_count": True, "lifetime_value": True}  # the where rule compiles to SQL
    for order_id in orders[:2]:
        crm.records.update("sales_order", order_id, {"status": "confirmed"}, actor=SYSTEM)
    with crm.db.write() as tx:
        for rollup in counted:
            children = service._children(tx, model, rollup, [c["id"]])
            in_python = {c["id"]: derived_service._aggregate(rollup, children.get(c["id"], []))}
            assert service._rolled_up(tx, model, rollup, [c["id"]]) == in_python
        # a where rule SQL cannot say exactly (arithmetic) is counted in Python
        (lifetime,) = [r for r in counted if r.field.name == "lifetime_value"]
        arithmetic = {">": [{"*": [{"var": "record.total"}, 2]}, 100]}
        loose = dataclasses.replace(lifetime, definition=dataclasses.replace(lifetime.definition, where=arithmetic))
        assert derived_service._grouped(model, loose, [c["id"]]) is None
    customer = crm.records.get("customer", c["id"], actor=SYSTEM)
    assert (customer["order_count"], customer["lifetime_value"]) == (4, Decimal("250.50"))


def test_an_import_over_many_chunks_writes_each_parent_once(
    crm: CrmEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(derived_service, "_IN_CHUNK", 3)  # orders recounted three at a time
    customers = [
        crm.records.create("customer", {"name": f"客户 {n}", "tier": "standard"}, actor=SYSTEM)["id"] for n in range(2)
    ]
    orders = [
        crm.records.create(
            "sales_order", {"number": f"SO-{n}", "customer": customers[n % 2], "status": "confirmed"}, actor=SYSTEM
        )
        for n in range(8)
    ]
    since = max(e.id for e in crm.events.list(user=SYSTEM_USER, limit=1000))
    versions = {i: crm.records.get("customer", i, actor=SYSTEM)["version"] for i in customers}
    rows = "".join(f"{o['id']},{n + 1},1.25\n" for n, o in enumerate(orders) for _ in range(2))
    path = tmp_path / "lines.csv"
    path.write_text("sales_order,quantity,unit_price\n" + rows, encoding="utf-8")
    assert import_csv(crm, "order_line", path, actor=SYSTEM).inserted == 16

    updated = crm.events.list(user=SYSTEM_USER, since=since, types=[RECORD_UPDATED], limit=1000)
    by_record: dict[tuple[str | None, int | None], list[dict[str, object]]] = {}
    for event in updated:
        by_record.setdefault((event.entity, event.record_id), []).append(event.payload)
    totals = {o["id"]: Decimal("2.50") * (n + 1) for n, o in enumerate(orders)}
    for order_id, total in totals.items():
        (payload,) = by_record[("sales_order", order_id)]
        assert payload["changes"]["total"] == {"old": "0.00", "new": format(total, "f")}  # with net, largest_line
        assert crm.records.get("sales_order", order_id, actor=SYSTEM)["version"] == 2
    for at, customer_id in enumerate(customers):
        value = sum((t for n, t in enumerate(totals.values()) if n % 2 == at), Decimal(0))
        (payload,) = by_record[("customer", customer_id)]  # once, though its orders span chunks
        assert payload["changes"] == {"lifetime_value": {"old": "0.00", "new": format(value, "f")}}
        record = crm.records.get("customer", customer_id, actor=SYSTEM)
        assert (record["lifetime_value"], record["version"]) == (value, versions[customer_id] + 1)
        trail = [r for r in crm.records.audit("customer", customer_id, actor=SYSTEM) if r["field"] == "lifetime_value"]
        assert [(r["old_value"], r["new_value"]) for r in trail[:1]] == [("0.00", format(value, "f"))]
    assert len(updated) == len(orders) + len(customers)


def test_system_rows_written_on_the_cursor_read_back_as_through_sqlalchemy(crm: CrmEngine) -> None:
    at = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)
    history = {
        "entity": "sales_order",
        "record_id": 7,
        "workflow": "flow",
        "transition": None,
        "from_state": None,
        "to_state": "draft",
        "actor": "丽丽",
        "at": at,
        "inputs": None,
        "comment": "一",
    }
    event = {
        "type": RECORD_UPDATED,
        "entity": "sales_order",
        "record_id": 7,
        "actor": None,
        "payload": {"changes": {"total": {"old": "0.00", "new": "1.25"}}, "nested": [1, None, "二"]},
        "occurred_at": at,
        "definitions_version": 3,
    }
    for table, row in ((workflow_history, history), (events, event)):
        with crm.db.write() as tx:
            RowInserter(table).insert(tx, [row, {**row, "record_id": 8}])
            tx.execute(table.insert(), {**row, "record_id": 9})
        with crm.db.read() as conn:
            query = sa.select(table).where(table.c.record_id.in_([7, 8, 9])).order_by(table.c.id)
            found = [dict(r) for r in conn.execute(query).mappings()]
        assert [{k: v for k, v in r.items() if k not in ("id", "record_id")} for r in found] == [
            {k: v for k, v in row.items() if k != "record_id"}
        ] * 3
        # a None in a JSON column is stored the way SQLAlchemy stores it (SQL NULL or JSON null)
        column = table.c["inputs" if table is workflow_history else "payload"]
        with crm.db.read() as conn:
            query = sa.select(column.is_(None)).where(table.c.record_id.in_([7, 8, 9])).order_by(table.c.id)
            assert len({r[0] for r in conn.execute(query)}) == 1
    with pytest.raises(sa.exc.IntegrityError), crm.db.write() as tx:  # refused: rolled back
        RowInserter(audit_log).insert(tx, [{c: None for c in RowInserter(audit_log).columns}])


def test_hot_statements_read_and_write_as_sqlalchemy_does(crm: CrmEngine) -> None:
    c = crm.records.create("customer", {"name": "深圳移动", "tier": "gold", "region": "华南"}, actor=SYSTEM)
    table = crm.model.table("customer")
    with crm.db.write() as tx:
        through_sqlalchemy = dict(tx.execute(sa.select(table).where(table.c.id == c["id"])).mappings().one())
        assert crm.model.read_by_id("customer").first(tx, {"record_id": c["id"]}) == through_sqlalchemy
        assert crm.model.read_by_id("customer").first(tx, {"record_id": 999}) is None
        write = crm.model.write_by_version("customer", ("region",))
        params = {"v_region": "西南", "record_id": c["id"], "new_version": 2, "now": datetime.now(UTC)}
        assert write.rowcount(tx, {**params, "old_version": 5}) == 0  # a stale version changes nothing
        assert write.rowcount(tx, {**params, "old_version": 1}) == 1
    assert crm.records.get("customer", c["id"], actor=SYSTEM)["region"] == "西南"
    with crm.db.read() as conn, pytest.raises(RuntimeError):
        HotStatement(sa.select(table).where(table.c.id == 1)).first(conn, {})
