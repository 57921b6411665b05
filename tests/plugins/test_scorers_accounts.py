"""customer_tier and key_account_value on four accounts whose scores were worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.runtime import CrmEngine
from plugins.scorers import CUSTOMER_TIER, KEY_ACCOUNT_VALUE
from tests.plugins.scoring_support import add, apply, factors, score

ENTITIES = {
    "industry": {
        "fields": {
            "name": {"type": "string"},
            "outlook": {"type": "enum", "choices": ["growing", "stable", "declining"]},
        }
    },
    "account": {
        "fields": {
            "name": {"type": "string"},
            "industry": {"type": "reference", "target": "industry"},
            "position": {
                "type": "enum",
                "choices": [
                    {"value": "leader", "label": {"en": "Industry leader", "zh": "行业龙头"}},
                    "top10",
                    "other",
                ],
            },
            "growth": {"type": "decimal", "precision": 6, "scale": 3},
            "sales_per_head": {"type": "money"},
            "profit_per_head": {"type": "money"},
            "vip": {"type": "boolean"},
        }
    },
    "consumption": {
        "fields": {
            "account": {"type": "reference", "target": "account"},
            "amount": {"type": "money"},
        }
    },
    "receivable": {
        "fields": {
            "account": {"type": "reference", "target": "account"},
            "amount": {"type": "money"},
            "overdue": {"type": "boolean"},
        }
    },
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    apply(engine, tmp_path, ENTITIES)
    add(
        engine,
        "industry",
        [
            {"name": "telecom", "outlook": "growing"},
            {"name": "power", "outlook": "stable"},
            {"name": "print", "outlook": "declining"},
        ],
    )
    add(
        engine,
        "account",
        [
            {
                "name": "A1",
                "industry": 1,
                "position": "leader",
                "growth": "0.25",
                "sales_per_head": 200,
                "profit_per_head": 30,
                "vip": True,
            },
            {
                "name": "A2",
                "industry": 2,
                "position": "top10",
                "growth": "0.6",
                "sales_per_head": 100,
                "profit_per_head": 10,
                "vip": True,
            },
            {
                "name": "A3",
                "industry": 3,
                "position": "other",
                "growth": "-0.1",
                "sales_per_head": 50,
                "profit_per_head": 50,
                "vip": True,
            },
            {"name": "A4", "position": "leader", "profit_per_head": 20, "vip": False},
        ],
    )
    add(
        engine,
        "consumption",
        [{"account": a, "amount": m} for a, m in ((1, 100), (1, 200), (2, 500), (4, 1000))],
    )
    add(
        engine,
        "receivable",
        [{"account": a, "amount": m, "overdue": o} for a, m, o in ((1, 50, True), (1, 100, False), (3, 200, True))],
    )
    return engine


TIER_CONFIG: dict[str, Any] = {
    "criteria": [
        {
            "name": "industry_position",
            "field": "position",
            "points": {"leader": 100, "top10": 70, "other": 20},
            "weight": 30,
        },
        {"name": "growth", "field": "growth", "range": {"min": 0, "max": 0.5}, "weight": 20},
        {"name": "sales_per_head", "field": "sales_per_head", "weight": 20},
        {
            "name": "profit_per_head",
            "field": "profit_per_head",
            "weight": 20,
            "label": {"en": "Profit per head", "zh": "人均利润贡献"},
        },
        {
            "name": "industry_outlook",
            "field": "industry.outlook",
            "points": {"growing": 100, "stable": 50},
            "weight": 10,
        },
    ]
}


def test_customer_tier(crm: CrmEngine) -> None:
    results = score(crm, CUSTOMER_TIER, "account", TIER_CONFIG)
    # population: sales per head 50..200, profit per head 10..50 (A4's null is left out)
    # A1: 30 + 20 × 0.5 + 20 × 1 + 20 × 0.5 + 10 × 1 = 80 -> S
    # A2: 30 × 0.7 + 20 × 1 (0.6 clipped) + 20 × 1/3 + 0 + 10 × 0.5 = 52.67 -> B
    # A3: 30 × 0.2 + 0 (clipped) + 0 + 20 × 1 + 0 (declining has no points) = 26 -> C
    # A4: 30 + 0 (null) + 0 (null) + 20 × 0.25 + 0 (no industry) = 35 -> C
    got = {i: (r.grade, round(r.value or 0, 4)) for i, r in results.items()}
    assert got == {1: ("S", 80.0), 2: ("B", 52.6667), 3: ("C", 26.0), 4: ("C", 35.0)}
    assert factors(results[1])[0] == ("industry_position", 30.0)
    assert results[3].factors[0].label.zh == "人均利润贡献"
    assert results[4].extra["criteria"]["sales_per_head"] == {"value": None, "points": 0.0}


def test_customer_tier_with_own_tiers_and_lower_is_better(crm: CrmEngine) -> None:
    config = {
        "criteria": [{"name": "growth", "field": "growth", "direction": "lower"}],
        "tiers": [{"tier": "A", "min": 50}, {"tier": "B", "min": 0}],
    }
    # growth -0.1 .. 0.6 over the population: A1 1 - 0.35/0.7 = 0.5, A2 0, A3 1, A4 missing: 0
    got = {i: (r.grade, round(r.value or 0, 4)) for i, r in score(crm, CUSTOMER_TIER, "account", config).items()}
    assert got == {1: ("A", 50.0), 2: ("B", 0.0), 3: ("A", 100.0), 4: ("B", 0.0)}


KAV_CONFIG: dict[str, Any] = {
    "indicators": [
        {
            "name": "consumption",
            "aggregate": {
                "function": "sum",
                "entity": "consumption",
                "reference": "account",
                "field": "amount",
            },
            "weight": 3,
        },
        {
            "name": "overdue",
            "aggregate": {
                "function": "sum",
                "entity": "receivable",
                "reference": "account",
                "field": "amount",
                "filter": {"==": [{"var": "record.overdue"}, True]},
            },
            "direction": "lower",
            "weight": 1,
        },
    ],
    "population": {"==": [{"var": "record.vip"}, True]},
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # VIP accounts only: consumption 300, 500, 0 (min-max 0..500); overdue 50, 0, 200
        # (0..200, lower is better): A1 (3 × 60 + 75) / 4 = 63.75, A2 100, A3 0
        ({}, {1: ("2", 63.75, 2), 2: ("1", 100.0, 1), 3: ("3", 0.0, 3), 4: (None, None, None)}),
        # z-score: 100 × Φ((x - mean) / population std), reversed for overdue:
        # A1 (3 × 56.4434 + 65.2557) / 4, A2 (3 × 87.1928 + 83.66) / 4, A3 (3 × 9.7183 + 8.4905) / 4
        (
            {"normalization": "zscore"},
            {
                1: ("2", 58.6465, 2),
                2: ("1", 86.3096, 1),
                3: ("3", 9.4114, 3),
                4: (None, None, None),
            },
        ),
        (
            {"rank_grades": [{"grade": "top", "max_rank": 1}, {"grade": "rest", "max_rank": 99}]},
            {
                1: ("rest", 63.75, 2),
                2: ("top", 100.0, 1),
                3: ("rest", 0.0, 3),
                4: (None, None, None),
            },
        ),
        (
            {"grades": [{"grade": "A", "min": 60}, {"grade": "B", "min": 0}]},
            {1: ("A", 63.75, 2), 2: ("A", 100.0, 1), 3: ("B", 0.0, 3), 4: (None, None, None)},
        ),
    ],
    ids=["min-max", "z-score", "rank grades", "value grades"],
)
def test_key_account_value(crm: CrmEngine, config: dict[str, Any], expected: dict[int, Any]) -> None:
    results = score(crm, KEY_ACCOUNT_VALUE, "account", {**KAV_CONFIG, **config})
    got = {
        i: (r.grade, None if r.value is None else round(r.value, 4), r.extra.get("rank")) for i, r in results.items()
    }
    assert got == expected
    assert results[1].extra["of"] == 3
    assert results[1].extra["indicators"]["overdue"]["value"] == 50.0


def test_key_account_value_ranks_everyone_without_a_population(crm: CrmEngine) -> None:
    config = {"indicators": KAV_CONFIG["indicators"][:1]}
    # consumption 300, 500, 0, 1000 over all four: 30, 50, 0, 100
    results = score(crm, KEY_ACCOUNT_VALUE, "account", config)
    assert {i: (r.extra["rank"], r.value) for i, r in results.items()} == {
        1: (3, 30.0),
        2: (2, 50.0),
        3: (4, 0.0),
        4: (1, 100.0),
    }


@pytest.mark.parametrize(
    ("scorer", "config", "pointer", "code"),
    [
        (
            CUSTOMER_TIER,
            {"criteria": [{"name": "x", "field": "nope"}]},
            "/config/criteria/0/field",
            "unknown_field",
        ),
        (
            CUSTOMER_TIER,
            {"criteria": [{"name": "x", "field": "name"}]},
            "/config/criteria/0/field",
            "wrong_field_type",
        ),
        (
            CUSTOMER_TIER,
            {"criteria": [{"name": "x", "field": "growth", "points": {"a": 1}}]},
            "/config/criteria/0/field",
            "wrong_field_type",
        ),
        (
            CUSTOMER_TIER,
            {"criteria": [{"name": "x", "field": "name.outlook"}]},
            "/config/criteria/0/field",
            "not_a_reference",
        ),
        (
            CUSTOMER_TIER,
            {"criteria": [{"name": "x", "field": "industry.nope"}]},
            "/config/criteria/0/field",
            "unknown_field",
        ),
        (
            KEY_ACCOUNT_VALUE,
            {
                "indicators": [
                    {
                        "name": "x",
                        "aggregate": {
                            "function": "sum",
                            "entity": "consumption",
                            "reference": "account",
                        },
                    }
                ]
            },
            "/config/indicators/0/aggregate",
            "required",
        ),
        (
            KEY_ACCOUNT_VALUE,
            {
                "indicators": [
                    {
                        "name": "x",
                        "aggregate": {
                            "function": "count",
                            "entity": "industry",
                            "reference": "name",
                        },
                    }
                ]
            },
            "/config/indicators/0/aggregate/reference",
            "not_a_reference",
        ),
        (
            KEY_ACCOUNT_VALUE,
            {"indicators": [{"name": "x", "field": "growth"}, {"name": "x", "field": "growth"}]},
            "/config/indicators/1/name",
            "duplicate_name",
        ),
        (
            KEY_ACCOUNT_VALUE,
            {
                "indicators": [{"name": "x", "field": "growth"}],
                "population": {"var": "record.industry.name"},
            },
            "/config/population",
            "rule_not_sql",
        ),
    ],
)
def test_criteria_configuration_errors(
    crm: CrmEngine, scorer: Any, config: dict[str, Any], pointer: str, code: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        score(crm, scorer, "account", config)
    assert [(p.pointer, p.code) for p in caught.value.problems] == [(pointer, code)]


def test_an_indicator_on_which_every_account_ties_gives_each_the_neutral_half(crm: CrmEngine) -> None:
    # no receivable is overdue any more: every ranked account has 0 overdue, the best there is,
    # and none is told apart by it; each gets 50 points on it, not 0 ("lower is better") and
    # not 100; consumption 300, 500, 0 still ranks them
    with crm.db.write() as conn:  # as data would stand, not a user's change
        conn.execute(crm.model.table("receivable").update().values(overdue=False))
    results = score(crm, KEY_ACCOUNT_VALUE, "account", KAV_CONFIG)
    overdue = {i: r.extra["indicators"]["overdue"]["points"] for i, r in results.items() if r.value is not None}
    assert overdue == {1: 50.0, 2: 50.0, 3: 50.0}
    # A1: (3 × 60 + 50) / 4, A2: (3 × 100 + 50) / 4, A3: (3 × 0 + 50) / 4
    assert {i: round(r.value, 4) for i, r in results.items() if r.value is not None} == {1: 57.5, 2: 87.5, 3: 12.5}
    # a "higher is better" indicator alike for all: the same neutral half
    with crm.db.write() as conn:
        conn.execute(crm.model.table("account").update().values(profit_per_head=7))
    tied = score(crm, KEY_ACCOUNT_VALUE, "account", {"indicators": [{"name": "profit", "field": "profit_per_head"}]})
    assert {r.value for r in tied.values()} == {50.0}
