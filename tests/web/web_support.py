"""Helpers of the web tests: bundles as uploads, problem bodies, credentials."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from werkzeug.test import TestResponse

from tests.support import REPO_ROOT

SALES = REPO_ROOT / "examples" / "sales"
FLOW = REPO_ROOT / "tests" / "workflow" / "data" / "sales_flow"
API = "/api/v1"


def bundle_files(directory: Path, *, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The documents of a bundle directory as the JSON upload's ``files``; ``changes``
    replaces or adds documents by file name."""
    files: dict[str, Any] = {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))
    }
    files.update(changes or {})
    return files


def zip_bytes(entries: dict[str, bytes | str], *, symlinks: tuple[str, ...] = ()) -> bytes:
    """A zip holding ``entries`` (path → content); ``symlinks`` are stored as links."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def zip_of(files: dict[str, Any], folder: str = "") -> bytes:
    return zip_bytes({f"{folder}{name}": json.dumps(doc, ensure_ascii=False) for name, doc in files.items()})


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The problem document of an error response, checked for its shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    assert body["status"] == status
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in body["errors"]]


#: The administrator the ``client`` fixture authenticates as.
ADMIN = "root"


def bearer(token: str) -> dict[str, str]:
    """The headers that authenticate with API token ``token``."""
    return {"Authorization": f"Bearer {token}"}
