"""Scores are kept at the scoring's precision: a rerun that moves a time decay below it
changes nothing (no rewritten scores, no history rows), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import CliResult, write_bundle

Run = Callable[..., CliResult]

ENTITIES: dict[str, Any] = {
    "lead": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "budget": {"type": "money"},
            "last_contact": {"type": "date"},
            "heat": {"type": "decimal", "precision": 8, "scale": 3},
            "heat_grade": {"type": "string", "max_length": 2},
            "warmth_grade": {"type": "string", "max_length": 2},
        },
    }
}
HEAT = {
    "schema_version": 1,
    "kind": "scoring",
    "name": "heat",
    "entity": "lead",
    "scorer": "weighted_rules",
    "config": {
        "rules": [
            {"name": "budget", "when": {">=": [{"var": "record.budget"}, 1000]}, "points": 70, "reason": "Budget"},
            {"name": "any", "when": {"!!": [{"var": "record.name"}]}, "points": 13, "reason": "Named"},
        ],
        "decay": {"field": "last_contact", "half_life_days": 30},
    },
    "target": {"value": "heat", "grade": "heat_grade"},
}
UNTARGETED = {**HEAT, "name": "untargeted", "target": {"grade": "warmth_grade"}}


@pytest.fixture
def scored(database_url: str, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    bundle = write_bundle(tmp_path, "sales", ENTITIES, extra={"heat.json": HEAT, "untargeted.json": UNTARGETED})
    assert run_cli("schema", "apply", bundle).exit_code == 0
    today = datetime.now(UTC).date()
    for i, days in enumerate((3, 11, 47)):
        data = f'{{"name": "Lead {i}", "budget": "5000", "last_contact": "{today - timedelta(days=days)}"}}'
        assert run_cli("record", "create", "lead", "--data", data).exit_code == 0


def _history_rows(run_cli: Run) -> int:
    return sum(len(run_cli("score", "history", "lead", str(i), "--json").json()) for i in (1, 2, 3))


def test_second_run_changes_nothing(scored: None, run_cli: Run) -> None:
    first = run_cli("score", "run", "--json")
    assert first.exit_code == 0, first.stderr
    assert {r["scoring"]: r["changed"] for r in first.json()} == {"heat": 3, "untargeted": 3}
    rows = _history_rows(run_cli)
    assert rows == 6
    second = run_cli("score", "run")
    assert second.exit_code == 0, second.stderr
    assert "heat (lead): 3 scored, 0 changed" in second.stdout
    assert "untargeted (lead): 3 scored, 0 changed" in second.stdout
    assert _history_rows(run_cli) == rows


def test_values_are_rounded_to_the_scoring_precision(scored: None, run_cli: Run) -> None:
    assert run_cli("score", "run").exit_code == 0
    for views in (run_cli("score", "show", "lead", str(i), "--json").json() for i in (1, 2, 3)):
        by_name = {v["scoring"]: v for v in views}
        heat, untargeted = by_name["heat"]["value"], by_name["untargeted"]["value"]
        assert heat == round(heat, 3), "the target field's scale"
        assert untargeted == round(untargeted, 2), "two decimals without a target value"
        assert all(f["contribution"] == round(f["contribution"], 3) for f in by_name["heat"]["factors"])
    record = run_cli("record", "get", "lead", "2", "--json").json()
    assert float(record["heat"]) == run_cli("score", "show", "lead", "2", "--json").json()[0]["value"]
