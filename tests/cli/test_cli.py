"""The ``crm`` command line as an admin uses it (in-process, same entry point as the script)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import CliResult, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "label": {"en": "Account", "zh": "客户"},
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True, "label": {"en": "Name", "zh": "名称"}},
            "industry": {"type": "enum", "choices": ["telecom", "banking"]},
            "revenue": {"type": "money"},
        },
    },
    "opportunity": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "required": True},
        }
    },
}

Run = Callable[..., CliResult]


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def applied(db: str, run_cli: Run, tmp_path: Path) -> Path:
    bundle = write_bundle(tmp_path, "sales", ENTITIES)
    result = run_cli("schema", "apply", bundle)
    assert result.exit_code == 0, result.stderr
    for name in ("alice", "bob"):
        assert run_cli("user", "create", name, "--role", "rep").exit_code == 0
    return bundle


def test_validate_valid_bundle(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("schema", "validate", write_bundle(tmp_path, "sales", ENTITIES))
    assert result.exit_code == 0
    assert "valid" in result.stdout


def test_validate_reports_file_pointer_and_code_per_line(run_cli: Run, tmp_path: Path) -> None:
    broken = {
        **ENTITIES,
        "lead": {"fields": {"score": {"type": "integr"}}},
        "task": {"fields": {"owner": {"type": "string"}}},
    }
    bundle = write_bundle(tmp_path, "sales", broken)
    result = run_cli("schema", "validate", bundle)
    assert result.exit_code == 2
    lines = result.stdout.strip().splitlines()
    assert any("lead.json:/fields/score/type: [" in line for line in lines), lines
    assert any("task.json:/fields/owner: [reserved_name]" in line for line in lines), lines
    as_json = run_cli("schema", "validate", bundle, "--json")
    assert as_json.exit_code == 2
    problems = as_json.json()
    assert {(Path(p["file"]).name, p["pointer"]) for p in problems} >= {
        ("lead.json", "/fields/score/type"),
        ("task.json", "/fields/owner"),
    }


@pytest.mark.parametrize("content", ["", "{", "[1, 2]", "null", '{"schema_version": "one"}', "\x00\xff"])
def test_validate_never_tracebacks(run_cli: Run, tmp_path: Path, content: str) -> None:
    path = tmp_path / "entity.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape") if content != "\x00\xff" else b"\x00\xff")
    result = run_cli("schema", "validate", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip(), "each problem is printed"


def test_apply_then_diff_shows_no_changes(applied: Path, run_cli: Run) -> None:
    result = run_cli("schema", "diff", applied)
    assert result.exit_code == 0
    assert "no changes" in result.stdout


def test_destructive_apply_exits_non_zero_and_keeps_data(applied: Path, run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("record", "create", "account", "--data", '{"name": "Acme", "revenue": "10.5"}').exit_code == 0
    smaller = {**ENTITIES, "account": {**ENTITIES["account"], "fields": {"name": {"type": "string", "required": True}}}}
    bundle = write_bundle(tmp_path / "v2", "sales", smaller)
    diff = run_cli("schema", "diff", bundle, "--json")
    steps = diff.json()["steps"]
    assert {(s["kind"], s.get("field"), s.get("rows", 0)) for s in steps} >= {("drop_field", "revenue", 1)}
    refused = run_cli("schema", "apply", bundle)
    assert refused.exit_code == 6
    assert "allow-data-loss" in refused.stderr
    assert run_cli("record", "get", "account", "1", "--json").json()["revenue"] == "10.50"
    assert run_cli("schema", "apply", bundle, "--allow-data-loss").exit_code == 0
    assert "revenue" not in run_cli("record", "get", "account", "1", "--json").json()


def test_record_lifecycle_with_json_output(applied: Path, run_cli: Run) -> None:
    created = run_cli(
        "--as", "alice", "record", "create", "account", "--data", '{"name": "Acme", "industry": "telecom"}', "--json"
    )
    assert created.exit_code == 0, created.stderr
    record = created.json()
    assert record["id"] == 1 and record["name"] == "Acme" and record["owner"] == "alice" and record["version"] == 1
    updated = run_cli(
        "record", "update", "account", "1", "--data", '{"industry": "banking"}', "--version", "1", "--json"
    )
    assert updated.json()["industry"] == "banking" and updated.json()["version"] == 2
    stale = run_cli("record", "update", "account", "1", "--data", '{"industry": "telecom"}', "--version", "1")
    assert stale.exit_code == 5 and "version" in stale.stderr
    listed = run_cli("record", "list", "account", "--where", '{"industry": "banking"}', "--json").json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "Acme"
    text = run_cli("record", "list", "account")
    assert "Acme" in text.stdout and "(1-1 of 1)" in text.stdout
    assert run_cli("record", "delete", "account", "1").exit_code == 0
    missing = run_cli("record", "get", "account", "1")
    assert missing.exit_code == 4 and "does not exist" in missing.stderr


def test_record_error_names_the_field_and_exits_non_zero(applied: Path, run_cli: Run) -> None:
    result = run_cli("record", "create", "account", "--data", '{"industry": "farming"}')
    assert result.exit_code == 3
    assert "name: [required]" in result.stderr and "industry: [choice]" in result.stderr
    as_json = run_cli("record", "create", "account", "--data", '{"industry": "farming"}', "--json")
    fields = {p["field"] for p in json.loads(as_json.stderr)["error"]["problems"]}
    assert fields == {"name", "industry"}


@pytest.mark.parametrize(
    "args",
    [
        ("record", "create", "account", "--data", "{not json"),
        ("record", "create", "acount", "--data", "{}"),
        ("record", "create", "account", "--data", "[1]"),
        ("record", "list", "account", "--where", '{"nme": 1}'),
        ("record", "get", "account", "abc"),
        ("record", "list", "account", "--limit", "-1"),
    ],
)
def test_bad_input_is_a_clean_error(applied: Path, run_cli: Run, args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.exit_code not in (0, 70)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.strip()


def test_commands_before_any_definitions_say_what_to_do(db: str, run_cli: Run) -> None:
    result = run_cli("record", "list", "account")
    assert result.exit_code == 2
    assert "crm schema apply" in result.stderr


def test_audit_command(applied: Path, run_cli: Run) -> None:
    run_cli("--as", "alice", "record", "create", "account", "--data", '{"name": "Acme"}')
    run_cli("--as", "bob", "record", "update", "account", "1", "--data", '{"name": "Acme Ltd"}')
    entries = run_cli("audit", "account", "1", "--json").json()
    assert entries[0]["actor"] == "bob" and entries[0]["old_value"] == "Acme" and entries[0]["new_value"] == "Acme Ltd"


def test_unreachable_database_is_a_clean_error(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("--database-url", "postgresql://nobody@127.0.0.1:1/none", "record", "list", "x")
    assert result.exit_code == 1
    assert "cannot use the database" in result.stderr
