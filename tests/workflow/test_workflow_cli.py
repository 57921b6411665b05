"""The order approval chain and a lead pipeline from the command line, as a new admin runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import CliResult

BUNDLE = Path(__file__).parent / "data" / "sales_flow"
Run = Callable[..., CliResult]


@pytest.fixture
def cli(database_url: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", BUNDLE).exit_code == 0
    for args in (
        ("rita", "--role", "rep", "--team", "east"),
        ("sam", "--role", "secretary"),
        ("fiona", "--role", "finance"),
        ("fred", "--role", "fulfilment"),
    ):
        result = run_cli("user", "create", *args)
        assert result.exit_code == 0, result.stderr
    return run_cli


def test_order_approval_from_the_cli(cli: Run) -> None:
    assert cli("--as", "rita", "record", "create", "customer", "--data", '{"name": "Acme"}').exit_code == 0
    created = cli(
        "--as",
        "rita",
        "record",
        "create",
        "order",
        "--data",
        '{"number": "SO-1", "customer": 1, "amount": "5000"}',
        "--json",
    )
    assert created.json()["status"] == "draft"
    shown = cli("workflow", "show", "order")
    assert "submit: draft, rejected → submitted" in shown.stdout
    submitted = cli("--as", "rita", "transition", "order", "1", "submit")
    assert submitted.exit_code == 0 and "→ submitted" in submitted.stdout
    refused = cli("--as", "rita", "transition", "order", "1", "review")
    assert refused.exit_code == 8
    assert "[role]" in refused.stderr and "[separation_of_duties]" in refused.stderr
    check = cli("--as", "sam", "workflow", "check", "order", "1", "--json").json()
    assert {c["transition"]: c["available"] for c in check} == {"review": True, "reject": True, "escalate": False}
    assert cli("--as", "sam", "transition", "order", "1", "review", "--comment", "ok by the rules").exit_code == 0
    assert cli("--as", "fiona", "transition", "order", "1", "approve").exit_code == 0
    history = cli("history", "order", "1", "--json").json()
    assert [(h["transition"], h["to_state"], h["actor"]) for h in history] == [
        (None, "draft", "rita"),
        ("submit", "submitted", "rita"),
        ("review", "reviewed", "sam"),
        ("approve", "approved", "fiona"),
    ]
    assert history[2]["comment"] == "ok by the rules"
    direct = cli("record", "update", "order", "1", "--data", '{"status": "draft"}')
    assert direct.exit_code == 3 and "status: [workflow_field]" in direct.stderr


def test_lost_reason_is_required_from_the_cli(cli: Run) -> None:
    cli("record", "create", "lead", "--data", '{"company": "Globex", "budget": "10"}')
    missing = cli("transition", "lead", "1", "lose")
    assert missing.exit_code == 8 and "[input_required]" in missing.stderr
    bad = cli("transition", "lead", "1", "lose", "--input", "reason=weather")
    assert bad.exit_code == 8 and "reason" in bad.stderr
    unknown = cli("transition", "lead", "1", "lose", "--input", "why=price")
    assert unknown.exit_code == 8 and "why" in unknown.stderr
    lost = cli("transition", "lead", "1", "lose", "--input", "reason=competitor", "--json")
    assert lost.exit_code == 0 and lost.json()["lost_reason"] == "competitor"


def test_unknown_user_and_transition_are_clean_errors(cli: Run) -> None:
    cli("record", "create", "lead", "--data", '{"company": "Globex"}')
    nobody = cli("--as", "nobody", "transition", "lead", "1", "qualify")
    assert nobody.exit_code == 4 and "crm user create nobody" in nobody.stderr
    typo = cli("transition", "lead", "1", "qualfy")
    assert typo.exit_code == 2 and "qualify" in typo.stderr
    duplicate = cli("user", "create", "rita", "--role", "rep")
    assert duplicate.exit_code == 5


def test_tick_from_the_cli_is_idempotent(cli: Run) -> None:
    result = cli("workflow", "tick", "--json")
    assert result.exit_code == 0 and result.json() == []
