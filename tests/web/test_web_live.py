"""Definitions applied by another process are served within 2 s; ``crm serve`` serves over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import REPO_ROOT, write_bundle
from tests.web.web_support import API, SALES, bearer


def test_an_apply_elsewhere_is_served_within_two_seconds(
    sales: CrmEngine, client: FlaskClient, database_url: str, tmp_path: Path
) -> None:
    assert client.get(f"{API}/records/ticket").status_code == 404
    other = CrmEngine(database_url)  # another process: a CLI, another web worker
    try:
        ticket = {"fields": {"subject": {"type": "string", "required": True}}}
        bundle = write_bundle(tmp_path, "more", {"ticket": ticket}, extends=[os.path.relpath(SALES, tmp_path / "more")])
        other.apply(load_definitions(bundle))
        applied_at = time.monotonic()
        while client.get(f"{API}/records/ticket").status_code != 200:
            assert time.monotonic() - applied_at < 2.0, "the app still serves the old definitions after 2 s"
            time.sleep(0.05)
    finally:
        other.close()
    assert client.post(f"{API}/records/ticket", json={"subject": "Printer"}).status_code == 201
    spec = client.get(f"{API}/openapi.json").get_json()
    assert "ticket" in spec["components"]["schemas"] and "/records/ticket" in spec["paths"]
    assert "ticket" in client.get(f"{API}/docs").get_data(as_text=True)
    assert client.get(f"{API}/health").get_json()["definitions_version"] == 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"] == "application/problem+json"
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_crm_serve(sales: CrmEngine, database_url: str) -> None:
    sales.users.create("ann", roles=["admin"])
    auth = bearer(sales.tokens.create("ann"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}{API}"
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--database-url", database_url, "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, health = _call("GET", f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "crm serve did not answer within 30 s"
                time.sleep(0.1)
        assert status == 200 and health["definitions_version"] == 1

        status, missing = _call("GET", f"{base}/records/account")
        assert status == 401 and missing["code"] == "unauthorized"
        status, account = _call("POST", f"{base}/records/account", {"name": "中国电信", "employees": 12000}, auth)
        assert status == 201 and account["version"] == 1
        status, changed = _call(
            "PATCH", f"{base}/records/account/{account['id']}", {"city": "上海"}, {**auth, "If-Match": 'W/"1"'}
        )
        assert status == 200 and changed["city"] == "上海"
        status, stale = _call(
            "PATCH", f"{base}/records/account/{account['id']}", {"city": "北京"}, {**auth, "If-Match": 'W/"1"'}
        )
        assert status == 409 and stale["code"] == "conflict"
        status, page = _call("GET", f"{base}/records/account?sort=-employees&limit=5", None, auth)
        assert status == 200 and page["total"] == 1
        assert sales.records.get("account", account["id"])["city"] == "上海"  # the same database
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()
