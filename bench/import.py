"""Benchmark: validated CSV import against raw bulk inserts of the same rows, same run.

    python bench/import.py [--rows 1000000] [--postgres URL] [--keep DIR]

1. Writes a deterministic CSV of N rows for a 20-field entity (``bench/import.py`` makes
   the definitions too).
2. Imports it with ``crm import`` in a child process (full validation, references none),
   on a fresh SQLite file: rows/s and the child's peak RSS.
3. Baseline, same run: raw ``sqlite3.executemany`` of the same rows, pre-built as the
   values the engine stores, into the same table (created by the same definitions) in a
   second fresh file; only the executemany calls are timed.
4. With ``--postgres``: the same on PostgreSQL, against raw psycopg ``COPY``.
5. References by natural key: N/2 ``office`` rows that reference one of 1,000 ``region``
   records, imported once with the ``region`` column holding ids and once with a
   ``region.code`` column holding the regions' unique codes (each into a fresh database
   with the same regions); the ratio is keys/ids (each import resolves its cells one query
   per batch). On both databases when ``--postgres`` is given.

Prints rows/s, peak RSS and the ratio engine/raw. Not a test: nothing here asserts times.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

FIELDS: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "required": True, "max_length": 120},
    "email": {"type": "email"},
    "phone": {"type": "phone"},
    "city": {"type": "string", "max_length": 60},
    "industry": {"type": "enum", "choices": ["telecom", "banking", "retail", "energy", "insurance", "hotel"]},
    "segment": {"type": "enum", "choices": ["S", "A", "B", "C"], "required": True},
    "employees": {"type": "integer", "minimum": 0},
    "revenue": {"type": "money", "minimum": 0},
    "margin": {"type": "decimal", "precision": 6, "scale": 3},
    "score": {"type": "integer", "minimum": 0, "maximum": 100},
    "active": {"type": "boolean"},
    "founded": {"type": "date"},
    "last_contact": {"type": "datetime"},
    "website": {"type": "url"},
    "notes": {"type": "text"},
    "region": {"type": "enum", "choices": ["north", "south", "east", "west", "central"]},
    "priority": {"type": "integer", "minimum": 1, "maximum": 5},
    "discount": {"type": "decimal", "precision": 5, "scale": 2, "minimum": 0, "maximum": 100},
    "code": {"type": "string", "max_length": 20},
    "source": {"type": "enum", "choices": ["web", "referral", "fair", "call"]},
}
CITIES = ["Beijing", "Shanghai", "Shenzhen", "Chengdu", "London", "Berlin", "Paris", "Hangzhou", "Wuhan", "Xi'an"]
WORDS = ["Tech", "Trade", "Group", "Holdings", "Systems", "Energy", "Foods", "Logistics", "Media", "Bank"]


REGIONS = 1000
REFERENCE_ENTITIES: dict[str, dict[str, Any]] = {
    "region": {
        "display": "name",
        "fields": {"code": {"type": "string", "unique": True}, "name": {"type": "string", "required": True}},
    },
    "office": {
        "fields": {
            "name": {"type": "string", "required": True},
            "city": {"type": "string"},
            "region": {"type": "reference", "target": "region"},
        }
    },
}


def write_bundle(root: Path) -> Path:
    bundle = root / "bench_bundle"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "bench"}))
    entity = {"schema_version": 1, "kind": "entity", "name": "company", "fields": FIELDS}
    (bundle / "company.json").write_text(json.dumps(entity))
    for name, body in REFERENCE_ENTITIES.items():
        (bundle / f"{name}.json").write_text(json.dumps({"schema_version": 1, "kind": "entity", "name": name, **body}))
    return bundle


def write_reference_files(work: Path, count: int) -> tuple[Path, Path, Path]:
    """The regions, and the same offices referencing them by id and by ``region.code``."""
    regions, by_id, by_key = work / "regions.csv", work / "offices_by_id.csv", work / "offices_by_key.csv"
    with regions.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name"])
        writer.writerows([f"R-{i:04d}", f"Region {i}"] for i in range(1, REGIONS + 1))
    rng = random.Random(11)
    picks = [rng.randint(1, REGIONS) for _ in range(count)]
    for path, column, cell in (
        (by_id, "region", lambda r: str(r)),
        (by_key, "region.code", lambda r: f"R-{r:04d}"),
    ):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "city", column])
            writer.writerows([f"Office {i}", CITIES[i % len(CITIES)], cell(r)] for i, r in enumerate(picks))
    return regions, by_id, by_key


def generate_rows(count: int, seed: int = 7) -> Any:
    rng = random.Random(seed)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(count):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        yield [
            name,
            f"contact{i}@example.com",
            f"+86 10 {rng.randint(1000_0000, 9999_9999)}",
            rng.choice(CITIES),
            rng.choice(FIELDS["industry"]["choices"]),
            rng.choice("SABC"),
            str(rng.randint(1, 50_000)),
            f"{rng.randint(0, 10_000_000)}.{rng.randint(0, 99):02d}",
            f"{rng.uniform(-50, 50):.3f}",
            str(rng.randint(0, 100)),
            rng.choice(["true", "false"]),
            (date(1980, 1, 1) + timedelta(days=rng.randint(0, 15000))).isoformat(),
            (base + timedelta(seconds=rng.randint(0, 30_000_000))).isoformat(),
            f"https://www.company{i}.example.com",
            "Key account; visited twice" if i % 3 == 0 else "",
            rng.choice(FIELDS["region"]["choices"]),
            str(rng.randint(1, 5)),
            f"{rng.randint(0, 99)}.{rng.randint(0, 99):02d}",
            f"C-{i:07d}",
            rng.choice(FIELDS["source"]["choices"]),
        ]


def write_csv(path: Path, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(FIELDS))
        writer.writerows(generate_rows(count))


def run_engine_import(
    url: str,
    bundle: Path,
    csv_path: Path,
    threaded: bool = False,
    entity: str = "company",
    before: tuple[str, Path] | None = None,
) -> tuple[float, float]:
    """(seconds, peak RSS MB) of ``crm import`` of ``entity`` in a child process (after
    importing ``before``, an (entity, file), untimed)."""
    crm = [sys.executable, "-m", "engine.cli"]
    env = {**os.environ, "CRM_DATABASE_URL": url}
    subprocess.run([*crm, "schema", "apply", str(bundle)], check=True, env=env, stdout=subprocess.DEVNULL)
    if before is not None:
        subprocess.run([*crm, "import", before[0], str(before[1])], check=True, env=env, stdout=subprocess.DEVNULL)
    code = (
        "import resource, sys, time\n"
        "from engine.runtime import CrmEngine\n"
        "from engine.transfer import import_csv\n"
        "from engine.users import SystemActor\n"
        "crm = CrmEngine(sys.argv[1])\n"
        "start = time.perf_counter()\n"
        "actor = SystemActor('benchmark', on_behalf_of='bench')\n"
        "report = import_csv(crm, sys.argv[4], sys.argv[2], actor=actor, threaded=sys.argv[3] == '1')\n"
        "elapsed = time.perf_counter() - start\n"
        "assert report.rejected == 0, report.problems[:3]\n"
        "print(elapsed, report.inserted, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, url, str(csv_path), "1" if threaded else "0", entity],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds, _inserted, rss = out.stdout.split()
    return float(seconds), float(rss)


def native_row(raw: list[str], now: str, sqlite: bool) -> tuple[Any, ...]:
    """The values the engine stores for one CSV row (what a hand-written loader would insert)."""
    (
        name,
        email,
        phone,
        city,
        industry,
        segment,
        employees,
        revenue,
        margin,
        score,
        active,
        founded,
        last_contact,
        website,
        notes,
        region,
        priority,
        discount,
        code,
        source,
    ) = raw
    if sqlite:
        contact = datetime.fromisoformat(last_contact).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        money: Any = float(revenue)
        marg: Any = float(margin)
        disc: Any = float(discount)
        flag: Any = 1 if active == "true" else 0
        day: Any = founded
    else:
        contact = datetime.fromisoformat(last_contact)
        money, marg, disc = Decimal(revenue), Decimal(margin), Decimal(discount)
        flag, day = active == "true", date.fromisoformat(founded)
    return (
        1,
        now,
        now,
        "bench",
        "bench",
        name,
        email,
        phone,
        city,
        industry,
        segment,
        int(employees),
        money,
        marg,
        int(score),
        flag,
        day,
        contact,
        website,
        notes or None,
        region,
        int(priority),
        disc,
        code,
        source,
    )


COLUMNS = ["version", "created_at", "updated_at", "created_by", "owner", *FIELDS]


def raw_sqlite(path: Path, csv_path: Path, chunk: int = 50_000) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO company ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    elapsed = 0.0
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        conn.execute("BEGIN")
        while True:
            rows = [native_row(r, now, True) for _, r in zip(range(chunk), reader, strict=False)]
            if not rows:
                break
            start = time.perf_counter()
            conn.executemany(sql, rows)
            elapsed += time.perf_counter() - start
        start = time.perf_counter()
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - start
    conn.close()
    return elapsed


def raw_postgres(url: str, csv_path: Path, chunk: int = 50_000) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    elapsed = 0.0
    with psycopg.connect(dsn) as conn, csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        with conn.cursor() as cur:
            while True:
                rows = [native_row(r, now.isoformat(), False) for _, r in zip(range(chunk), reader, strict=False)]
                if not rows:
                    break
                start = time.perf_counter()
                with cur.copy(f"COPY company ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                elapsed += time.perf_counter() - start
        start = time.perf_counter()
        conn.commit()
        elapsed += time.perf_counter() - start
    return elapsed


def postgres_schema(url: str, name: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}"


def natural_keys(label: str, fresh_url: Callable[[str], str], bundle: Path, work: Path, count: int) -> None:
    """Offices by ``region`` id against the same offices by ``region.code``, fresh databases."""
    regions, by_id, by_key = write_reference_files(work, count)
    ids, _ = run_engine_import(fresh_url("by_id"), bundle, by_id, entity="office", before=("region", regions))
    keys, _ = run_engine_import(fresh_url("by_key"), bundle, by_key, entity="office", before=("region", regions))
    print(f"{label}: references by natural key, {count:,} rows referencing {REGIONS:,} regions")
    print(f"  by id (region):             {count / ids:>10,.0f} rows/s  {ids:6.2f}s")
    print(f"  by key (region.code):       {count / keys:>10,.0f} rows/s  {keys:6.2f}s")
    print(f"  ratio keys/ids: {ids / keys:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", metavar="URL", help="also run on PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
    )
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    parser.add_argument(
        "--part",
        choices=["all", "raw", "keys"],
        default="all",
        help="raw: only the import against raw inserts; keys: only natural keys against ids",
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="crm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bundle = write_bundle(work)
    if args.part != "keys":
        against_raw(args, work, bundle)
    if args.part != "raw":
        reference_rows = max(args.rows // 2, 1)

        def sqlite_url(name: str) -> str:
            (work / f"{name}.db").unlink(missing_ok=True)
            return f"sqlite:///{work / f'{name}.db'}"

        natural_keys("SQLite", sqlite_url, bundle, work, reference_rows)
        if args.postgres:
            url = args.postgres
            natural_keys("PostgreSQL", lambda name: postgres_schema(url, f"bench_{name}"), bundle, work, reference_rows)
            for name in ("by_id", "by_key"):
                postgres_schema(url, f"bench_{name}")


def against_raw(args: argparse.Namespace, work: Path, bundle: Path) -> None:
    """The engine's import of the company file against raw inserts of the same rows."""
    csv_path = work / "company.csv"
    start = time.perf_counter()
    write_csv(csv_path, args.rows)
    print(
        f"generated {args.rows:,} rows × {len(FIELDS)} fields ({csv_path.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - start:.1f}s"
    )

    engine_db, single_db, raw_db = work / "engine.db", work / "single.db", work / "raw.db"
    for p in (engine_db, single_db, raw_db):
        p.unlink(missing_ok=True)
    threaded, _ = run_engine_import(f"sqlite:///{single_db}", bundle, csv_path, threaded=True)
    seconds, rss = run_engine_import(f"sqlite:///{engine_db}", bundle, csv_path)
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "--database-url", f"sqlite:///{raw_db}", "schema", "apply", str(bundle)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    raw = raw_sqlite(raw_db, csv_path)
    print("SQLite")
    print(
        f"  engine import (CSV parse + validation + insert): {args.rows / seconds:>10,.0f} rows/s  "
        f"{seconds:6.2f}s  peak RSS {rss:.0f} MB"
    )
    print(f"  raw sqlite3.executemany (pre-built rows):         {args.rows / raw:>10,.0f} rows/s  {raw:6.2f}s")
    print(
        f"  ratio engine/raw: {raw / seconds:.2f}x  (with the threaded writer: {args.rows / threaded:,.0f} rows/s, "
        f"{raw / threaded:.2f}x)"
    )

    if args.postgres:
        engine_url = postgres_schema(args.postgres, "bench_engine")
        raw_url = postgres_schema(args.postgres, "bench_raw")
        seconds, rss = run_engine_import(engine_url, bundle, csv_path)
        subprocess.run(
            [sys.executable, "-m", "engine.cli", "--database-url", raw_url, "schema", "apply", str(bundle)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        raw = raw_postgres(raw_url, csv_path)
        print("PostgreSQL")
        print(
            f"  engine import (CSV parse + validation + COPY):    {args.rows / seconds:>10,.0f} rows/s  "
            f"{seconds:6.2f}s  peak RSS {rss:.0f} MB"
        )
        print(f"  raw psycopg COPY (pre-built rows):               {args.rows / raw:>10,.0f} rows/s  {raw:6.2f}s")
        print(f"  ratio engine/raw: {raw / seconds:.2f}x")
        postgres_schema(args.postgres, "bench_engine")
        postgres_schema(args.postgres, "bench_raw")


if __name__ == "__main__":
    main()
