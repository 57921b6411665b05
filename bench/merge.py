"""Benchmark: merging an account referenced by N records, and undoing it, against the raw SQL
a merge cannot do without, in one run.

    python bench/merge.py [--references 10000] [--postgres]

Each account to merge is referenced by N records, half contacts and half deals; accounts keep
a count rollup over their deals. The baseline is the bare minimum: in one transaction, one
``UPDATE`` per referencing table moving the references and a ``DELETE`` of the source. The
merge does that and everything the engine owes each record (version, audit row, outbox event,
the target's rollup recounted, history moved, the merge kept for undo). The undo moves the
same records back and restores the source. Prints seconds and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.users import SystemActor
from tests.support import postgres_schema_url, write_bundle

BENCH = SystemActor("benchmark")

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "city": {"type": "string"},
            "phone": {"type": "string"},
            "deal_count": {
                "type": "integer",
                "rollup": {"entity": "deal", "reference": "account", "function": "count"},
            },
        },
    },
    "contact": {
        "fields": {"name": {"type": "string"}, "account": {"type": "reference", "target": "account"}},
    },
    "deal": {
        "fields": {
            "title": {"type": "string"},
            "amount": {"type": "money"},
            "account": {"type": "reference", "target": "account"},
        },
    },
}


def prepare(url: str, root: Path, references: int) -> tuple[CrmEngine, int, int, int]:
    """The engine with a target and two accounts to merge (one for the baseline), each
    referenced by ``references`` records; inserted in bulk (setting up is not measured)."""
    engine = CrmEngine(url)
    engine.apply(load_definitions(write_bundle(root, "merge_bench", ENTITIES)))
    target = engine.records.create("account", {"name": "Target", "phone": "1"}, actor=BENCH)["id"]
    baseline = engine.records.create("account", {"name": "Baseline"}, actor=BENCH)["id"]
    source = engine.records.create("account", {"name": "Source", "city": "Xi'an"}, actor=BENCH)["id"]
    now = utcnow()
    model = engine.model
    with engine.db.write() as conn:
        for account in (baseline, source, target):
            half = references // 2 if account != target else 100
            common = {"version": 1, "created_at": now, "updated_at": now, "account": account}
            conn.execute(
                model.table("contact").insert(), [{**common, "name": f"c{i}"} for i in range(references - half)]
            )
            conn.execute(
                model.table("deal").insert(), [{**common, "title": f"d{i}", "amount": "10.00"} for i in range(half)]
            )
    engine.derived.refresh_all(model, "account", actor=BENCH.name)
    return engine, target, baseline, source


@contextmanager
def timed(into: list[float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into.append(time.perf_counter() - start)


def run(url: str, label: str, references: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine, target, baseline, source = prepare(url, Path(tmp), references)
        model = engine.model
        raw: list[float] = []
        with timed(raw), engine.db.engine.begin() as conn:
            for name in ("contact", "deal"):
                table = model.table(name)
                conn.execute(table.update().where(table.c.account == baseline).values(account=target))
            account = model.table("account")
            conn.execute(account.delete().where(account.c.id == baseline))
        merged: list[float] = []
        with timed(merged):
            merge = engine.merges.merge("account", source, into=target, actor=BENCH)
        undone: list[float] = []
        with timed(undone):
            engine.merges.undo(merge["id"], actor=BENCH)
        moved = sum(g["count"] for g in merge["repointed"])
        with engine.db.read() as conn:
            count = conn.execute(sa.select(account.c.deal_count).where(account.c.id == source)).scalar()
        assert moved == references and count == references // 2, (moved, count)
        engine.close()
    print(f"[{label}] merge an account referenced by {references} records (contacts and deals)")
    print(f"  raw UPDATEs + DELETE  {raw[0]:7.3f} s")
    print(f"  merge                 {merged[0]:7.3f} s   {merged[0] / raw[0]:6.1f}x the raw SQL")
    print(f"  undo                  {undone[0]:7.3f} s   {undone[0] / raw[0]:6.1f}x the raw SQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--references", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL (CRM_TEST_POSTGRES_URL)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'merge.db'}", "SQLite", args.references)
    if args.postgres:
        urls = postgres_schema_url()
        try:
            run(next(urls), "PostgreSQL", args.references)
        finally:
            urls.close()


if __name__ == "__main__":
    main()
