"""Explanations and refusals never reveal fields hidden from the user (SQLite and PostgreSQL):
score factors computed from a hidden field are left out and counted, and transition refusals
name neither a hidden field nor a guard that reads one, in the services, the API, the CLI and
the admin UI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.support import CliResult, acting_for, write_bundle

LEAD = {
    "fields": {
        "title": {"type": "string", "required": True},
        "budget": {"type": "money"},
        "amount": {"type": "money"},
        "employees": {"type": "integer"},
        "stage": {"type": "enum", "choices": ["new", "proposal", "big", "won"]},
    }
}
SCORING = {
    "schema_version": 1,
    "kind": "scoring",
    "name": "lead_quality",
    "entity": "lead",
    "scorer": "weighted_rules",
    "config": {
        "rules": [
            {
                "name": "big_budget",
                "when": {">=": [{"var": "record.budget"}, 100000]},
                "points": 15,
                "reason": {"en": "Budget of 100,000 or more", "zh": "预算十万以上"},
            },
            {
                "name": "enterprise",
                "when": {">=": [{"var": "record.employees"}, 500]},
                "points": 30,
                "reason": {"en": "500 employees or more", "zh": "员工五百人以上"},
            },
        ]
    },
}
PIPELINE = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "lead_pipeline",
    "entity": "lead",
    "field": "stage",
    "states": {"new": {"initial": True}, "proposal": {"required": ["amount"]}, "big": {}, "won": {"final": True}},
    "transitions": {
        "propose": {"from": ["new"], "to": "proposal", "when": {">=": [{"var": "record.budget"}, 1000000]}},
        "go_big": {"from": ["new"], "to": "big", "when": {">=": [{"var": "record.employees"}, 10000]}},
        "win": {"from": ["proposal", "big"], "to": "won"},
    },
}
REP = {
    "schema_version": 1,
    "kind": "role",
    "name": "rep",
    "permissions": {
        "*": {"create": True, "read": "own", "update": "own", "delete": "none"},
        "lead": {"fields": {"budget": "hidden", "amount": "hidden"}},
    },
}
PASSWORD = "open sesame"
SECRETS = ("budget", "Budget", "amount", "100,000", "1000000", "预算")


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> tuple[CrmEngine, int]:
    extra = {"scoring.json": SCORING, "pipeline.json": PIPELINE, "rep.json": REP}
    engine.apply(load_definitions(write_bundle(tmp_path, "guarded", {"lead": LEAD}, extra=extra)))
    engine.users.create("boss", roles=["admin"])
    engine.users.create("ann", roles=["rep"])
    engine.users.set_password("ann", PASSWORD)
    lead = engine.records.create(
        "lead", {"title": "Acme", "budget": "250000", "employees": 800, "owner": "ann"}, actor=acting_for("boss")
    )
    engine.scoring.run()
    return engine, int(lead["id"])


def _revealed(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_score_factors_from_hidden_fields_are_left_out(crm: tuple[CrmEngine, int]) -> None:
    engine, lead = crm
    (mine,) = engine.scoring.show("lead", lead, actor=engine.users.get("ann"))
    shown = mine.to_json()
    assert [f["name"] for f in shown["factors"]] == ["enterprise"]
    assert shown["hidden_factors"] == 1 and shown["depends_on_hidden_data"] is True
    assert shown["extra"] == {}  # the points total would tell the hidden part
    assert not _revealed(json.dumps(shown, ensure_ascii=False))
    (full,) = engine.scoring.show("lead", lead, actor=engine.users.get("boss"))
    assert {f["name"] for f in full.factors} == {"big_budget", "enterprise"}
    assert full.hidden_factors == 0 and full.factors[0]["fields"] in (["budget"], ["employees"])


def test_factors_stored_without_their_fields_are_withheld(crm: tuple[CrmEngine, int]) -> None:
    """Factors stored before scorers said which fields they read (or by a plugin that does not)."""
    from engine.storage import scores

    engine, lead = crm
    (full,) = engine.scoring.show("lead", lead, actor=engine.users.get("boss"))
    old = [{k: v for k, v in f.items() if k != "fields"} for f in full.factors]
    with engine.db.write() as conn:
        conn.execute(scores.update().where(scores.c.record_id == lead).values(factors=old))
    (mine,) = engine.scoring.show("lead", lead, actor=engine.users.get("ann"))
    assert mine.factors == [] and mine.hidden_factors == 2
    (full,) = engine.scoring.show("lead", lead, actor=engine.users.get("boss"))
    assert len(full.factors) == 2


def test_transition_refusals_name_no_hidden_field(crm: tuple[CrmEngine, int]) -> None:
    engine, lead = crm
    checks = {c.name: c for c in engine.workflows.check("lead", lead, engine.users.get("ann"))}
    propose = checks["propose"].to_json()
    codes = [r["code"] for r in propose["reasons"]]
    assert codes == ["guard", "required_field"]
    assert not _revealed(json.dumps(propose, ensure_ascii=False))
    assert "fields you may not see" in propose["reasons"][0]["message"]
    assert propose["reasons"][1].get("fields", []) == []
    # a guard over visible fields is still shown as written
    (guard,) = checks["go_big"].to_json()["reasons"]
    assert "record.employees" in guard["message"]
    # an administrator sees everything
    boss = {c.name: c for c in engine.workflows.check("lead", lead, engine.users.get("boss"))}
    said = json.dumps(boss["propose"].to_json())
    assert "record.budget" in said and "amount" in said


def test_the_api_reveals_no_hidden_field(crm: tuple[CrmEngine, int]) -> None:
    engine, lead = crm
    client = create_app({"CRM_ENGINE": engine, "TESTING": True}).test_client()
    headers = {"Authorization": f"Bearer {engine.tokens.create('ann')}"}
    scores = client.get(f"/api/v1/records/lead/{lead}/scores", headers=headers)
    assert scores.status_code == 200
    assert not _revealed(scores.get_data(as_text=True))
    assert scores.get_json()["items"][0]["hidden_factors"] == 1
    for url in (f"/api/v1/records/lead/{lead}/transitions", f"/api/v1/records/lead/{lead}/scores?lang=zh"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and not _revealed(response.get_data(as_text=True)), url
    refused = client.post(f"/api/v1/records/lead/{lead}/transitions/propose", headers=headers, json={})
    assert refused.status_code == 409
    assert not _revealed(refused.get_data(as_text=True))


def test_the_cli_reveals_no_hidden_field(crm: tuple[CrmEngine, int], run_cli: Callable[..., CliResult]) -> None:
    engine, lead = crm
    url = engine.db.url
    shown = run_cli("--database-url", url, "--as", "ann", "score", "show", "lead", str(lead))
    assert shown.exit_code == 0 and "500 employees" in shown.stdout
    assert not _revealed(shown.stdout) and "1 factor(s) from fields you may not see" in shown.stdout
    as_json = run_cli("--database-url", url, "--as", "ann", "score", "show", "lead", str(lead), "--json")
    assert not _revealed(as_json.stdout)
    refused = run_cli("--database-url", url, "--as", "ann", "transition", "lead", str(lead), "propose")
    assert refused.exit_code == 8 and not _revealed(refused.stdout + refused.stderr)
    check = run_cli("--database-url", url, "--as", "ann", "workflow", "check", "lead", str(lead), "--all")
    assert not _revealed(check.stdout + check.stderr)


def test_workflow_definitions_shown_to_a_user_name_no_hidden_field(
    crm: tuple[CrmEngine, int], run_cli: Callable[..., CliResult]
) -> None:
    engine, _lead = crm
    url = engine.db.url
    for as_json in ((), ("--json",)):
        shown = run_cli("--database-url", url, "--as", "ann", "workflow", "show", "lead", *as_json)
        assert shown.exit_code == 0 and not _revealed(shown.stdout), shown.stdout
    text = run_cli("--database-url", url, "--as", "ann", "workflow", "show", "lead").stdout
    assert "requires fields you may not see" in text and "propose: new → proposal  guarded" in text
    (mine,) = run_cli("--database-url", url, "--as", "ann", "workflow", "show", "lead", "--json").json()
    assert mine["states"]["proposal"]["requires_hidden_fields"] is True
    assert mine["transitions"]["propose"]["when"] is None and mine["transitions"]["propose"]["when_hidden"] is True
    assert mine["transitions"]["go_big"]["when"] == {">=": [{"var": "record.employees"}, 10000]}
    (full,) = run_cli("--database-url", url, "workflow", "show", "lead", "--json").json()  # the administrator
    assert full["states"]["proposal"]["required"] == ["amount"]
    assert full["transitions"]["propose"]["when"] == {">=": [{"var": "record.budget"}, 1000000]}

    client = create_app({"CRM_ENGINE": engine, "TESTING": True}).test_client()
    listed = client.get("/api/v1/workflows", headers={"Authorization": f"Bearer {engine.tokens.create('ann')}"})
    assert listed.status_code == 200 and not _revealed(listed.get_data(as_text=True))
    (pipeline,) = listed.get_json()["items"]
    proposal = next(s for s in pipeline["states"] if s["name"] == "proposal")
    assert proposal["required"] == [] and proposal["requires_hidden_fields"] is True
    boss = client.get("/api/v1/workflows", headers={"Authorization": f"Bearer {engine.tokens.create('boss')}"})
    (pipeline,) = boss.get_json()["items"]
    assert next(s for s in pipeline["states"] if s["name"] == "proposal")["required"] == ["amount"]


def test_the_admin_record_page_reveals_no_hidden_field(crm: tuple[CrmEngine, int]) -> None:
    engine, lead = crm
    client: FlaskClient = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "t"}).test_client()
    page = client.get("/admin/login/").get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found
    data: dict[str, Any] = {"csrf_token": found.group(1), "name": "ann", "password": PASSWORD}
    assert client.post("/admin/login/", data=data).status_code == 302
    record = client.get(f"/admin/records/lead/details/?id={lead}")
    assert record.status_code == 200
    text = record.get_data(as_text=True)
    assert "500 employees or more" in text and "1 factor(s) from fields you may not see" in text
    assert not _revealed(text)
