"""Benchmark: workflow transitions per second against raw SQL doing the same writes, same run.

    python bench/workflow.py [--records 2000] [--postgres URL]

Engine: ``WorkflowService.run`` of a guarded, role-gated transition (draft → submitted)
on N records, one transaction each (checks, audited state update, history row).
Baseline: for each record, one transaction with the same ``UPDATE … WHERE id AND
version`` and the same history ``INSERT``, written by hand in SQL on the same database.
A second baseline also appends the transition's event to the outbox (``crm_events``, as
a hand-written implementation promising the same events must: one more ``INSERT`` per
transaction, after the advisory lock on PostgreSQL); both ratios are printed, the first
is the one the targets in docs/performance.md were set against.
Guard evaluation speed against another JSON Logic library is in ``bench/logic.py``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import events, workflow_history
from engine.storage._unit import OUTBOX_LOCK
from engine.users import SystemActor

ENTITY = {
    "schema_version": 1,
    "kind": "entity",
    "name": "ticket",
    "fields": {
        "title": {"type": "string", "required": True},
        "amount": {"type": "money"},
        "status": {"type": "enum", "choices": ["draft", "submitted", "done"]},
    },
}
WORKFLOW = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "ticket_flow",
    "entity": "ticket",
    "field": "status",
    "states": {"draft": {"initial": True}, "submitted": {"required": ["amount"]}, "done": {"final": True}},
    "transitions": {
        "submit": {
            "from": ["draft"],
            "to": "submitted",
            "roles": ["rep"],
            "when": {"and": [{"<=": [{"var": "record.amount"}, 1000000]}, {"in": ["rep", {"var": "user.roles"}]}]},
        },
        "finish": {"from": ["submitted"], "to": "done"},
    },
}


def write_bundle(root: Path) -> Path:
    bundle = root / "bench_workflow"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "bench_workflow"}))
    (bundle / "ticket.json").write_text(json.dumps(ENTITY))
    (bundle / "ticket_flow.json").write_text(json.dumps(WORKFLOW))
    return bundle


def prepare(url: str, bundle: Path, count: int) -> CrmEngine:
    crm = CrmEngine(url)
    crm.apply(load_definitions(bundle))
    if "rita" not in {u.name for u in crm.users.list()}:
        crm.users.create("rita", roles=["rep"])
    from engine.transfer import import_csv

    csv_path = bundle / "tickets.csv"
    csv_path.write_text("title,amount\n" + "".join(f"Ticket {i},{i % 5000}.50\n" for i in range(count)))
    import_csv(crm, "ticket", csv_path, actor=SystemActor("benchmark", on_behalf_of="rita"))
    return crm


def run_engine(crm: CrmEngine, ids: list[int]) -> float:
    user = crm.users.get("rita")
    start = time.perf_counter()
    for record_id in ids:
        crm.workflows.run("ticket", record_id, "submit", user=user)
    return time.perf_counter() - start


def run_raw(crm: CrmEngine, ids: list[int], *, event: bool = False) -> float:
    table = crm.model.table("ticket")
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("rid"), table.c.version == sa.bindparam("v"))
        .values(status="submitted", version=table.c.version + 1, updated_at=sa.bindparam("now"))
    )
    insert = workflow_history.insert()
    outbox = events.insert()
    postgres = crm.db.is_postgres
    start = time.perf_counter()
    for record_id in ids:
        with crm.db.write() as conn:
            now = datetime.now(UTC)
            conn.execute(update, {"rid": record_id, "v": 1, "now": now})
            conn.execute(
                insert,
                {
                    "entity": "ticket",
                    "record_id": record_id,
                    "workflow": "ticket_flow",
                    "transition": "submit",
                    "from_state": "draft",
                    "to_state": "submitted",
                    "actor": "rita",
                    "at": now,
                    "inputs": None,
                    "comment": None,
                },
            )
            if event:
                if postgres:
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(OUTBOX_LOCK)))
                conn.execute(
                    outbox,
                    {
                        "type": "record.transitioned",
                        "entity": "ticket",
                        "record_id": record_id,
                        "actor": "rita",
                        "payload": {"workflow": "ticket_flow", "transition": "submit", "to_state": "submitted"},
                        "occurred_at": now,
                        "definitions_version": 1,
                    },
                )
    return time.perf_counter() - start


def measure(label: str, url: str, bundle: Path, count: int) -> None:
    crm = prepare(url, bundle, count * 3)
    ids = [r[0] for r in crm.db.engine.connect().execute(sa.text("SELECT id FROM ticket ORDER BY id"))]
    engine_ids, raw_ids, evented_ids = ids[:count], ids[count : 2 * count], ids[2 * count : 3 * count]
    run_raw(crm, raw_ids[:50])
    run_raw(crm, evented_ids[:50], event=True)
    run_engine(crm, engine_ids[:50])
    raw = run_raw(crm, raw_ids[50:])
    evented = run_raw(crm, evented_ids[50:], event=True)
    engine = run_engine(crm, engine_ids[50:])
    n = count - 50
    print(label)
    print(f"  engine transitions (checks + guard + audited update + history + event): {n / engine:>8,.0f}/s")
    print(f"  raw SQL (UPDATE … WHERE version + history INSERT):                      {n / raw:>8,.0f}/s")
    print(f"  raw SQL, also appending the event to the outbox:                        {n / evented:>8,.0f}/s")
    print(f"  ratio engine/raw: {raw / engine:.2f}x  (engine/raw with the event: {evented / engine:.2f}x)")
    crm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crm-bench-wf-"))
    bundle = write_bundle(work)
    measure("SQLite", f"sqlite:///{work / 'wf.db'}", bundle, args.records)
    if args.postgres:
        admin = sa.create_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(sa.text('DROP SCHEMA IF EXISTS "bench_wf" CASCADE'))
            conn.execute(sa.text('CREATE SCHEMA "bench_wf"'))
        sep = "&" if "?" in args.postgres else "?"
        measure("PostgreSQL", f"{args.postgres}{sep}options=-csearch_path%3Dbench_wf", bundle, args.records)
        with admin.begin() as conn:
            conn.execute(sa.text('DROP SCHEMA IF EXISTS "bench_wf" CASCADE'))


if __name__ == "__main__":
    main()
