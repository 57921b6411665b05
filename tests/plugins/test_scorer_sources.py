"""Scorers declare the related entities they read, so the engine knows what to rescore."""

from __future__ import annotations

import json
from pathlib import Path

from plugins.scorers._key_account_value import KEY_ACCOUNT_VALUE
from plugins.scorers._project_evaluation import PROJECT_EVALUATION

PRESETS = Path(__file__).parents[2] / "presets"


def config(path: str) -> dict[str, object]:
    return dict(json.loads((PRESETS / path).read_text(encoding="utf-8"))["config"])


def test_key_account_value_reads_the_aggregates_of_its_indicators() -> None:
    assert KEY_ACCOUNT_VALUE.sources is not None
    found = KEY_ACCOUNT_VALUE.sources(config("key_account/scorings/key_account_value.json"))
    assert {"consumption", "agreement", "receivable"} <= {entity for entity, _ref in found}
    assert {ref for _entity, ref in found} == {"account"}


def test_project_evaluation_reads_the_stakeholders() -> None:
    assert PROJECT_EVALUATION.sources is not None
    found = PROJECT_EVALUATION.sources(config("complex_sale/scorings/project_evaluation.json"))
    assert found == [("stakeholder", "project")]
