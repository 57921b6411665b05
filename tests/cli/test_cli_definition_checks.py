"""Definition problems the command line reports as problems (exit 2), never as a crash."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import CliResult, write_bundle

Run = Callable[..., CliResult]


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    return database_url


def test_a_lone_surrogate_in_a_label_is_a_problem_not_an_internal_error(db: str, run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "deal.json"
    path.write_bytes(
        rb'{"schema_version": 1, "kind": "entity", "name": "deal", "label": "bad \ud800",'
        rb' "fields": {"t": {"type": "string", "description": "a\u0000b"}}}'
    )
    for command in ("validate", "apply"):
        result = run_cli("schema", command, path)
        assert result.exit_code == 2, (command, result)
        assert "deal.json:/label: [invalid_character]" in result.stdout + result.stderr
        assert "deal.json:/fields/t/description: [invalid_character]" in result.stdout + result.stderr
        assert "internal error" not in result.stdout + result.stderr


def test_a_long_value_is_checked_against_a_pattern_in_bounded_time(db: str, run_cli: Run, tmp_path: Path) -> None:
    # (a|aa)+ is exponential on Python's backtracking engine (30 characters take about a
    # second); field patterns run on RE2, so 5,000 characters are refused at once.
    bundle = write_bundle(tmp_path, "codes", {"item": {"fields": {"code": {"type": "text", "pattern": "(a|aa)+"}}}})
    assert run_cli("schema", "apply", bundle).exit_code == 0
    started = time.perf_counter()
    refused = run_cli("record", "create", "item", "--data", json.dumps({"code": "a" * 5000 + "!"}))
    elapsed = time.perf_counter() - started
    assert refused.exit_code != 0
    assert "pattern" in refused.stdout + refused.stderr
    assert elapsed < 2, elapsed
    assert run_cli("record", "create", "item", "--data", json.dumps({"code": "a" * 5000})).exit_code == 0


def test_schema_diff_reports_form_and_meaning_problems_in_one_run(db: str, run_cli: Run, tmp_path: Path) -> None:
    # An option that does not apply (a form problem) used to stop the meaning checks, so the
    # index naming a missing field came out only on the next run.
    bundle = write_bundle(
        tmp_path,
        "sales",
        {
            "deal": {
                "fields": {"title": {"type": "string"}, "amount": {"type": "decimal", "max_length": 3}},
                "indexes": [["titel"]],
            }
        },
    )
    for command in ("validate", "diff", "apply"):
        result = run_cli("schema", command, bundle)
        output = result.stdout + result.stderr
        assert result.exit_code == 2, (command, result)
        assert "sales/deal.json:/fields/amount/max_length: [inapplicable_option]" in output, (command, output)
        assert "sales/deal.json:/indexes/0/0: [unknown_field]" in output, (command, output)
        assert "Traceback" not in output
