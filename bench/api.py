"""Benchmark: the REST API under load on loopback, against a hand-written Flask + SQLAlchemy
app doing the same work on the same table, in the same run.

    python bench/api.py [--rows 1000000] [--postgres URL] [--duration 5] [--rounds 3] [--connections 4]

A ``deal`` entity (title, company, email, an indexed city, amount, probability, close
date, a workflow stage) is filled with ``--rows`` realistic rows through the engine's CSV
import, then served twice by gunicorn with the same settings (``-w 2``, sync workers):
the engine (``engine.web:serve_app()``) and the baseline (``bench/_api_baseline.py``).
Four operations, each measured ``--rounds`` times for ``--duration`` seconds after a
warm-up, the two servers taking turns (the machine may be busy with other work: a burst
then hits both), the median run reported:

- list: ``where`` city equals one of 1,000 cities (index ``(city, id)``; about rows/1,000
  matches), a page of 50 in id order and the total;
- get: one record by a random id;
- create: a valid new deal (validation, insert, audit rows, the workflow's initial state);
- transition: ``submit`` (draft → submitted, guarded by the amount) on a record not yet
  submitted (engine and baseline take disjoint id ranges).

Load: ``wrk`` (Debian: ``apt-get install wrk``) with ``bench/_api_load.lua``, one thread and
``--connections`` connections. wrk is a C program in its own process: a Python client would
need about as much CPU per request as the servers, and there are two cores here. Every
request sends an administrator's API token. Nothing is cached between runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from engine.cli._progress import terminal_progress
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from engine.users import SystemActor

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SCENARIOS = ("list", "get", "create", "transition")
CITY_NAMES = (
    "Beijing",
    "Shanghai",
    "Guangzhou",
    "Shenzhen",
    "Chengdu",
    "Hangzhou",
    "Wuhan",
    "Xian",
    "Nanjing",
    "Tianjin",
    "Chongqing",
    "Suzhou",
    "Qingdao",
    "Dalian",
    "Xiamen",
    "Ningbo",
    "Jinan",
    "Hefei",
    "Fuzhou",
    "Kunming",
    "Harbin",
    "Shenyang",
    "Changsha",
    "Zhengzhou",
    "Nanning",
    "Guiyang",
    "Lanzhou",
    "Taiyuan",
    "Urumqi",
    "Hohhot",
    "Lyon",
    "Hamburg",
    "Osaka",
    "Seattle",
    "Porto",
    "Gdansk",
    "Leeds",
    "Turin",
    "Graz",
    "Ghent",
)
CITIES = tuple(f"{name} {district}" for name in CITY_NAMES for district in range(1, 26))  # 1,000
COMPANIES = ("Telecom", "Bank", "Logistics", "Foods", "Machinery", "Pharma", "Textiles", "Energy", "Media", "Retail")
ENTITY = {
    "schema_version": 1,
    "kind": "entity",
    "name": "deal",
    "display": "title",
    "fields": {
        "title": {"type": "string", "required": True, "max_length": 200},
        "company": {"type": "string", "max_length": 200},
        "email": {"type": "email"},
        "city": {"type": "string", "max_length": 80},
        "amount": {"type": "money", "minimum": 0},
        "probability": {"type": "integer", "minimum": 0, "maximum": 100},
        "close_date": {"type": "date"},
        "stage": {"type": "enum", "choices": ["draft", "submitted", "won", "lost"]},
    },
    # the index a list "deals in this city, oldest first" needs: the page and its total
    # are read from the index alone
    "indexes": [["city", "id"]],
}
WORKFLOW = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "deal_flow",
    "entity": "deal",
    "field": "stage",
    "states": {
        "draft": {"initial": True},
        "submitted": {"required": ["amount"]},
        "won": {"final": True},
        "lost": {"final": True},
    },
    "transitions": {
        "submit": {"from": ["draft"], "to": "submitted", "when": {"<=": [{"var": "record.amount"}, 1000000]}},
        "win": {"from": ["submitted"], "to": "won"},
        "lose": {"from": ["draft", "submitted"], "to": "lost"},
    },
}


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    non_2xx: int
    socket_errors: int
    #: CPU time (user + system) the server's workers spent per request: unlike the rates,
    #: hardly moved by other work on the machine
    cpu_ms: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# -- data ------------------------------------------------------------------------------------
def write_bundle(root: Path) -> Path:
    bundle = root / "bench_api"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "bench_api"}))
    (bundle / "deal.json").write_text(json.dumps(ENTITY))
    (bundle / "deal_flow.json").write_text(json.dumps(WORKFLOW))
    return bundle


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write("title,company,email,city,amount,probability,close_date\n")
        for i in range(1, rows + 1):
            company = f"{rng.choice(CITY_NAMES)} {rng.choice(COMPANIES)} {i % 9973}"
            out.write(
                f"Deal {i} with {company},{company},buyer{i}@example.com,{rng.choice(CITIES)},"
                f"{rng.randrange(1000, 900000)}.{rng.randrange(100):02d},{rng.randrange(101)},"
                f"2027-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}\n"
            )


def fill(url: str, bundle: Path, csv_path: Path) -> str:
    """Apply the bundle, import the rows, create the administrator; the token to send."""
    crm = CrmEngine(url)
    try:
        crm.apply(load_definitions(bundle))
        crm.users.create("ada", roles=["admin"])
        started = time.perf_counter()
        report = import_csv(
            crm, "deal", csv_path, actor=SystemActor("benchmark", on_behalf_of="ada"), progress=terminal_progress()
        )
        seconds = time.perf_counter() - started
        print(f"  imported {report.inserted:,} rows in {seconds:.1f} s", flush=True)
        # statistics and (PostgreSQL) the visibility map, as autovacuum would leave them
        if crm.db.is_postgres:
            with crm.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE deal")
        else:
            with crm.db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        token: str = crm.tokens.create("ada", name="bench")
        return token
    finally:
        crm.close()


# -- servers and load -------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the workers so far (from /proc)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        ticks = 0
        for child in children:
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(app: str, url: str, workers: int, log: Path, probe: str, token: str) -> Iterator[Server]:
    """``app`` under gunicorn (the same settings for both)."""
    port = _free_port()
    env = {**os.environ, "CRM_DATABASE_URL": url}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(BENCH),
        "--log-level",
        "warning",
        app,
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(base + probe, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=10):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{app} did not start; see {log}") from None
                time.sleep(0.2)
        yield Server(base, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wrk(
    base: str, scenario: str, flavour: str, *, rows: int, start: int, token: str, seconds: float, connections: int
) -> Figures:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "_api_load.lua"),
        base,
        "--",
        scenario,
        flavour,
        str(rows),
        str(start),
        token,
        "|".join(CITIES),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in reversed(output.splitlines()) if x.startswith("{"))
    return Figures(**json.loads(line))


def measure(
    label: str, url: str, bundle: Path, csv_path: Path, args: argparse.Namespace, work: Path
) -> dict[tuple[str, str], Figures]:
    """Every operation on both servers: a warm-up, then ``--rounds`` runs taking turns (so
    that a burst of load from elsewhere hits both); the run of median rate stands."""
    print(f"{label}: filling {args.rows:,} rows", flush=True)
    token = fill(url, bundle, csv_path)
    # transitions submit each record once: the engine takes the first half of the ids
    next_id = {"engine": 1, "baseline": 1 + args.rows // 2}
    limit = {"engine": args.rows // 2, "baseline": args.rows}
    results: dict[tuple[str, str], Figures] = {}
    log = work / f"gunicorn-{label}.log"
    with (
        gunicorn("engine.web:serve_app()", url, args.workers, log, "/api/v1/records/deal/1", token) as engine,
        gunicorn("_api_baseline:create_app()", url, args.workers, log, "/deal/1", token) as baseline,
    ):
        servers = {"engine": engine, "baseline": baseline}

        def run(scenario: str, flavour: str, seconds: float) -> Figures:
            server = servers[flavour]
            cpu = server.cpu_seconds()
            figures = wrk(
                server.base,
                scenario,
                flavour,
                rows=args.rows,
                start=next_id[flavour],
                token=token,
                seconds=seconds,
                connections=args.connections,
            )
            figures = dataclasses.replace(figures, cpu_ms=(server.cpu_seconds() - cpu) * 1000 / figures.requests)
            if scenario == "transition":
                next_id[flavour] += figures.requests + 10 * args.connections  # those still in flight too
                if next_id[flavour] > limit[flavour]:
                    raise SystemExit("too few rows for this many transitions: raise --rows or lower --duration")
            return figures

        for scenario in SCENARIOS:
            runs: dict[str, list[Figures]] = {"engine": [], "baseline": []}
            for flavour in runs:
                run(scenario, flavour, args.warmup)
            for round_ in range(args.rounds):
                for flavour in list(runs)[:: 1 if round_ % 2 == 0 else -1]:
                    runs[flavour].append(run(scenario, flavour, args.duration))
            for flavour, figures in runs.items():
                chosen = sorted(figures, key=lambda f: f.rate)[len(figures) // 2]
                chosen = dataclasses.replace(chosen, cpu_ms=statistics.median(f.cpu_ms for f in figures))
                results[(scenario, flavour)] = chosen
                rates = " ".join(f"{f.rate:,.0f}" for f in figures)
                print(
                    f"  {scenario:<10} {flavour:<8} {chosen.rate:>8,.0f} req/s (runs: {rates})  "
                    f"p50 {chosen.p50_ms:6.1f} ms  p99 {chosen.p99_ms:6.1f} ms  CPU {chosen.cpu_ms:.2f} ms/req  "
                    f"non-2xx {sum(f.non_2xx for f in figures)}",
                    flush=True,
                )
    return results


def report(label: str, results: dict[tuple[str, str], Figures], rows: int) -> None:
    print(f"\n{label}, {rows:,} rows")
    print(
        "| operation | engine req/s | baseline req/s | overhead (baseline/engine) | server CPU per request, "
        "engine / baseline | engine p50 / p99 | baseline p50 / p99 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for scenario in SCENARIOS:
        engine, baseline = results[(scenario, "engine")], results[(scenario, "baseline")]
        errors = engine.non_2xx + engine.socket_errors + baseline.non_2xx + baseline.socket_errors
        note = f" ({errors} errors)" if errors else ""
        ratio = baseline.rate / engine.rate
        cpu = f"{engine.cpu_ms:.2f} / {baseline.cpu_ms:.2f} ms ({engine.cpu_ms / max(baseline.cpu_ms, 1e-9):.2f}×)"
        print(
            f"| {scenario} | {engine.rate:,.0f} | {baseline.rate:,.0f} | **{ratio:.2f}×**{note} | {cpu} "
            f"| {engine.p50_ms:.1f} / {engine.p99_ms:.1f} ms | {baseline.p50_ms:.1f} / {baseline.p99_ms:.1f} ms |"
        )


def postgres_schema(url: str, name: str, *, create: bool = True) -> str:
    """A fresh schema ``name`` (dropped first; only dropped with ``create=False``); the URL
    that works in it."""
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        if create:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table (default 1,000,000)")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+psycopg://...)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of one measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per operation and server (median)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server (default 2)")
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/api.py needs wrk: apt-get install wrk")
    if args.rows < 4000:
        raise SystemExit("--rows must be at least 4000 (each record is submitted once)")
    work = Path(tempfile.mkdtemp(prefix="crm-bench-api-"))
    try:
        bundle = write_bundle(work)
        csv_path = work / "deals.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        print(
            f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        runs: list[tuple[str, dict[tuple[str, str], Figures]]] = []
        if not args.skip_sqlite:
            runs.append(("SQLite", measure("SQLite", f"sqlite:///{work / 'api.db'}", bundle, csv_path, args, work)))
        if args.postgres:
            url = postgres_schema(args.postgres, "bench_api")
            try:
                runs.append(("PostgreSQL", measure("PostgreSQL", url, bundle, csv_path, args, work)))
            finally:
                postgres_schema(args.postgres, "bench_api", create=False)
        print(
            f"\ngunicorn -w {args.workers} (sync), wrk -t1 -c{args.connections}, median of {args.rounds} runs of "
            f"{args.duration:.0f} s per operation; load average at the end {os.getloadavg()[0]:.2f}"
        )
        for label, results in runs:
            report(label, results, args.rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
