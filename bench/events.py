"""Benchmark: what an active webhook subscription costs the writes, in one run.

    python bench/events.py [--rows 20000] [--import-rows 200000] [--postgres URL] [--duration 5] [--rounds 3]

- **API create** (the ``bench/api.py`` setup: the ``deal`` entity with its workflow, gunicorn
  ``-w 2``, wrk with ``bench/_api_load.lua``): two databases filled alike, served side by side,
  one with a subscription to every ``deal`` event and a delivery worker running
  (``engine.webhooks.work()`` every 0.2 s in this process, sending to a receiver on 127.0.0.1),
  one without; the servers take turns, the median run of each is reported, and the ratio
  with/without (the issue's target: at least 0.8).
- **Import**: the same CSV imported into a fresh database without and with a subscription and
  its worker running (target: at least 0.5).
- **Delivery**: how many events the worker sent during the create runs, and the time from each
  change's commit (``occurred_at``) to its receipt, p50 and p99, with one worker polling every
  0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import api as api_bench  # noqa: E402 (bench/api.py, beside this file)

from engine.cli._progress import terminal_progress  # noqa: E402
from engine.metadata import load_definitions  # noqa: E402
from engine.runtime import CrmEngine  # noqa: E402
from engine.transfer import import_csv  # noqa: E402
from engine.users import SYSTEM_USER, SystemActor  # noqa: E402
from engine.webhooks import ALLOW_PRIVATE_ENV  # noqa: E402


class Receiver:
    """A local receiver answering 200, noting when each event arrived."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.received = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stall per answer
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                occurred = json.loads(body).get("occurred_at")
                with receiver.lock:
                    receiver.received += 1
                    if occurred:
                        receiver.latencies.append(now - datetime.fromisoformat(occurred).timestamp())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def worker(url: str, interval: float = 0.2) -> Iterator[list[int]]:
    """``engine.webhooks.work()`` every ``interval`` seconds in a thread; yields the count sent."""
    sent = [0]
    stop = threading.Event()
    crm = CrmEngine(url)

    def loop() -> None:
        while not stop.is_set():
            sent[0] += crm.webhooks.work()
            stop.wait(interval)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sent
    finally:
        stop.set()
        thread.join()
        crm.close()


def subscribe(url: str, receiver: Receiver) -> None:
    with CrmEngine(url) as crm:
        crm.webhooks.create("bench", url=receiver.url, secret="bench-secret", entity="deal", user=SYSTEM_USER)


def api_create(label: str, urls: dict[str, str], args: argparse.Namespace, work: Path, receiver: Receiver) -> None:
    bundle, csv_path = work / "bench_api", work / "deals.csv"
    with receiver.lock:  # what this database's run delivers only
        receiver.latencies.clear()
        receiver.received = 0
    tokens = {}
    for flavour, url in urls.items():
        print(f"{label}: filling {args.rows:,} rows ({flavour})", flush=True)
        tokens[flavour] = api_bench.fill(url, bundle, csv_path)
    subscribe(urls["with"], receiver)
    log = work / f"gunicorn-{label}.log"
    rates: dict[str, list[float]] = {"without": [], "with": []}
    p99: dict[str, list[float]] = {"without": [], "with": []}
    with (
        api_bench.gunicorn(
            "engine.web:serve_app()", urls["without"], 2, log, "/api/v1/records/deal/1", tokens["without"]
        ) as plain,
        api_bench.gunicorn(
            "engine.web:serve_app()", urls["with"], 2, log, "/api/v1/records/deal/1", tokens["with"]
        ) as hooked,
        worker(urls["with"]) as sent,
    ):
        servers = {"without": plain, "with": hooked}

        def run(flavour: str, seconds: float) -> api_bench.Figures:
            return api_bench.wrk(
                servers[flavour].base,
                "create",
                "engine",
                rows=args.rows,
                start=1,
                token=tokens[flavour],
                seconds=seconds,
                connections=args.connections,
            )

        for flavour in rates:
            run(flavour, args.warmup)
        for round_ in range(args.rounds):
            for flavour in list(rates)[:: 1 if round_ % 2 == 0 else -1]:
                figures = run(flavour, args.duration)
                rates[flavour].append(figures.rate)
                p99[flavour].append(figures.p99_ms)
        waited = time.perf_counter()
        with CrmEngine(urls["with"]) as crm:
            while crm.webhooks.work():  # what the worker had not sent yet
                pass
        drain = time.perf_counter() - waited
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    print(
        f"  create without a subscription {without:,.0f} req/s (runs {_runs(rates['without'])}), "
        f"p99 {statistics.median(p99['without']):.1f} ms"
    )
    print(
        f"  create with one and its worker {with_:,.0f} req/s (runs {_runs(rates['with'])}), "
        f"p99 {statistics.median(p99['with']):.1f} ms"
    )
    print(f"  **ratio with/without: {with_ / without:.2f}** (target ≥ 0.8)")
    latencies = sorted(receiver.latencies)
    if latencies:
        p50 = latencies[len(latencies) // 2]
        p99v = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"  delivered {receiver.received:,} events ({sent[0]:,} by the worker during the runs, the rest drained in "
            f"{drain:.1f} s); commit → receipt p50 {p50 * 1000:.0f} ms, p99 {p99v * 1000:.0f} ms"
        )


