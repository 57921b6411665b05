"""weighted_rules and lead_grade on small leads whose scores were worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.runtime import CrmEngine
from plugins.scorers import LEAD_GRADE, WEIGHTED_RULES
from tests.plugins.scoring_support import NOW, add, apply, factors, score

ENTITIES = {
    "lead": {
        "fields": {
            "name": {"type": "string"},
            "budget": {"type": "money"},
            "source": {"type": "enum", "choices": ["web", "referral", "partner"]},
            "employees": {"type": "integer"},
            "phone": {"type": "phone"},
            "last_activity_at": {"type": "datetime"},
        }
    },
    "activity": {
        "fields": {
            "lead": {"type": "reference", "target": "lead", "on_delete": "cascade"},
            "kind": {"type": "enum", "choices": ["call", "email", "meeting"]},
            "occurred_at": {"type": "datetime"},
        }
    },
}
LEADS = [
    {
        "name": "big referral",
        "budget": "150000",
        "source": "referral",
        "employees": 50,
        "phone": "+86 10 1234 5678",
        "last_activity_at": (NOW - timedelta(days=30)).isoformat(),
    },
    {
        "name": "small web",
        "budget": "20000",
        "source": "web",
        "employees": 5,
        "last_activity_at": (NOW - timedelta(days=60)).isoformat(),
    },
    {
        "name": "big partner",
        "budget": "500000",
        "source": "partner",
        "employees": 8,
        "phone": "+1 555 0100",
    },
    {"name": "empty"},
]
RULES: list[dict[str, Any]] = [
    {
        "name": "big_budget",
        "when": {">=": [{"var": "record.budget"}, 100000]},
        "points": 40,
        "reason": {"en": "Budget of 100k or more", "zh": "预算十万以上"},
    },
    {
        "name": "warm_source",
        "when": {"in": [{"var": "record.source"}, ["referral", "partner"]]},
        "points": 25,
    },
    {"name": "tiny", "when": {"<": [{"var": "record.employees"}, 10]}, "points": -15},
    {"name": "no_phone", "when": {"!": [{"var": "record.phone"}]}, "points": -5},
    {"name": "referral", "when": {"==": [{"var": "record.source"}, "referral"]}, "points": 30},
]


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    apply(engine, tmp_path, ENTITIES)
    add(engine, "lead", LEADS)
    return engine


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"rules": RULES},
            {
                1: (
                    95.0,
                    "A",
                    [("big_budget", 40), ("referral", 30), ("warm_source", 25)],
                ),  # 40 + 25 + 30
                2: (0.0, "D", [("tiny", -15), ("no_phone", -5)]),  # -20, capped at 0
                3: (
                    50.0,
                    "C",
                    [("big_budget", 40), ("warm_source", 25), ("tiny", -15)],
                ),  # 40 + 25 - 15
                4: (0.0, "D", [("tiny", -15), ("no_phone", -5)]),  # null employees count as 0 < 10
            },
        ),
        (
            {
                "rules": RULES,
                "cap": None,
                "grades": [{"grade": "hot", "min": 60}, {"grade": "cold", "min": -100}],
            },
            {
                1: (95.0, "hot", [("big_budget", 40), ("referral", 30), ("warm_source", 25)]),
                2: (-20.0, "cold", [("tiny", -15), ("no_phone", -5)]),
                3: (50.0, "cold", [("big_budget", 40), ("warm_source", 25), ("tiny", -15)]),
                4: (-20.0, "cold", [("tiny", -15), ("no_phone", -5)]),
            },
        ),
        (
            # half-life 30 days: lead 1 (30 days old) keeps half of 95, lead 2 (60 days) a
            # quarter of -20 before the cap; leads without the date are not decayed
            {"rules": RULES, "decay": {"field": "last_activity_at", "half_life_days": 30}},
            {
                1: (
                    47.5,
                    "C",
                    [("decay", -47.5), ("big_budget", 40), ("referral", 30), ("warm_source", 25)],
                ),
                # -20 × 0.25 = -5: the decay factor gives back 15 (ties keep the rules' order)
                2: (0.0, "D", [("tiny", -15), ("decay", 15.0), ("no_phone", -5)]),
                3: (50.0, "C", [("big_budget", 40), ("warm_source", 25), ("tiny", -15)]),
                4: (0.0, "D", [("tiny", -15), ("no_phone", -5)]),
            },
        ),
    ],
    ids=["default cap and grades", "no cap, own grades", "decay"],
)
def test_weighted_rules_scores(crm: CrmEngine, config: dict[str, Any], expected: dict[int, Any]) -> None:
    results = score(crm, WEIGHTED_RULES, "lead", config)
    got = {i: (r.value, r.grade, factors(r)) for i, r in results.items()}
    assert got == expected
    labels = {f.name: f.label for f in results[1].factors}
    assert labels["big_budget"].zh == "预算十万以上" and labels["warm_source"].en == "warm source"


def test_a_rule_that_fails_on_a_record_does_not_match_and_is_reported(crm: CrmEngine) -> None:
    broken = {
        "name": "broken",
        "when": {">": [{"*": [{"var": "record.source"}, 2]}, 1]},
        "points": 10,
    }
    results = score(crm, WEIGHTED_RULES, "lead", {"rules": [broken, RULES[0]]})
    assert results[1].value == 40 and results[1].extra["errors"][0]["rule"] == "broken"
    assert results[1].extra["errors"][0]["code"] == "not_a_number"
    assert results[4].value == 0 and "errors" not in results[4].extra  # null * 2 is 0: no error


@pytest.mark.parametrize(
    ("config", "pointer", "code"),
    [
        (
            {"rules": [{"when": {"nope": [1]}, "points": 1}]},
            "/config/rules/0/when",
            "unknown_operator",
        ),
        (
            {"rules": RULES, "decay": {"field": "missing", "half_life_days": 3}},
            "/config/decay/field",
            "unknown_field",
        ),
        (
            {"rules": RULES, "decay": {"field": "source", "half_life_days": 3}},
            "/config/decay/field",
            "wrong_field_type",
        ),
    ],
)
def test_weighted_rules_configuration_errors(crm: CrmEngine, config: dict[str, Any], pointer: str, code: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        score(crm, WEIGHTED_RULES, "lead", config)
    problem = caught.value.problems[0]
    assert (problem.pointer or "").startswith(pointer) and problem.code == code


LEAD_CONFIG: dict[str, Any] = {
    "fit": {"rules": RULES[:3]},
    "engagement": {
        "activities": "activity",
        "reference": "lead",
        "date": "occurred_at",
        "window_days": 30,
        "target_count": 4,
        "half_life_days": 7,
    },
    "weights": {"fit": 3, "engagement": 1},
}


def test_lead_grade_combines_fit_and_engagement(crm: CrmEngine) -> None:
    day = timedelta(days=1)
    add(
        crm,
        "activity",
        [
            *({"lead": 1, "kind": "call", "occurred_at": (NOW - k * day).isoformat()} for k in (0, 2, 5, 9)),
            {
                "lead": 1,
                "kind": "email",
                "occurred_at": (NOW - 40 * day).isoformat(),
            },  # outside the 30-day window
            {"lead": 2, "kind": "email", "occurred_at": (NOW - 7 * day).isoformat()},
            {"lead": 3, "kind": "meeting", "occurred_at": (NOW - 45 * day).isoformat()},
        ],
    )
    results = score(crm, LEAD_GRADE, "lead", LEAD_CONFIG)
    # fit = capped points; engagement = 0.5 × 100 × min(count / 4, 1) + 0.5 × 100 × 0.5^(days / 7);
    # value = 0.75 × fit + 0.25 × engagement
    # lead 1: fit 65 (B), 4 recent, last today: 50 + 50 = 100 (1) -> 48.75 + 25 = 73.75
    # lead 2: fit 0 (-15 capped, D), 1 recent, 7 days: 12.5 + 25 = 37.5 (3) -> 9.375
    # lead 3: fit 50 (B), 0 recent, 45 days: 0 + 50 × 0.5^(45/7) = 0.5790 (4) -> 37.5 + 0.1448
    # lead 4: fit 0 (-15 capped, D), no activity: 0 (4) -> 0
    got = {i: (r.grade, round(r.value or 0, 4)) for i, r in results.items()}
    assert got == {
        1: ("B1", 73.75),
        2: ("D3", 9.375),
        3: ("B4", round(37.5 + 0.25 * 50 * 0.5 ** (45 / 7), 4)),
        4: ("D4", 0.0),
    }
    assert results[1].extra["activities"] == 4
    assert factors(results[1])[:2] == [("big_budget", 30.0), ("warm_source", 18.75)]
    assert {f.name for f in results[4].factors} == {"tiny", "activity_count", "activity_recency"}


def test_lead_grade_rejects_a_reference_to_another_entity(crm: CrmEngine) -> None:
    config = {**LEAD_CONFIG, "engagement": {**LEAD_CONFIG["engagement"], "reference": "kind"}}
    with pytest.raises(DefinitionError) as caught:
        score(crm, LEAD_GRADE, "lead", config)
    assert [(p.pointer, p.code) for p in caught.value.problems] == [("/config/engagement/reference", "not_a_reference")]
