"""Benchmark: what ownership costs, against a baseline in the same run.

    python bench/ownership.py [--accounts 20000] [--postgres URL]

1. ``read_via`` on lists: a rep lists accounts (a page of 50 and its count) whose read
   scope is "own" plus the customers of their own deals (``read_via: deal.account``),
   against the same user's list with a role that is "own" alone. Both run the engine's
   list; the ratio is the price of the extra ``OR id IN (SELECT account FROM deal WHERE
   owner = ?)`` and of the twice as many rows it reaches.
2. Hand-over: ``crm user deactivate REP --transfer-to OTHER`` moving a book of accounts,
   each with a contact and a deal following it (``cascade_owner``), against hand-written SQL
   doing the same per-record work in one transaction: ``UPDATE … SET owner, version WHERE
   id AND version`` plus one audit row per record.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import audit_log
from engine.transfer import import_csv
from engine.users import SystemActor, User

ENTITIES = {
    "account": {"display": "name", "fields": {"name": {"type": "string", "required": True}}},
    "contact": {
        "fields": {
            "name": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "cascade_owner": True},
        }
    },
    "deal": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "cascade_owner": True},
        }
    },
}
OWN = {"*": {"create": True, "read": "own", "update": "own"}}
ROLES = {
    "rep": {"schema_version": 1, "kind": "role", "name": "rep", "permissions": OWN, "read_via": ["deal.account"]},
    "plain": {"schema_version": 1, "kind": "role", "name": "plain", "permissions": OWN},
}
REPS = 20


def write_bundle(root: Path) -> Path:
    bundle = root / "bench_ownership"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "bench_ownership"}))
    for name, doc in ENTITIES.items():
        (bundle / f"{name}.json").write_text(json.dumps({"schema_version": 1, "kind": "entity", "name": name, **doc}))
    for name, doc in ROLES.items():
        (bundle / f"{name}.json").write_text(json.dumps(doc))
    return bundle


def prepare(url: str, root: Path, accounts: int) -> CrmEngine:
    crm = CrmEngine(url)
    crm.apply(load_definitions(write_bundle(root)))
    crm.users.create("boss", roles=["admin"])
    crm.users.create("plain0", roles=["plain"])
    for i in range(REPS):
        crm.users.create(f"rep{i}", roles=["rep"])
    actor = SystemActor("benchmark")
    rows = "".join(f"Account {i},rep{i % REPS}\n" for i in range(accounts))
    _load(crm, root, "account", "name,owner\n" + rows, actor)
    _load(crm, root, "contact", "name,account,owner\n" + "".join(
        f"Contact {i},{i + 1},rep{i % REPS}\n" for i in range(accounts)), actor)  # fmt: skip
    # every deal of rep0 is on another rep's account: what read_via reads for them
    _load(crm, root, "deal", "title,account,owner\n" + "".join(
        f"Deal {i},{i + 1},rep{(i + 1) % REPS}\n" for i in range(accounts)), actor)  # fmt: skip
    return crm


def _load(crm: CrmEngine, root: Path, entity: str, text: str, actor: SystemActor) -> None:
    path = root / f"{entity}.csv"
    path.write_text(text)
    import_csv(crm, entity, path, actor=actor)


def time_lists(crm: CrmEngine, actor: User, rounds: int) -> float:
    crm.records.list("account", actor=actor, limit=50, offset=50)  # statements built once
    start = time.perf_counter()
    for i in range(rounds):
        crm.records.list("account", actor=actor, limit=50, offset=50 + i % 3)  # the count is asked each time
    return (time.perf_counter() - start) / rounds


def time_handover(crm: CrmEngine, name: str) -> tuple[float, int]:
    start = time.perf_counter()
    _, handover = crm.handovers.deactivate(name, transfer_to="boss", actor=crm.users.get("boss"))
    assert handover is not None
    return time.perf_counter() - start, handover.total


def time_raw(crm: CrmEngine, name: str) -> tuple[float, int]:
    """The same per-record owner writes and audit rows, by hand, in one transaction."""
    moved = 0
    start = time.perf_counter()
    with crm.db.write() as conn:
        for entity in ("account", "contact", "deal"):
            table = crm.model.table(entity)
            update = (
                table.update()
                .where(table.c.id == sa.bindparam("rid"), table.c.version == sa.bindparam("v"))
                .values(owner="boss", version=sa.bindparam("nv"), updated_at=sa.bindparam("now"))
            )
            rows = conn.execute(sa.select(table.c.id, table.c.version).where(table.c.owner == name)).all()
            now = datetime.now(UTC)
            for record_id, version in rows:
                conn.execute(update, {"rid": record_id, "v": version, "nv": version + 1, "now": now})
                conn.execute(
                    audit_log.insert(),
                    {
                        "change_id": uuid.uuid4().hex,
                        "entity": entity,
                        "record_id": record_id,
                        "action": "update",
                        "field": "owner",
                        "old_value": name,
                        "new_value": "boss",
                        "actor": "bench",
                        "at": now,
                    },
                )
            moved += len(rows)
    return time.perf_counter() - start, moved


def measure(label: str, url: str, accounts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        crm = prepare(url, Path(tmp), accounts)
        try:
            rep = crm.users.get("rep0")
            # the same user with a role without read_via: own scope only (1 in 20 accounts)
            plain = time_lists(crm, dataclasses.replace(rep, roles=("plain",)), 200)
            via = time_lists(crm, rep, 200)  # twice the rows: their own and their deals' customers
            print(
                f"{label} list accounts (page 50 + count, {accounts:,} accounts, {accounts // REPS:,} own): "
                f"own {plain * 1000:.2f} ms, own + read_via {via * 1000:.2f} ms, ratio {plain / via:.2f}x"
            )
            raw, raw_moved = time_raw(crm, "rep1")
            engine, moved = time_handover(crm, "rep2")
            print(
                f"{label} hand-over: engine {moved / engine:,.0f} records/s ({moved} in {engine:.2f} s), "
                f"raw SQL {raw_moved / raw:,.0f} records/s, ratio {(moved / engine) / (raw_moved / raw):.2f}x"
            )
        finally:
            crm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{tmp}/bench.db", args.accounts)
    if args.postgres:
        engine = sa.create_engine(args.postgres)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_ownership CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA bench_ownership"))
        engine.dispose()
        separator = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{separator}options=-csearch_path%3Dbench_ownership"
        try:
            measure("PostgreSQL", url, args.accounts)
        finally:
            engine = sa.create_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_ownership CASCADE"))
            engine.dispose()


if __name__ == "__main__":
    main()