def imports(label: str, url_of: Any, args: argparse.Namespace, work: Path, receiver: Receiver) -> None:
    bundle, csv_path = work / "bench_api", work / "imports.csv"
    seconds: dict[str, float] = {}
    for flavour in ("without", "with"):
        url = url_of(f"bench_events_import_{flavour}")
        with CrmEngine(url) as crm:
            crm.apply(load_definitions(bundle))
        if flavour == "with":
            subscribe(url, receiver)
        with CrmEngine(url) as crm, worker(url) if flavour == "with" else _nothing():
            started = time.perf_counter()
            report = import_csv(crm, "deal", csv_path, actor=SystemActor("benchmark"), progress=terminal_progress())
            seconds[flavour] = time.perf_counter() - started
        print(f"  import {flavour} a subscription: {report.inserted:,} rows in {seconds[flavour]:.1f} s", flush=True)
    ratio = seconds["without"] / seconds["with"]
    print(f"  **import ratio with/without: {ratio:.2f}** (target ≥ 0.5)")


def _runs(rates: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="rows in each API database (default 20,000)")
    parser.add_argument("--import-rows", type=int, default=200_000, help="rows imported (default 200,000)")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (postgresql+psycopg://...)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of one measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per server (median)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/events.py needs wrk: apt-get install wrk")
    os.environ[ALLOW_PRIVATE_ENV] = "1"  # the receiver is on 127.0.0.1
    work = Path(tempfile.mkdtemp(prefix="crm-bench-events-"))
    receiver = Receiver()
    try:
        api_bench.write_bundle(work)
        api_bench.write_csv(work / "deals.csv", args.rows)
        api_bench.write_csv(work / "imports.csv", args.import_rows)
        if not args.skip_sqlite:
            print("SQLite", flush=True)
            urls = {f: f"sqlite:///{work / f'api-{f}.db'}" for f in ("without", "with")}
            api_create("SQLite", urls, args, work, receiver)
            imports("SQLite", lambda name: f"sqlite:///{work / (name + '.db')}", args, work, receiver)
        if args.postgres:
            print("PostgreSQL", flush=True)
            names = {f: f"bench_events_{f}" for f in ("without", "with", "import_without", "import_with")}
            try:
                urls = {f: api_bench.postgres_schema(args.postgres, names[f]) for f in ("without", "with")}
                api_create("PostgreSQL", urls, args, work, receiver)
                imports("PostgreSQL", lambda name: api_bench.postgres_schema(args.postgres, name), args, work, receiver)
            finally:
                for name in [*names.values()]:
                    api_bench.postgres_schema(args.postgres, name, create=False)
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
