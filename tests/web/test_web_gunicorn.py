"""The production run: ``engine.web:serve_app()``, under gunicorn with two workers.

A schema change applied by another process (``crm schema apply``) is served by every
worker within 2 seconds: the app is rebuilt and swapped, without a restart. So is one
applied through a worker's own API.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import WORKER_HEADER, SwappingApp
from tests.support import REPO_ROOT, SYSTEM, write_bundle
from tests.web.web_support import bundle_files

API = "/api/v1"
WORKERS = 2
#: The spec's deadline: every worker serves an apply within 2 s of it.
DEADLINE = 2.0
ACCOUNT_V1 = {"display": "name", "fields": {"name": {"type": "string", "required": True}}}
ACCOUNT_V2 = {
    "display": "name",
    "fields": {"name": {"type": "string", "required": True}, "city": {"type": "string", "max_length": 80}},
}
TICKET = {
    "display": "subject",
    "fields": {"subject": {"type": "string", "required": True}, "account": {"type": "reference", "target": "account"}},
}

pytestmark = pytest.mark.slow


def auth_headers(engine: CrmEngine) -> dict[str, str]:
    """How the test's client authenticates: an administrator's API token."""
    engine.users.create("ada", roles=["admin"])
    return {"Authorization": f"Bearer {engine.tokens.create('ada', name='gunicorn test')}"}


@dataclass(frozen=True)
class Answer:
    status: int
    worker: str
    body: Any


@dataclass
class Server:
    base: str
    headers: dict[str, str]

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data is not None else {})}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.headers[WORKER_HEADER], json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers[WORKER_HEADER], json.loads(error.read() or b"null"))

    def burst(self, method: str, path: str, bodies: list[Any] | None = None) -> list[Answer]:
        """Eight requests (or one per body), four at a time, so that every worker takes some."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda body: self.call(method, path, body), bodies or [None] * 8))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    yield engine
    engine.close()


@pytest.fixture
def server(crm: CrmEngine, database_url: str, tmp_path: Path) -> Iterator[Server]:
    """gunicorn, two workers, on the database with definitions v1 applied."""
    crm.apply(load_definitions(write_bundle(tmp_path, "v1", {"account": ACCOUNT_V1})))
    headers = auth_headers(crm)
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    env = {**os.environ, "CRM_DATABASE_URL": database_url}
    env.pop("CRM_RELOAD_INTERVAL", None)  # the default interval must meet the deadline
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "engine.web:serve_app()",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    running = Server(f"http://127.0.0.1:{port}{API}", headers)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                running.call("GET", "/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == 0, (tmp_path / "gunicorn.log").read_text()


def _workers(server: Server) -> set[str]:
    """The pids of the workers, once each has answered (they boot one after the other)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < WORKERS:
        assert time.monotonic() < deadline, f"only workers {seen} answered within 60 s"
        answers = server.burst("GET", "/health")
        assert all(a.status == 200 and a.body["definitions_version"] == 1 for a in answers)
        seen |= {a.worker for a in answers}
    return seen


def test_every_worker_serves_an_apply_from_another_process_within_two_seconds(
    server: Server, crm: CrmEngine, database_url: str, tmp_path: Path
) -> None:
    workers = _workers(server)
    assert server.call("GET", "/records/ticket").status == 404

    v2 = write_bundle(tmp_path, "v2", {"account": ACCOUNT_V2, "ticket": TICKET})
    applied = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--database-url", database_url, "schema", "apply", str(v2)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    applied_at = time.monotonic()
    assert applied.returncode == 0, applied.stderr
    assert crm.reload() and crm.version == 2

    serving_v2: set[str] = set()
    while serving_v2 != workers:
        answers = server.burst("GET", "/health")
        now = time.monotonic()
        for answer in answers:
            assert answer.status == 200 and answer.worker in workers, answer  # no worker was restarted
            # once a worker served v2 (in an earlier burst) it never answers with v1 again
            assert answer.body["definitions_version"] == 2 or answer.worker not in serving_v2, answer
        serving_v2 |= {a.worker for a in answers if a.body["definitions_version"] == 2}
        assert serving_v2 == workers or now - applied_at < DEADLINE, (
            f"after {now - applied_at:.2f} s only workers {sorted(serving_v2)} of {sorted(workers)} serve version 2"
        )

    # every worker's OpenAPI document and records API know the new entity and field
    documents = server.burst("GET", "/openapi.json")
    assert {a.worker for a in documents} == workers
    for answer in documents:
        assert "/records/ticket" in answer.body["paths"], answer.worker
        assert "city" in answer.body["components"]["schemas"]["account"]["properties"], answer.worker
    account = server.call("POST", "/records/account", {"name": "中国电信", "city": "上海"})
    assert account.status == 201 and account.body["city"] == "上海"
    created: dict[int, str] = {}
    while {*created.values()} != workers:
        assert len(created) < 64, f"only workers {set(created.values())} took a create"
        tickets = [{"subject": f"Printer {len(created) + i}", "account": account.body["id"]} for i in range(8)]
        for answer in server.burst("POST", "/records/ticket", tickets):
            assert answer.status == 201, answer
            created[answer.body["id"]] = answer.worker
    stored = crm.records.list("ticket", where={"account": account.body["id"]}, limit=100, actor=SYSTEM)
    assert stored.total == len(created) and {r["id"] for r in stored.items} == set(created)


def test_an_apply_through_the_api_swaps_the_app(crm: CrmEngine, tmp_path: Path) -> None:
    crm.apply(load_definitions(write_bundle(tmp_path, "v1", {"account": ACCOUNT_V1})))
    headers = auth_headers(crm)
    serving = SwappingApp({"CRM_RELOAD_INTERVAL": 0}, engine=crm)
    client = Client(serving)
    first = serving.app
    health = client.get(f"{API}/health", headers=headers)
    assert health.json is not None and health.json["definitions_version"] == 1
    assert health.headers[WORKER_HEADER] == str(os.getpid())

    v2 = write_bundle(tmp_path, "v2", {"account": ACCOUNT_V2, "ticket": TICKET})
    applied = client.post(f"{API}/admin/definitions/apply", json={"files": bundle_files(v2)}, headers=headers)
    assert applied.status_code == 200, applied.get_data(as_text=True)
    created = client.post(f"{API}/records/ticket", json={"subject": "Printer"}, headers=headers)
    assert created.status_code == 201
    assert serving.app is not first and serving.version == 2
    document = client.get(f"{API}/openapi.json", headers=headers).json
    assert document is not None and "/records/ticket" in document["paths"]
