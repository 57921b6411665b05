"""Benchmark: a bulk edit of 500 records through the engine, against one raw SQL UPDATE of
the same rows, in the same run.

    python bench/bulk.py [--records 500] [--rounds 5] [--postgres URL]

The standard-product preset, ``--records`` opportunities owned by one rep. Timed, ``--rounds``
times each (the median reported):

- the engine: ``records.bulk_update`` as the rep, setting ``next_step`` and ``probability``
  on every record, each in its own savepoint, through the record service (permissions,
  validation, conditions, derived fields, duplicate rules, version check, audit rows, events
  in the outbox) — one transaction;
- the same as a dry run (everything, then rolled back);
- the baseline: one ``UPDATE opportunity SET next_step = ?, probability = ?, version =
  version + 1 WHERE id IN (...)`` over the same ids, no audit, no events.

Every round writes new values, so each record really changes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.presets import load_preset
from engine.runtime import CrmEngine
from engine.users import SystemActor


def timed(run: Callable[[int], object], rounds: int) -> float:
    run(0)  # warm: statements, validators
    laps = []
    for n in range(1, rounds + 1):
        start = time.perf_counter()
        run(n)
        laps.append((time.perf_counter() - start) * 1000)
    return statistics.median(laps)


def measure(name: str, url: str, records: int, rounds: int) -> None:
    crm = CrmEngine(url)
    load_preset(crm, "standard_product")
    crm.users.create("rita", roles=["rep"], team="east")
    rita = crm.users.get("rita")
    actor = SystemActor("bench", on_behalf_of="rita")
    account = crm.records.create("account", {"name": "Bench Holdings"}, actor=actor)["id"]
    ids = [
        crm.records.create("opportunity", {"title": f"Bench {i}", "account": account}, actor=actor)["id"]
        for i in range(records)
    ]
    table = crm.model.table("opportunity")

    def engine_run(n: int, dry_run: bool = False) -> None:
        values = {"next_step": f"Call back, round {n}", "probability": n % 100}
        outcome = crm.records.bulk_update("opportunity", ids, values, actor=rita, dry_run=dry_run)
        assert outcome.updated == len(ids), outcome.results[0]

    def raw_run(n: int) -> None:
        with crm.db.engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.id.in_(ids))
                .values(next_step=f"Raw, round {n}", probability=n % 100, version=table.c.version + 1)
            )

    engine_ms = timed(engine_run, rounds)
    dry_ms = timed(lambda n: engine_run(n + 1000, dry_run=True), rounds)
    raw_ms = timed(raw_run, rounds)
    crm.close()
    print(f"{name}, {records} records, median of {rounds}")
    print(f"  engine bulk_update : {engine_ms:8.1f} ms  ({records / engine_ms * 1000:,.0f} records/s)")
    print(f"  engine dry run     : {dry_ms:8.1f} ms")
    print(f"  raw SQL UPDATE     : {raw_ms:8.1f} ms")
    print(f"  ratio engine / raw : {engine_ms / raw_ms:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", f"sqlite:///{Path(folder) / 'bulk.db'}", args.records, args.rounds)
    if args.postgres:
        admin = sa.create_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(sa.text('DROP SCHEMA IF EXISTS "bench_bulk" CASCADE'))
            conn.execute(sa.text('CREATE SCHEMA "bench_bulk"'))
        sep = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{sep}options=-csearch_path%3Dbench_bulk"
        measure("PostgreSQL", url, args.records, args.rounds)
        with admin.begin() as conn:
            conn.execute(sa.text('DROP SCHEMA IF EXISTS "bench_bulk" CASCADE'))


if __name__ == "__main__":
    main()
