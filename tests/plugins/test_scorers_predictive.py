"""predictive: naive Bayes counts and probabilities worked out by hand; AUC and the split."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from engine.errors import UsageError
from engine.runtime import CrmEngine
from plugins.scorers import PREDICTIVE, auc, holdout_split
from tests.plugins.scoring_support import add, apply, factors, score, train

ENTITIES = {
    "opportunity": {
        "fields": {
            "source": {"type": "enum", "choices": ["web", "referral", "fair"]},
            "size": {"type": "integer"},
            "region": {"type": "string"},
            "stage": {"type": "enum", "choices": ["open", "won", "lost"]},
        }
    }
}
ROWS = [  # source, size, region, stage
    ("web", 10, "north", "won"),
    ("web", 20, "north", "lost"),
    ("web", 30, "north", "lost"),
    ("referral", 40, "north", "won"),
    ("referral", 50, "north", "won"),
    ("referral", 60, "south", "lost"),
    ("fair", 70, "south", "lost"),
    ("fair", 80, "south", "lost"),
    ("web", None, "south", "won"),
    ("referral", 55, "east", "open"),
]
CONFIG: dict[str, Any] = {
    "outcome": "stage",
    "positive": ["won"],
    "negative": ["lost"],
    "features": ["source", {"field": "size", "bins": 2, "distinct_levels": 0}],
    "holdout": 0,
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    apply(engine, tmp_path, ENTITIES)
    add(
        engine,
        "opportunity",
        [
            {k: v for k, v in zip(("source", "size", "region", "stage"), row, strict=True) if v is not None}
            for row in ROWS
        ],
    )
    return engine


def test_training_counts_levels(crm: CrmEngine) -> None:
    report = train(crm, PREDICTIVE, "opportunity", CONFIG)
    model = report.model
    # 4 won, 5 lost (the open one is not history); size cut at the median of 10..80: 45
    assert model["global"]["positive"] == 4 and model["global"]["negative"] == 5
    assert model["features"] == [
        {"name": "source", "numeric": False},
        {"name": "size", "numeric": True, "cuts": [45.0]},
    ]
    assert model["global"]["tables"] == {
        "source": {"web": [2, 2], "referral": [2, 1], "fair": [0, 2]},
        "size": {"≤45": [2, 2], ">45": [1, 3], "(missing)": [1, 0]},
    }
    assert report.metrics["rows"] == 9 and report.metrics["auc"] is None and model["trained_rows"] == 9


def test_scores_are_smoothed_naive_bayes(crm: CrmEngine) -> None:
    model = train(crm, PREDICTIVE, "opportunity", CONFIG).model
    results = score(crm, PREDICTIVE, "opportunity", CONFIG, trained=model)
    # Laplace 1, each feature has 3 levels + 1 unseen: P(level | won) = (n + 1) / (4 + 4),
    # P(level | lost) = (n + 1) / (5 + 4); prior odds (4 + 1) / (5 + 1)
    # record 10 (referral, 55): odds 5/6 × (3/8)/(2/9) × (2/8)/(4/9) = 1215/1536
    # record 9 (web, no size): 5/6 × (3/8)/(3/9) × (2/8)/(1/9) = 405/192
    # record 7 (fair, 70): 5/6 × (1/8)/(3/9) × (2/8)/(4/9) = 135/768
    for record_id, odds in ((10, 1215 / 1536), (9, 405 / 192), (7, 135 / 768)):
        assert results[record_id].value == pytest.approx(100 * odds / (1 + odds))
    assert factors(results[10]) == [
        ("size=>45", round(math.log(9 / 16), 6)),
        ("source=referral", round(math.log(27 / 16), 6)),
    ]
    assert results[10].factors[1].detail == "source=referral: +0.52"
    assert results[10].factors[1].label.en == "Source=referral"


def test_per_segment_models_and_fallback(crm: CrmEngine) -> None:
    config = {**CONFIG, "segment": "region", "min_segment_rows": 4}
    model = train(crm, PREDICTIVE, "opportunity", config).model
    assert sorted(model["segments"]) == ["north", "south"]  # 5 and 4 rows of history
    assert model["segments"]["north"]["positive"] == 3
    results = score(crm, PREDICTIVE, "opportunity", config, trained=model)
    assert results[1].extra["segment"] == "north" and results[10].extra["segment"] is None  # east: global model


def test_holdout_is_evaluated_and_the_model_refit(crm: CrmEngine) -> None:
    report = train(crm, PREDICTIVE, "opportunity", {**CONFIG, "holdout": 0.2, "seed": 7})
    assert (report.metrics["train_rows"], report.metrics["holdout_rows"]) == (
        7,
        2,
    )  # round(9 × 0.2)
    assert report.model["trained_rows"] == 9
    kept = train(crm, PREDICTIVE, "opportunity", {**CONFIG, "holdout": 0.2, "seed": 7, "refit": False})
    assert kept.model["trained_rows"] == 7


def test_scoring_without_a_trained_model_is_refused(crm: CrmEngine) -> None:
    with pytest.raises(UsageError) as caught:
        score(crm, PREDICTIVE, "opportunity", CONFIG)
    assert caught.value.problems[0].code == "not_trained"


@pytest.mark.parametrize(
    ("scores", "positives", "expected"),
    [
        ([0.1, 0.4, 0.35, 0.8], [False, False, True, True], 0.75),
        ([1, 2, 3, 4], [False, False, True, True], 1.0),
        ([4, 3, 2, 1], [False, False, True, True], 0.0),
        ([1, 1, 2], [True, False, True], 0.75),  # a tie counts half
        ([5, 5, 5, 5], [True, False, True, False], 0.5),
        ([1, 2], [True, True], None),
    ],
)
def test_auc_is_the_mann_whitney_statistic(scores: list[float], positives: list[bool], expected: float | None) -> None:
    assert auc(scores, positives) == expected


def test_holdout_split_is_fixed_by_the_seed() -> None:
    train_ids, holdout_ids = holdout_split(range(1, 101), 0.2, 42)
    assert len(holdout_ids) == 20 and sorted(train_ids + holdout_ids) == list(range(1, 101))
    assert holdout_split(reversed(range(1, 101)), 0.2, 42) == (train_ids, holdout_ids)
    assert holdout_split(range(1, 101), 0.2, 43) != (train_ids, holdout_ids)
