"""``crm schema diff`` names the values a type change would change or empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import CliResult, write_bundle

Run = Callable[..., CliResult]


def _bundle(root: Path, code: dict[str, Any]) -> Path:
    return write_bundle(root, "sales", {"account": {"fields": {"name": {"type": "string"}, "code": code}}})


@pytest.fixture
def codes(database_url: str, monkeypatch: pytest.MonkeyPatch, run_cli: Run, tmp_path: Path) -> Run:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", _bundle(tmp_path / "v1", {"type": "string", "max_length": 20})).exit_code == 0
    for code in ["00123", "42", "n/a"]:
        created = run_cli("record", "create", "account", "--data", f'{{"name": "x", "code": "{code}"}}')
        assert created.exit_code == 0, created.stderr
    return run_cli


def test_diff_lists_the_values_a_type_change_changes_and_empties(codes: Run, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "v2", {"type": "integer"})
    diff = codes("schema", "diff", bundle)
    assert diff.exit_code == 0, diff.stderr
    assert "- change account.code from string(20) to integer [3 row(s)]" in diff.stdout
    assert "1 value(s) would be changed" in diff.stdout
    assert "#1 '00123' → '123'" in diff.stdout
    assert "#3 'n/a' → empty" in diff.stdout
    assert "apply needs --allow-data-loss" in diff.stdout

    (step,) = [s for s in codes("schema", "diff", bundle, "--json").json()["steps"] if s["kind"] == "change_type"]
    assert (step["field"], step["changed"], step["lost"], step["destructive"]) == ("code", 1, 1, True)
    assert step["examples"] == [
        {"id": 1, "before": "00123", "after": "123"},
        {"id": 3, "before": "n/a", "after": None},
    ]

    refused = codes("schema", "apply", bundle)
    assert refused.exit_code == 6
    assert "account.code" in refused.stderr and "'00123' → '123'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert codes("record", "get", "account", "1", "--json").json()["code"] == "00123"
    assert codes("schema", "apply", bundle, "--allow-data-loss").exit_code == 0
    assert [codes("record", "get", "account", str(i), "--json").json().get("code") for i in (1, 2, 3)] == [
        123,
        42,
        None,
    ]


def test_diff_of_a_conversion_that_keeps_every_value_is_not_destructive(codes: Run, tmp_path: Path) -> None:
    diff = codes("schema", "diff", _bundle(tmp_path / "v2", {"type": "text"}))
    assert diff.exit_code == 0
    assert "+ change account.code from string(20) to text [3 row(s)]" in diff.stdout
    assert "destructive" not in diff.stdout
