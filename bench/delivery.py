"""Benchmark: webhook delivery across processes, in one run.

    python bench/delivery.py [--postgres URL] [--redis URL] [--rate 200] [--seconds 10]

Two ``crm worker`` processes on PostgreSQL and Redis deliver the ``record.created`` events
of records written at ``--rate`` per second (one change each, through the records service)
to a receiver on 127.0.0.1 in this process. Printed: events/s delivered, and the time from
each change's commit (``occurred_at``) to its receipt, p50 and p99 (the issue's target: p99
under 1 s at 200 events/s). Baseline in the same run: the same number of signed POSTs of
the same size sent straight from one thread with urllib3 (what the receiver and the loopback
take), and the ratio of the workers' rate to it.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.metadata import load_definitions  # noqa: E402
from engine.runtime import CrmEngine  # noqa: E402
from engine.users import SYSTEM_USER, SystemActor  # noqa: E402


class Receiver:
    """Answers 200 at once and notes, per event, how long after its commit it arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                key = self.headers.get("X-CRM-Event-Id", "")
                occurred = _occurred_at(body)
                with receiver.lock:
                    if key and key not in receiver.seen:
                        receiver.seen.add(key)
                        if occurred is not None:
                            receiver.latencies.append(now - occurred)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _occurred_at(body: bytes) -> float | None:
    import json

    try:
        return datetime.fromisoformat(json.loads(body)["occurred_at"]).timestamp()
    except (ValueError, KeyError, TypeError):
        return None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def baseline(url: str, count: int, size: int) -> float:
    """POSTs per second sent straight from one thread (keep-alive, TCP_NODELAY)."""
    pool = urllib3.PoolManager()
    body = b"x" * size
    started = time.perf_counter()
    for n in range(count):
        pool.request("POST", url, body=body, headers={"X-CRM-Event-Id": f"b{n}", "Content-Type": "application/json"})
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rate", type=float, default=200.0, help="records written per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(args.postgres)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    os.environ["CRM_WEBHOOK_ALLOW_PRIVATE"] = "1"
    receiver = Receiver()
    crm = CrmEngine(url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        crm.apply(load_definitions(ROOT / "examples" / "sales"))
        crm.webhooks.create("bench", url=receiver.url, secret="bench", user=SYSTEM_USER, entity="account")
        env = {**os.environ, "CRM_QUEUE_URL": args.redis, "CRM_QUEUE_NAME": schema, "CRM_DISPATCH_INTERVAL": "0.1"}
        command = [sys.executable, "-m", "engine.cli", "--database-url", url, "worker", "--workers", "2"]
        workers = [subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(2)]
        time.sleep(4)  # the workers start
        actor = SystemActor("bench")
        total = int(args.rate * args.seconds)
        started = time.perf_counter()
        for n in range(total):
            due = started + n / args.rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            crm.records.create("account", {"name": f"Bench account {n}"}, actor=actor)
        written = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with receiver.lock:
                if len(receiver.seen) >= total:
                    break
            time.sleep(0.05)
        finished = time.perf_counter() - started
        with receiver.lock:
            latencies = list(receiver.latencies)
            got = len(receiver.seen)
        rate = got / finished
        print(f"written: {total} records in {written:.1f} s ({total / written:.0f}/s, one change each)")
        print(f"delivered: {got}/{total} events by two crm worker processes, {rate:.0f} events/s overall")
        if latencies:
            print(
                f"commit → receipt: p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p99 {_percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
            )
        # capacity: a burst written as fast as one process can, delivered as fast as the workers can
        burst = 2000
        started = time.perf_counter()
        for n in range(burst):
            crm.records.create("account", {"name": f"Burst account {n}"}, actor=actor)
        written = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with receiver.lock:
                if len(receiver.seen) >= total + burst:
                    break
            time.sleep(0.02)
        drained = time.perf_counter() - started
        capacity = burst / drained
        straight = baseline(receiver.url, burst, 600)
        print(
            f"burst: {burst} records written in {written:.1f} s, all delivered {drained:.1f} s after the "
            f"first write: {capacity:.0f} events/s"
        )
        print(
            f"baseline: {straight:.0f} POSTs/s straight from one thread; workers / baseline {capacity / straight:.2f}×"
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        crm.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
