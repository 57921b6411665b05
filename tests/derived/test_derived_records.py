"""Computed fields and rollups kept true by every write, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RecordValidationError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from engine.users import SYSTEM_USER
from tests.derived.derived_support import order_book
from tests.support import SYSTEM, postgres_schema_url


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    with CrmEngine(database_url) as engine:
        engine.apply(load_definitions(order_book(tmp_path)))
        yield engine


def customer(crm: CrmEngine, name: str = "上海电信", **values: Any) -> dict[str, Any]:
    return crm.records.create("customer", {"name": name, "tier": "standard", "region": "华东", **values}, actor=SYSTEM)


def order(crm: CrmEngine, customer_id: int | None, number: str = "SO-1", **values: Any) -> dict[str, Any]:
    return crm.records.create("sales_order", {"number": number, "customer": customer_id, **values}, actor=SYSTEM)


def line(crm: CrmEngine, order_id: int, quantity: int, unit_price: str, **values: Any) -> dict[str, Any]:
    data = {"sales_order": order_id, "quantity": quantity, "unit_price": unit_price, **values}
    return crm.records.create("order_line", data, actor=SYSTEM)


def get(crm: CrmEngine, entity: str, record_id: int) -> dict[str, Any]:
    return crm.records.get(entity, record_id, actor=SYSTEM)


def test_a_compute_is_stored_on_create_and_kept_on_update(crm: CrmEngine) -> None:
    c = customer(crm)
    o = order(crm, c["id"])
    created = line(crm, o["id"], 3, "19.99")
    assert created["line_total"] == Decimal("59.97")
    updated = crm.records.update("order_line", created["id"], {"quantity": 4}, actor=SYSTEM)
    assert updated["line_total"] == Decimal("79.96")
    assert get(crm, "order_line", created["id"])["line_total"] == Decimal("79.96")
    # filters and sorts see the stored value
    found = crm.records.list("order_line", where={"line_total": {"gte": "70"}}, actor=SYSTEM).items
    assert [r["id"] for r in found] == [created["id"]]


def test_rollups_follow_creates_updates_deletes_and_chains(crm: CrmEngine) -> None:
    c = customer(crm)
    o = order(crm, c["id"])
    assert (o["total"], o["largest_line"], o["net"]) == (Decimal("0.00"), None, Decimal("0.00"))
    first = line(crm, o["id"], 2, "100.00")
    second = line(crm, o["id"], 1, "50.50")
    assert (get(crm, "sales_order", o["id"])["total"], get(crm, "sales_order", o["id"])["largest_line"]) == (
        Decimal("250.50"),
        Decimal("200.00"),
    )
    assert get(crm, "customer", c["id"])["order_count"] == 1
    assert get(crm, "customer", c["id"])["lifetime_value"] == Decimal("0.00")  # only confirmed orders count

    crm.records.update("sales_order", o["id"], {"status": "confirmed"}, actor=SYSTEM)
    assert get(crm, "customer", c["id"])["lifetime_value"] == Decimal("250.50")
    crm.records.update("order_line", second["id"], {"unit_price": "0.25"}, actor=SYSTEM)
    assert get(crm, "sales_order", o["id"])["total"] == Decimal("200.25")
    assert get(crm, "customer", c["id"])["lifetime_value"] == Decimal("200.25")  # line → order → customer
    crm.records.delete("order_line", first["id"], actor=SYSTEM)
    assert get(crm, "sales_order", o["id"])["largest_line"] == Decimal("0.25")
    assert get(crm, "customer", c["id"])["lifetime_value"] == Decimal("0.25")


def test_moving_a_child_updates_both_parents(crm: CrmEngine) -> None:
    c = customer(crm)
    a, b = order(crm, c["id"], "SO-A"), order(crm, c["id"], "SO-B")
    moved = line(crm, a["id"], 1, "40.00")
    line(crm, a["id"], 1, "2.00")
    crm.records.update("order_line", moved["id"], {"sales_order": b["id"]}, actor=SYSTEM)
    assert get(crm, "sales_order", a["id"])["total"] == Decimal("2.00")
    assert get(crm, "sales_order", b["id"])["total"] == Decimal("40.00")
    other = customer(crm, "北京移动")
    crm.records.update("sales_order", b["id"], {"customer": other["id"]}, actor=SYSTEM)
    assert (get(crm, "customer", c["id"])["order_count"], get(crm, "customer", other["id"])["order_count"]) == (1, 1)


def test_a_cascade_delete_updates_the_grandparent(crm: CrmEngine) -> None:
    c = customer(crm)
    o = order(crm, c["id"], status="confirmed")
    line(crm, o["id"], 1, "10.00")
    line(crm, o["id"], 2, "10.00")
    assert get(crm, "customer", c["id"])["lifetime_value"] == Decimal("30.00")
    crm.records.delete("sales_order", o["id"], actor=SYSTEM)  # its lines go with it
    after = get(crm, "customer", c["id"])
    assert (after["order_count"], after["lifetime_value"]) == (0, Decimal("0.00"))
    assert crm.records.list("order_line", actor=SYSTEM).total == 0


def test_a_change_at_the_end_of_a_path_recomputes_every_record_reading_it(crm: CrmEngine) -> None:
    c = customer(crm, tier="gold")
    o = order(crm, c["id"])
    lines = [line(crm, o["id"], 1, "100.00"), line(crm, o["id"], 2, "100.00")]
    assert get(crm, "sales_order", o["id"])["discount_rate"] == Decimal("0.05")
    assert get(crm, "sales_order", o["id"])["net"] == Decimal("285.00")
    assert [get(crm, "order_line", x["id"])["region"] for x in lines] == ["华东", "华东"]

    crm.records.update("customer", c["id"], {"tier": "standard", "region": "华北"}, actor=SYSTEM)
    after = get(crm, "sales_order", o["id"])
    assert (after["discount_rate"], after["net"]) == (Decimal("0.00"), Decimal("300.00"))
    assert [get(crm, "order_line", x["id"])["region"] for x in lines] == ["华北", "华北"]  # two references away

    crm.records.update("sales_order", o["id"], {"customer": None}, actor=SYSTEM)
    assert get(crm, "sales_order", o["id"])["discount_rate"] == Decimal("0.00")
    assert [get(crm, "order_line", x["id"])["region"] for x in lines] == [None, None]


def test_derived_fields_cannot_be_written_and_the_refusal_names_them(crm: CrmEngine) -> None:
    c = customer(crm)
    o = order(crm, c["id"])
    with pytest.raises(RecordValidationError) as refused:
        line(crm, o["id"], 1, "5.00", line_total="999.00")
    assert [(p.code, p.field) for p in refused.value.problems] == [("read_only", "line_total")]
    with pytest.raises(RecordValidationError) as refused:
        crm.records.update("sales_order", o["id"], {"total": "1", "net": "2", "number": ""}, actor=SYSTEM)
    assert {(p.code, p.field) for p in refused.value.problems} >= {("read_only", "total"), ("read_only", "net")}
    assert crm.records.list("order_line", actor=SYSTEM).total == 0


def test_a_failing_compute_refuses_the_write_naming_the_field_and_rule(tmp_path: Path, database_url: str) -> None:
    share = {"type": "decimal", "compute": {"/": [{"var": "record.quantity"}, {"var": "record.unit_price"}]}}
    bounded = {"type": "integer", "maximum": 100, "compute": {"*": [{"var": "record.quantity"}, 10]}}
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(order_book(tmp_path, order_line={"per_unit": share, "tenfold": bounded})))
        o = order(crm, None)
        with pytest.raises(RecordValidationError) as refused:
            line(crm, o["id"], 20, "0")
        problems = {p.field: p for p in refused.value.problems}
        assert set(problems) == {"per_unit", "tenfold"}
        assert problems["per_unit"].code == "compute_failed"
        assert '{"/": [{"var": "record.quantity"}, {"var": "record.unit_price"}]}' in problems["per_unit"].message
        assert "100" in problems["tenfold"].message
        assert crm.records.list("order_line", actor=SYSTEM).total == 0
        assert get(crm, "sales_order", o["id"])["total"] == Decimal("0.00")  # nothing half written


def test_derived_changes_are_audited_evented_and_versioned(crm: CrmEngine) -> None:
    c = customer(crm)
    o = order(crm, c["id"])
    since = crm.events.list(user=SYSTEM_USER, limit=1000)[-1].id
    line(crm, o["id"], 2, "10.00")
    found = crm.events.list(user=SYSTEM_USER, since=since)
    assert [(e.type, e.entity) for e in found] == [
        ("record.updated", "sales_order"),
        ("record.created", "order_line"),
    ]
    assert found[0].payload["changes"]["total"] == {"old": "0.00", "new": "20.00"}
    assert get(crm, "sales_order", o["id"])["version"] == 2
    trail = crm.records.audit("sales_order", o["id"], actor=SYSTEM)
    assert {row["field"] for row in trail} >= {"total", "largest_line", "net"}


def test_adding_a_derived_field_later_fills_the_records_already_there(tmp_path: Path, database_url: str) -> None:
    with CrmEngine(database_url) as crm:
        plain = {"line_total": {"type": "money"}, "region": {"type": "string"}}
        crm.apply(load_definitions(order_book(tmp_path, order_line=plain, sales_order={"total": {"type": "money"}})))
        o = order(crm, None)
        crm.records.create("order_line", {"sales_order": o["id"], "quantity": 3, "unit_price": "2.50"}, actor=SYSTEM)
        assert get(crm, "sales_order", o["id"])["total"] is None

        crm.apply(load_definitions(order_book(tmp_path)))
        (only,) = crm.records.list("order_line", actor=SYSTEM).items
        assert only["line_total"] == Decimal("7.50")
        assert get(crm, "sales_order", o["id"])["total"] == Decimal("7.50")


@pytest.fixture
def pg_crm(tmp_path: Path) -> Iterator[CrmEngine]:
    for url in postgres_schema_url():
        with CrmEngine(url) as engine:
            engine.apply(load_definitions(order_book(tmp_path)))
            yield engine


@pytest.mark.postgres
def test_concurrent_lines_on_one_order_are_all_counted(pg_crm: CrmEngine) -> None:
    o = order(pg_crm, None)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def add(n: int) -> None:
        try:
            start.wait(10)
            line(pg_crm, o["id"], 1, f"{n}.00")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert get(pg_crm, "sales_order", o["id"])["total"] == Decimal(sum(range(1, 9)))


def test_an_import_computes_its_rows_and_recounts_their_parents_once_per_batch(crm: CrmEngine, tmp_path: Path) -> None:
    c = customer(crm, tier="gold", region="华南")
    a, b = order(crm, c["id"], "SO-A", status="confirmed"), order(crm, c["id"], "SO-B")
    path = tmp_path / "lines.csv"
    rows = [f"{a['id'] if i % 2 else b['id']},{i},{i}.50,999" for i in range(1, 11)]
    path.write_text("sales_order,quantity,unit_price,line_total\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = import_csv(crm, "order_line", path, batch_size=4, actor=SYSTEM)
    assert report.inserted == 10
    assert report.ignored_columns == ("line_total",)  # the engine computes it; an export's column is not an error
    lines = crm.records.list("order_line", sort="id", limit=100, actor=SYSTEM).items
    assert [x["line_total"] for x in lines] == [Decimal(i) * (Decimal(i) + Decimal("0.5")) for i in range(1, 11)]
    assert {x["region"] for x in lines} == {"华南"}
    expected_a = sum(Decimal(i) * (Decimal(i) + Decimal("0.5")) for i in range(1, 11, 2))
    expected_b = sum(Decimal(i) * (Decimal(i) + Decimal("0.5")) for i in range(2, 11, 2))
    assert get(crm, "sales_order", a["id"])["total"] == expected_a
    assert get(crm, "sales_order", b["id"])["total"] == expected_b
    assert get(crm, "customer", c["id"])["lifetime_value"] == expected_a  # only SO-A is confirmed

    first = lines[0]
    upsert = tmp_path / "upsert.csv"
    upsert.write_text(f"id,quantity\n{first['id']},100\n", encoding="utf-8")
    import_csv(crm, "order_line", upsert, key="id", actor=SYSTEM)
    assert get(crm, "order_line", first["id"])["line_total"] == Decimal("150.00")
    assert get(crm, "sales_order", a["id"])["total"] == expected_a - Decimal("1.50") + Decimal("150.00")


def test_an_import_rejects_the_lines_whose_compute_fails(tmp_path: Path, database_url: str) -> None:
    bounded = {"type": "integer", "maximum": 100, "compute": {"*": [{"var": "record.quantity"}, 10]}}
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(order_book(tmp_path, order_line={"tenfold": bounded})))
        o = order(crm, None)
        path = tmp_path / "lines.csv"
        path.write_text(f"sales_order,quantity\n{o['id']},5\n{o['id']},50\n", encoding="utf-8")
        report = import_csv(crm, "order_line", path, on_error="skip", actor=SYSTEM)
        assert (report.inserted, report.rejected) == (1, 1)
        (problem,) = report.problems
        assert (problem.line, problem.field, problem.code) == (3, "tenfold", "compute_failed")
