"""Benchmark: what derived fields cost, against the same work without them, in one run.

    python bench/derived.py [--lines 100000] [--orders 10000] [--updates 300] [--postgres URL]

1. Import: N order lines into M orders (CSV, the engine's import path) with a computed
   ``line_total``, a ``sum`` rollup into the order and a chain to the customer (``sum`` of
   confirmed order totals), against the same import into the same entities without derived
   fields. Prints lines/s of both and the ratio.
2. One line's quantity updated through the record service (line compute + order rollup +
   customer rollup + the events), against the same update without derived fields: p50 and
   p95 latency of both and the added p50.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from engine.users import SystemActor
from tests.support import postgres_schema_url, write_bundle

BENCH = SystemActor("benchmark")

PLAIN: dict[str, dict[str, Any]] = {
    "customer": {"name": {"type": "string"}, "lifetime_value": {"type": "money"}},
    "sales_order": {
        "number": {"type": "string"},
        "customer": {"type": "reference", "target": "customer"},
        "status": {"type": "enum", "choices": ["draft", "confirmed"]},
        "total": {"type": "money"},
    },
    "order_line": {
        "sales_order": {"type": "reference", "target": "sales_order", "on_delete": "cascade"},
        "quantity": {"type": "integer"},
        "unit_price": {"type": "money"},
        "line_total": {"type": "money"},
    },
}
DERIVED = {
    "customer": {
        "lifetime_value": {
            "type": "money",
            "rollup": {
                "entity": "sales_order",
                "reference": "customer",
                "function": "sum",
                "field": "total",
                "where": {"==": [{"var": "record.status"}, "confirmed"]},
            },
        }
    },
    "sales_order": {
        "total": {
            "type": "money",
            "rollup": {"entity": "order_line", "reference": "sales_order", "function": "sum", "field": "line_total"},
        }
    },
    "order_line": {
        "line_total": {"type": "money", "compute": {"*": [{"var": "record.quantity"}, {"var": "record.unit_price"}]}}
    },
}


def bundle(root: Path, derived: bool) -> Path:
    entities = {name: {"fields": {**fields, **(DERIVED[name] if derived else {})}} for name, fields in PLAIN.items()}
    return write_bundle(root, "derived" if derived else "plain", entities)


def prepare(url: str, root: Path, derived: bool, orders: int) -> CrmEngine:
    engine = CrmEngine(url)
    engine.apply(load_definitions(bundle(root, derived)))
    customers = max(1, orders // 10)
    files = root / ("derived" if derived else "plain")
    (files / "customers.csv").write_text("name\n" + "".join(f"Customer {i}\n" for i in range(customers)))
    import_csv(engine, "customer", files / "customers.csv", actor=BENCH)
    rows = "".join(f"SO-{i},{i % customers + 1},{'confirmed' if i % 2 else 'draft'}\n" for i in range(orders))
    (files / "orders.csv").write_text("number,customer,status\n" + rows)
    import_csv(engine, "sales_order", files / "orders.csv", actor=BENCH)
    return engine


def lines_csv(path: Path, lines: int, orders: int) -> Path:
    rng = random.Random(7)
    rows = "".join(
        f"{rng.randint(1, orders)},{rng.randint(1, 20)},{rng.randint(100, 99999) / 100:.2f}\n" for _ in range(lines)
    )
    path.write_text("sales_order,quantity,unit_price\n" + rows)
    return path


def time_import(engine: CrmEngine, path: Path) -> float:
    started = time.perf_counter()
    report = import_csv(engine, "order_line", path, actor=BENCH)
    assert report.rejected == 0, report.problems[:3]
    return time.perf_counter() - started


def time_updates(engine: CrmEngine, updates: int) -> list[float]:
    ids = [r["id"] for r in engine.records.list("order_line", limit=updates, actor=BENCH).items]
    spent = []
    for n, record_id in enumerate(ids):
        started = time.perf_counter()
        engine.records.update("order_line", record_id, {"quantity": 30 + n % 7}, actor=BENCH)
        spent.append(time.perf_counter() - started)
    return spent


def run(url_for: Any, lines: int, orders: int, updates: int, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv = lines_csv(root / "lines.csv", lines, orders)
        results = {}
        for derived in (False, True):
            with url_for(root, derived) as url:
                engine = prepare(url, root, derived, orders)
                seconds = time_import(engine, csv)
                latency = time_updates(engine, updates)
                if derived:  # the figures agree with themselves
                    check = engine.records.list("sales_order", limit=1, sort="-total", actor=BENCH).items[0]
                    assert check["total"] is not None
                engine.close()
            results[derived] = (seconds, latency)
    (plain_s, plain_lat), (derived_s, derived_lat) = results[False], results[True]
    p50 = statistics.median
    p95 = lambda xs: sorted(xs)[int(len(xs) * 0.95) - 1]  # noqa: E731
    print(f"[{label}] import {lines} lines into {orders} orders")
    print(f"  plain   {lines / plain_s:10.0f} lines/s")
    print(f"  derived {lines / derived_s:10.0f} lines/s   ratio {plain_s / derived_s:.2f}x of plain")
    print(f"[{label}] update one line's quantity ({updates} times)")
    print(f"  plain   p50 {p50(plain_lat) * 1000:.2f} ms  p95 {p95(plain_lat) * 1000:.2f} ms")
    print(f"  derived p50 {p50(derived_lat) * 1000:.2f} ms  p95 {p95(derived_lat) * 1000:.2f} ms")
    print(f"  added p50 {(p50(derived_lat) - p50(plain_lat)) * 1000:.2f} ms")


class _Sqlite:
    def __init__(self, root: Path, derived: bool) -> None:
        self.url = f"sqlite:///{root / ('derived' if derived else 'plain')}.db"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        pass


class _Postgres:
    def __init__(self, root: Path, derived: bool) -> None:
        self._urls = postgres_schema_url()

    def __enter__(self) -> str:
        return next(self._urls)

    def __exit__(self, *_: object) -> None:
        self._urls.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL (CRM_TEST_POSTGRES_URL)")
    args = parser.parse_args()
    run(_Sqlite, args.lines, args.orders, args.updates, "SQLite")
    if args.postgres:
        run(_Postgres, args.lines, args.orders, args.updates, "PostgreSQL")


if __name__ == "__main__":
    main()
