"""Benchmark: duplicate rules at scale, against the same work without rules, same run.

    python bench/duplicates.py [--rows 100000] [--creates 400] [--postgres URL] [--sqlite-only]

1. Two entities of the same fields: ``account`` (the standard product's rules: similar name
   + same city, block; same phone, warn) and ``plain`` (no rules). Both are filled with N
   generated Chinese company names (about 1% written again with or without legal form,
   region, full-width characters or spaces) by bulk inserts, then the rules are applied:
   the back-fill of their keys is timed.
2. Creates through the records service, alternating ``account`` and ``plain`` so both see
   the same machine: p50 / p99 of each, and the p99 the rules add.
3. ``crm duplicates scan account`` (the service call it makes): seconds and groups found.

Prints the figures and ratios. Not a test: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.users import SystemActor

SYSTEM = SystemActor("bench")
CITIES = ["西安", "北京", "上海", "广州", "深圳", "成都", "武汉", "杭州", "南京", "重庆", "天津", "苏州"]
TRADE = (
    "华信天成博远恒通中科金达宏利鑫源瑞丰嘉禾永泰盛世东方新宇创联汇智海川凯越明辉德润安捷星辰万邦隆兴富佳美"
    "正大康宁长青鸿运广益兆丰合力振远腾飞景泰嘉华聚源卓越启航弘毅致远同济惠民润泽云峰龙腾鹏程晨光宏图"
    "瀚海远洋金桥银河天宇华夏中天立达诚信德胜百川千禧万象新华建业锦程昌盛宝隆永安荣泰祥和旭日恒信安泰"
)
INDUSTRY = ["环保科技", "物流", "电子", "机械制造", "医疗器械", "建材", "软件", "贸易", "化工", "食品"]
SUFFIX = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司", ""]
FIELDS = {
    "name": {"type": "string", "required": True, "max_length": 200},
    "city": {"type": "string", "max_length": 60},
    "phone": {"type": "phone"},
}
RULES = [
    {
        "name": "same_company",
        "match": [{"field": "name", "method": "similar", "threshold": 0.85}, {"field": "city"}],
        "action": "block",
    },
    {"name": "same_phone", "match": [{"field": "phone"}], "action": "warn"},
]


def write_bundle(root: Path, with_rules: bool) -> Path:
    bundle = root / ("rules" if with_rules else "plain")
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "bench"}))
    for name in ("account", "plain"):
        doc: dict[str, Any] = {"schema_version": 1, "kind": "entity", "name": name, "display": "name", "fields": FIELDS}
        if with_rules and name == "account":
            doc["duplicates"] = RULES
        (bundle / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False))
    return bundle


def company(rng: random.Random) -> dict[str, Any]:
    trade = "".join(rng.choice(TRADE) for _ in range(rng.choice((3, 4))))
    city = rng.choice(CITIES)
    name = f"{city}{trade}{rng.choice(INDUSTRY)}{rng.choice(SUFFIX)}"
    return {"name": name, "city": city, "phone": f"+86 1{rng.randint(30, 89)}{rng.randint(10000000, 99999999)}"}


def variant(rng: random.Random, row: dict[str, Any]) -> dict[str, Any]:
    """The same company written otherwise (what the rules should catch)."""
    name = row["name"]
    change = rng.randrange(4)
    if change == 0:
        name = name + " "
    elif change == 1:
        name = name.replace("有限公司", "").replace("股份", "")
    elif change == 2:
        name = name.replace(row["city"], "", 1) + f"（{row['city']}）" if name.startswith(row["city"]) else name
    else:
        name = name.translate({ord(c): ord(c) + 0xFEE0 for c in "()"})
    return {**row, "name": name}


def fill(engine: CrmEngine, entity: str, rows: int, seed: int) -> float:
    """Bulk-insert ``rows`` generated accounts (not through the service: setup only)."""
    rng = random.Random(seed)
    table = engine.model.table(entity)
    now = datetime.now(UTC)
    made: list[dict[str, Any]] = []
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for i in range(rows):
        row = variant(rng, made[rng.randrange(len(made))]) if made and rng.random() < 0.01 else company(rng)
        if len(made) < 10000:
            made.append(row)
        batch.append({**row, "version": 1, "created_at": now, "updated_at": now, "created_by": "bench"})
        if len(batch) == 10000 or i == rows - 1:
            with engine.db.write() as conn:
                conn.execute(table.insert(), batch)
            batch = []
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, rows: int, creates: int, label: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        engine = CrmEngine(url)
        engine.apply(load_definitions(write_bundle(root, with_rules=False)))
        filled = fill(engine, "account", rows, 7) + fill(engine, "plain", rows, 7)
        started = time.perf_counter()
        engine.apply(load_definitions(write_bundle(root, with_rules=True)))
        backfill = time.perf_counter() - started
        rng = random.Random(11)
        timings: dict[str, list[float]] = {"account": [], "plain": []}
        for i in range(creates * 2 + 40):
            entity = "account" if i % 2 == 0 else "plain"
            data = company(rng)
            began = time.perf_counter()
            engine.records.create(entity, data, actor=SYSTEM, allow_duplicate=True)
            if i >= 40:  # the first ones warm statements and caches
                timings[entity].append((time.perf_counter() - began) * 1000)
        started = time.perf_counter()
        groups = engine.duplicates.scan("account", actor=SYSTEM)
        scan = time.perf_counter() - started
        engine.close()
    out = {
        "database": label,
        "rows": rows,
        "fill_s": round(filled, 1),
        "backfill_s": round(backfill, 1),
        "scan_s": round(scan, 2),
        "groups": len(groups),
        "grouped_records": sum(len(g.ids) for g in groups),
    }
    for entity, values in timings.items():
        out[f"{entity}_p50_ms"] = round(statistics.median(values), 2)
        out[f"{entity}_p99_ms"] = round(percentile(values, 0.99), 2)
    out["added_p50_ms"] = round(out["account_p50_ms"] - out["plain_p50_ms"], 2)
    out["added_p99_ms"] = round(out["account_p99_ms"] - out["plain_p99_ms"], 2)
    out["ratio_p99"] = round(out["account_p99_ms"] / out["plain_p99_ms"], 2)
    return out


def postgres_schema(url: str) -> str:
    """A fresh schema on the server (dropped by the caller's next run; the URL selects it)."""
    schema = f"bench_dupes_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=400)
    parser.add_argument(
        "--postgres", metavar="URL", help="also on PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            results.append(run(f"sqlite:///{folder}/bench.db", args.rows, args.creates, "sqlite"))
            print(json.dumps(results[-1]), flush=True)
    if args.postgres:
        schema = postgres_schema(args.postgres)
        separator = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{separator}options=-csearch_path%3D{schema}"
        try:
            results.append(run(url, args.rows, args.creates, "postgresql"))
            print(json.dumps(results[-1]), flush=True)
        finally:
            engine = sa.create_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


if __name__ == "__main__":
    main()
