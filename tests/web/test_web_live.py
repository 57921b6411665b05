"""Definitions applied by another process are served within 2 s; ``crm serve`` serves over real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import REPO_ROOT, SYSTEM, write_bundle
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


@contextlib.contextmanager
def _crm_serve(database_url: str) -> Iterator[str]:
    """``crm serve`` on a free port, in its own process; yields the API's base URL."""
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
                _call("GET", f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "crm serve did not answer within 30 s"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


@pytest.mark.slow
def test_crm_serve(sales: CrmEngine, database_url: str) -> None:
    sales.users.create("ann", roles=["admin"])
    auth = bearer(sales.tokens.create("ann"))
    with _crm_serve(database_url) as base:
        status, health = _call("GET", f"{base}/health")
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
        assert status == 412 and stale["code"] == "precondition_failed"  # a stale If-Match (#10.19)
        status, page = _call("GET", f"{base}/records/account?sort=-employees&limit=5", None, auth)
        assert status == 200 and page["total"] == 1
        assert sales.records.get("account", account["id"], actor=SYSTEM)["city"] == "上海"  # the same database


def _raw(base: str, request: bytes) -> tuple[int, str, dict[str, Any]]:
    """Send ``request`` as it is; the status, Content-Type and JSON body of the answer."""
    host, port = base.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers["Content-Type"], json.loads(body)


@pytest.mark.slow
def test_crm_serve_refuses_oversized_requests_with_problem_documents(sales: CrmEngine, database_url: str) -> None:
    """#18.14: the development server's own refusals (before the app runs) are problem+json."""
    with _crm_serve(database_url) as base:
        path = f"{API}/records/account?where=" + "x" * 70_000
        status, mimetype, body = _raw(base, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        assert (status, mimetype) == (414, "application/problem+json")
        assert body["status"] == 414 and body["code"] == "uri_too_long" and body["detail"]

        huge = f"GET {API}/health HTTP/1.1\r\nHost: localhost\r\nX-Big: {'y' * 70_000}\r\n\r\n"
        status, mimetype, body = _raw(base, huge.encode())
        assert (status, mimetype, body["code"]) == (431, "application/problem+json", "headers_too_large")

        many = "".join(f"X-H{i}: {i}\r\n" for i in range(150))
        status, mimetype, body = _raw(base, f"GET {API}/health HTTP/1.1\r\nHost: localhost\r\n{many}\r\n".encode())
        assert (status, mimetype, body["code"]) == (431, "application/problem+json", "headers_too_large")

        status, mimetype, body = _raw(base, b"GET /a b HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert (status, mimetype, body["code"]) == (400, "application/problem+json", "bad_request")
