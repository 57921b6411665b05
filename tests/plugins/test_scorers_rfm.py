"""rfm on five customers whose scores were worked out by hand (and one without orders)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.runtime import CrmEngine
from plugins.scorers import RFM
from tests.plugins.scoring_support import add, apply, factors, score

ENTITIES = {
    "customer": {"fields": {"name": {"type": "string"}}},
    "order_line": {
        "fields": {
            "customer": {"type": "reference", "target": "customer"},
            "order_no": {"type": "string"},
            "day": {"type": "date"},
            "quantity": {"type": "integer"},
            "price": {"type": "money"},
            "amount": {"type": "money"},
        }
    },
}
# customer: [(order, day, quantity, price)]
LINES: dict[int, list[tuple[str, str, int, str]]] = {
    1: [
        ("A1", "2025-12-30", 2, "10"),
        ("A1", "2025-12-30", 1, "5"),
        ("A2", "2025-12-01", 1, "100"),
    ],
    2: [("B1", "2025-11-30", 3, "10")],
    3: [
        ("C1", "2025-06-30", 10, "50"),
        ("C2", "2025-07-01", 1, "20"),
        ("C3", "2025-12-20", 1, "1"),
    ],
    4: [
        ("D1", "2025-01-01", 1, "1000"),
        ("D2", "2025-12-30", -1, "1000"),
    ],  # D2: a return, filtered out
    5: [
        ("E1", "2025-12-30", 1, "2"),
        ("E2", "2025-12-29", 1, "3"),
        ("E3", "2025-12-28", 1, "4"),
        ("E4", "2025-12-27", 1, "5"),
    ],
}
BASE: dict[str, Any] = {
    "transactions": "order_line",
    "customer": "customer",
    "date": "day",
    "order": "order_no",
    "quantity": "quantity",
    "price": "price",
    "filter": {">": [{"var": "record.quantity"}, 0]},
}
# reference date: the day after the last kept line (2025-12-30) = 2025-12-31
# recency days 1, 31, 11, 364, 1; frequency 2, 1, 3, 1, 4; monetary 125, 30, 521, 1000, 14
FIGURES = {
    1: (1, 2, 125.0),
    2: (31, 1, 30.0),
    3: (11, 3, 521.0),
    4: (364, 1, 1000.0),
    5: (1, 4, 14.0),
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    apply(engine, tmp_path, ENTITIES)
    add(engine, "customer", [{"name": f"c{i}"} for i in range(1, 7)])
    add(
        engine,
        "order_line",
        [
            {
                "customer": c,
                "order_no": o,
                "day": d,
                "quantity": q,
                "price": p,
                "amount": str(Decimal(p) * q),
            }
            for c, lines in LINES.items()
            for o, d, q, p in lines
        ],
    )
    return engine


THRESHOLDS = {
    "method": "thresholds",
    "recency": {"thresholds": [7, 30, 90, 180]},  # at most 7 days: 5 ... more than 180: 1
    "frequency": {"thresholds": [2, 3, 4, 5]},  # at least 5 orders: 5 ... fewer than 2: 1
    "monetary": {"thresholds": [20, 100, 500, 1000]},
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # quantile cuts (linear interpolation): recency [1, 7, 19, 97.6], frequency
        # [1, 1.6, 2.4, 3.2], monetary [26.8, 87, 283.4, 616.8]; a value above k cuts is in
        # bin k + 1 (recency reversed); value = 100 × Σ (score - 1) / 4 / 3
        (
            {},
            {
                1: ("533", 66.666667),
                2: ("212", 16.666667),
                3: ("344", 66.666667),
                4: ("115", 33.333333),
                5: ("551", 66.666667),
            },
        ),
        # rank cut into equal-width bins: ceil(average rank / 5 × 5); ties share the average
        # rank (recency 1 day twice: 1.5 -> bin 2 -> score 4; one order twice: 1.5 -> 2)
        (
            {"method": "rank"},
            {
                1: ("433", 58.333333),
                2: ("222", 25.0),
                3: ("344", 66.666667),
                4: ("125", 41.666667),
                5: ("451", 58.333333),
            },
        ),
        (
            THRESHOLDS,
            {
                1: ("523", 58.333333),
                2: ("312", 25.0),
                3: ("434", 66.666667),
                4: ("115", 33.333333),
                5: ("541", 58.333333),
            },
        ),
        # recency counts double: 100 × (2 × (r - 1) + (f - 1) + (m - 1)) / 4 / 4
        (
            {**THRESHOLDS, "weights": {"r": 2}},
            {
                1: ("523", 68.75),
                2: ("312", 31.25),
                3: ("434", 68.75),
                4: ("115", 25.0),
                5: ("541", 68.75),
            },
        ),
    ],
    ids=["quantile", "rank", "thresholds", "weights"],
)
def test_rfm_scores(crm: CrmEngine, config: dict[str, Any], expected: dict[int, tuple[str, float]]) -> None:
    results = score(crm, RFM, "customer", {**BASE, **config})
    got = {i: (r.grade, round(r.value, 6)) for i, r in results.items() if r.value is not None}
    assert got == expected
    figures = {
        i: (r.extra["recency_days"], r.extra["frequency"], r.extra["monetary"]) for i, r in results.items() if i != 6
    }
    assert figures == FIGURES
    assert results[6].value is None and results[6].extra["frequency"] == 0


def test_rfm_segments_name_the_customers(crm: CrmEngine) -> None:
    segments = [
        {
            "name": "champions",
            "label": {"en": "Champions", "zh": "重要价值客户"},
            "when": {"and": [{">=": [{"var": "r"}, 4]}, {">=": [{"var": "f"}, 4]}]},
        },
        {"name": "big_spenders", "when": {">=": [{"var": "monetary"}, 500]}},
        {"name": "at_risk", "when": {"<=": [{"var": "r"}, 2]}},
    ]
    results = score(crm, RFM, "customer", {**BASE, **THRESHOLDS, "segments": segments})
    assert {i: r.grade for i, r in results.items()} == {
        1: "523",
        2: "312",
        3: "big_spenders",
        4: "big_spenders",
        5: "champions",
        6: None,
    }
    # factors: 100 × (score - 1) / 4 / 3 each, largest first
    assert factors(results[5]) == [("recency", 33.333333), ("frequency", 25.0), ("monetary", 0.0)]
    assert results[5].factors[0].label.zh == "最近购买"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"amount": "amount", "quantity": None, "price": None}, {1: 125.0, 4: 1000.0}),
        ({"order": None}, {1: 125.0, 4: 1000.0}),
        ({"reference_date": "2026-01-10"}, {1: 125.0, 4: 1000.0}),
    ],
    ids=["amount field", "rows counted", "reference date"],
)
def test_rfm_variants(crm: CrmEngine, config: dict[str, Any], expected: dict[int, float]) -> None:
    merged = {k: v for k, v in {**BASE, **config}.items() if v is not None}
    results = score(crm, RFM, "customer", merged)
    assert {i: results[i].extra["monetary"] for i in expected} == expected
    if "order" not in merged:
        assert results[1].extra["frequency"] == 3  # lines, not orders
    if "reference_date" in merged:
        assert results[1].extra["recency_days"] == 11


@pytest.mark.parametrize(
    ("config", "pointer", "code"),
    [
        ({"transactions": "invoice"}, "/config/transactions", "unknown_entity"),
        ({"customer": "order_no"}, "/config/customer", "not_a_reference"),
        ({"date": "order_no"}, "/config/date", "wrong_field_type"),
        ({"price": "order_no"}, "/config/price", "wrong_field_type"),
        ({"filter": {">": [{"var": "now"}, "2025-01-01"]}}, "/config/filter", "rule_not_sql"),
        (
            {"method": "thresholds", "recency": {"thresholds": [30, 7, 90, 180]}},
            "/config/recency/thresholds",
            "wrong_thresholds",
        ),
    ],
)
def test_rfm_configuration_errors(crm: CrmEngine, config: dict[str, Any], pointer: str, code: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        score(crm, RFM, "customer", {**BASE, **config})
    assert [(p.pointer, p.code) for p in caught.value.problems] == [(pointer, code)]
