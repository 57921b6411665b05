"""A client generated from the live OpenAPI document works against a real server.

openapi-python-client turns ``/api/v1/openapi.json`` into a typed Python package, without a
warning about the document; that package then creates, lists, reads, changes and moves a
record through its workflow over real HTTP, and gets a refused value back as the documented
problem model, not as a parse error.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from engine.runtime import CrmEngine
from tests.web.web_support import API

pytestmark = pytest.mark.slow

PACKAGE = "crm_engine_api_client"
#: The generator takes JSON, form and octet-stream bodies; the bundle and CSV uploads are
#: files of another content type, sent as they are (docs/api.md, "Generating a client").
CONFIG = """\
content_type_overrides:
  application/zip: application/octet-stream
  text/csv: application/octet-stream
"""


def generate_client(spec: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    """Run the generator on ``spec``; the package lands in ``directory/crm-engine-api-client``."""
    (directory / "openapi.json").write_text(json.dumps(spec), encoding="utf-8")
    (directory / "client.yaml").write_text(CONFIG, encoding="utf-8")
    # the generator formats its output with the ruff next to this interpreter
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "client.yaml",
            "--output-path",
            "crm-engine-api-client",
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def generated(sales: CrmEngine, client: FlaskClient, tmp_path: Path) -> Iterator[str]:
    """The generated package, importable as ``crm_engine_api_client``; the generator's output."""
    spec = client.get(f"{API}/openapi.json").get_json()
    result = generate_client(spec, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sys.path.insert(0, str(tmp_path / "crm-engine-api-client"))
    try:
        yield output
    finally:
        sys.path.remove(str(tmp_path / "crm-engine-api-client"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    """The app served over real HTTP by werkzeug, on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{API}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generator_takes_the_document_without_a_warning(generated: str) -> None:
    assert "warning" not in generated.lower()
    assert "Skipping" not in generated  # its post-generation formatting ran too
    models = module("models")
    # classes are named after the entities, not their labels
    assert {"Opportunity", "OpportunityCreate", "OpportunityUpdate", "OpportunityPage", "Problem"} <= set(dir(models))


def test_a_generated_client_drives_a_record_through_the_api(generated: str, sales: CrmEngine, base_url: str) -> None:
    sales.users.create("ann", roles=["manager"])
    api = importlib.import_module(PACKAGE)
    models = module("models")
    opportunity = {
        name: module(f"api.opportunity.opportunity_{name}")
        for name in ("create", "list", "get", "update", "run_transition", "history")
    }
    create_account = module("api.account.account_create")
    with api.AuthenticatedClient(base_url=base_url, token=sales.tokens.create("ann"), timeout=30) as http:
        account = create_account.sync(client=http, body=models.AccountCreate(name="Acme"))
        assert isinstance(account, models.Account) and account.name == "Acme"

        created = opportunity["create"].sync(
            client=http,
            body=models.OpportunityCreate(
                title="Fleet renewal", account=account.id, amount="1200.50", close_date=date(2026, 12, 31)
            ),
        )
        assert isinstance(created, models.Opportunity)
        assert (created.amount, created.close_date, created.version) == ("1200.50", date(2026, 12, 31), 1)
        assert created.stage == models.OpportunityStage.QUALIFICATION and created.owner == "ann"
        opportunity["create"].sync(
            client=http, body=models.OpportunityCreate(title="Pilot", account=account.id, amount=90)
        )

        page = opportunity["list"].sync(client=http, where=json.dumps({"amount": {"gte": 1000}}), sort="-amount")
        assert isinstance(page, models.OpportunityPage)
        assert (page.total, [o.title for o in page.items]) == (1, ["Fleet renewal"])

        read = opportunity["get"].sync_detailed(created.id, client=http)
        assert read.status_code == 200 and read.headers["ETag"] == 'W/"1"'
        assert read.parsed.title == "Fleet renewal"

        changed = opportunity["update"].sync(
            created.id, client=http, body=models.OpportunityUpdate(title="Fleet renewal 2027", version=1)
        )
        assert isinstance(changed, models.Opportunity) and (changed.title, changed.version) == ("Fleet renewal 2027", 2)
        stale = opportunity["update"].sync_detailed(
            created.id, client=http, body=models.OpportunityUpdate(title="Lost update", version=1)
        )
        assert stale.status_code == 409 and isinstance(stale.parsed, models.Problem)
        assert [e.code for e in stale.parsed.errors] == ["stale_version"]

        moved = opportunity["run_transition"].sync(
            created.id,
            models.OpportunityRunTransitionTransition.PROPOSE,
            client=http,
            body=models.TransitionRun(comment="sent the proposal"),
            if_match='W/"2"',
        )
        assert isinstance(moved, models.Opportunity)
        assert (moved.stage, moved.version) == (models.OpportunityStage.PROPOSAL, 3)

        history = opportunity["history"].sync(created.id, client=http)
        assert [(h.from_state, h.to_state, h.transition, h.actor, h.comment) for h in history.items] == [
            (None, "qualification", None, "ann", None),
            ("qualification", "proposal", "propose", "ann", "sent the proposal"),
        ]


def test_a_refused_value_comes_back_as_the_problem_model(generated: str, sales: CrmEngine, base_url: str) -> None:
    sales.users.create("ann", roles=["manager"])
    api = importlib.import_module(PACKAGE)
    models = module("models")
    create = module("api.opportunity.opportunity_create")
    with api.AuthenticatedClient(base_url=base_url, token=sales.tokens.create("ann"), timeout=30) as http:
        refused = create.sync_detailed(
            client=http, body=models.OpportunityCreate(title="Negative", account=1, amount="-5")
        )
    assert refused.status_code == 422 and isinstance(refused.parsed, models.Problem)
    assert (refused.parsed.code, refused.parsed.status) == ("invalid_record", 422)
    assert {(e.code, e.field) for e in refused.parsed.errors} >= {("minimum", "amount")}
