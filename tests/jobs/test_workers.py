"""Real worker processes: two ``crm worker`` on Redis and PostgreSQL share the jobs and run
each periodic slot once; ``crm serve`` runs jobs and the tick in-process unless
``--no-worker``; ``crm worker --once`` does what is due and exits."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import periodic_slots
from engine.users import SYSTEM_USER
from tests.support import REPO_ROOT, postgres_schema_url, redis_queue

SALES = REPO_ROOT / "examples" / "sales"
API = "/api/v1"
_RAN = re.compile(r"periodic automation_tick: ran slot (\S+)")
_TAKEN = re.compile(r"periodic automation_tick: slot (\S+) was taken by another worker")


def _crm(database_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", "--database-url", database_url, *args]


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.2)


def _clear_of_a_minute_boundary() -> None:
    """Start well inside a minute, so that both workers' first periodic pass meets one slot."""
    second = datetime.now(UTC).second
    if second > 40:
        time.sleep(61 - second)


def _periodic_rows(crm: CrmEngine) -> list[dict[str, Any]]:
    with crm.db.read() as conn:
        query = sa.select(periodic_slots).where(periodic_slots.c.name == "automation_tick")
        return [dict(r) for r in conn.execute(query).mappings()]


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_on_redis_and_postgres_share_jobs_and_run_each_slot_once(tmp_path: Path) -> None:
    for database_url in postgres_schema_url():
        for _redis in redis_queue():
            crm = CrmEngine(database_url)
            try:
                crm.apply(load_definitions(SALES))
                _run_two_workers(crm, database_url, tmp_path)
            finally:
                crm.close()


def _run_two_workers(crm: CrmEngine, database_url: str, tmp_path: Path) -> None:
    _clear_of_a_minute_boundary()
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = []
    try:
        for log in logs:
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(
                        _crm(database_url, "worker", "--workers", "2"),
                        cwd=tmp_path,
                        env=dict(os.environ),
                        stdout=subprocess.DEVNULL,
                        stderr=out,
                    )
                )
        ids = [
            crm.jobs.submit("import", {"entity": "account", "csv": f"name\nAccount {n}\n"}, user=SYSTEM_USER)
            for n in range(8)
        ]

        def all_done() -> bool:
            return all(crm.jobs.get(i, user=SYSTEM_USER).status == "done" for i in ids)

        _wait(all_done, 60, "every job done")

        def both_passes_seen() -> bool:
            text = "".join(log.read_text() for log in logs)
            return len(_RAN.findall(text)) + len(_TAKEN.findall(text)) >= 2

        _wait(both_passes_seen, 30, "both workers' first periodic pass")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)  # Huey's graceful stop
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    texts = [log.read_text() for log in logs]
    ran = [slot for text in texts for slot in _RAN.findall(text)]
    taken = [slot for text in texts for slot in _TAKEN.findall(text)]
    assert len(ran) == len(set(ran)), f"a slot ran twice: {ran}"
    assert set(taken) <= set(ran) and taken, (ran, taken)  # the other pass met the slot taken
    rows = _periodic_rows(crm)
    assert sorted(r["slot"].isoformat() for r in rows) == sorted(ran)
    pids = {f":{w.pid}" for w in workers}
    assert all(r["worker"][r["worker"].rindex(":") :] in pids for r in rows)
    jobs = [crm.jobs.get(i, user=SYSTEM_USER) for i in ids]
    assert all(j.worker is not None and j.worker[j.worker.rindex(":") :] in pids for j in jobs)
    table = crm.model.table("account")
    with crm.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 8  # each job once


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(method: str, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def _crm_serve(database_url: str, *options: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}{API}"
    server = subprocess.Popen(
        _crm(database_url, "serve", "--port", str(port), *options),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, "crm serve stopped"
                assert time.monotonic() < deadline, "crm serve did not answer within 30 s"
                time.sleep(0.1)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[CrmEngine, str]]:
    crm = CrmEngine(database_url)
    crm.apply(load_definitions(SALES))
    crm.users.create("ann", roles=["admin"])
    yield crm, crm.tokens.create("ann")
    crm.close()


@pytest.mark.slow
def test_crm_serve_runs_jobs_and_the_tick_in_process(served: tuple[CrmEngine, str], database_url: str) -> None:
    crm, token = served
    with _crm_serve(database_url) as (base, server):
        status, job = _call(
            "POST", f"{base}/jobs", token, {"kind": "import", "params": {"entity": "account", "csv": "name\nAcme\n"}}
        )
        assert status == 202 and job["status"] == "queued"

        def finished() -> bool:
            return _call("GET", f"{base}/jobs/{job['id']}", token)[1]["status"] == "done"

        _wait(finished, 30, "the job run by crm serve's own worker")
        _wait(lambda: any(r["worker"].endswith(f":{server.pid}") for r in _periodic_rows(crm)), 30, "a tick")


@pytest.mark.slow
def test_crm_serve_no_worker_runs_nothing_and_worker_once_does(
    served: tuple[CrmEngine, str], database_url: str, tmp_path: Path
) -> None:
    crm, token = served
    with _crm_serve(database_url, "--no-worker") as (base, server):
        status, job = _call("POST", f"{base}/jobs", token, {"kind": "score_run", "params": {}})
        assert status == 202
        time.sleep(3)
        assert _call("GET", f"{base}/jobs/{job['id']}", token)[1]["status"] == "queued"
        assert not any(r["worker"].endswith(f":{server.pid}") for r in _periodic_rows(crm))
    once = subprocess.run(
        _crm(database_url, "worker", "--once", "--json"), cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert once.returncode == 0, once.stderr
    report = json.loads(once.stdout)
    assert [(j["id"], j["status"]) for j in report["jobs"]] == [(job["id"], "done")]
    assert "automation_tick" in report["periodic"]["ran"]
    assert crm.jobs.get(job["id"], user=SYSTEM_USER).status == "done"
