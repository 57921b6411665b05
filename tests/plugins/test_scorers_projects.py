"""project_evaluation and relationship_closeness on a small decision tree worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.runtime import CrmEngine
from plugins.scorers import PROJECT_EVALUATION, RELATIONSHIP_CLOSENESS
from tests.plugins.scoring_support import add, apply, factors, score

ROLES = ["decision_maker", "technical", "user", "coach", "other"]
ENTITIES = {
    "account": {"fields": {"name": {"type": "string"}}},
    "project": {
        "fields": {
            "name": {"type": "string"},
            "budget": {"type": "money"},
            "decision_date": {"type": "date"},
            "scope": {"type": "text"},
            "competitive_position": {"type": "enum", "choices": ["leading", "even", "behind"]},
        }
    },
    "stakeholder": {
        "fields": {
            "name": {"type": "string"},
            "project": {"type": "reference", "target": "project"},
            "account": {"type": "reference", "target": "account"},
            "role": {
                "type": "enum",
                "choices": [
                    {"value": "decision_maker", "label": {"en": "Decision maker", "zh": "决策者"}},
                    *ROLES[1:],
                ],
            },
            "influence": {"type": "enum", "choices": ["high", "medium", "low"]},
            "strength": {"type": "integer", "minimum": 1, "maximum": 5},
            "relationship": {
                "type": "enum",
                "choices": ["hostile", "neutral", "friendly", "close"],
            },
        }
    },
}
PEOPLE = [  # name, project, account, role, influence, strength, relationship
    ("S1", 1, 1, "decision_maker", "high", 5, "close"),
    ("S2", 1, 1, "technical", "medium", 4, "friendly"),
    ("S3", 1, 1, "user", "low", 2, "neutral"),
    ("S4", 1, 1, "coach", "high", 5, "close"),
    ("S5", 2, 2, "decision_maker", "high", 3, "hostile"),
    ("S6", 2, 2, "other", None, 5, None),
    ("S7", 4, 3, "decision_maker", "medium", 4, "friendly"),
    ("S8", 4, 3, "user", None, None, "neutral"),
]


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    apply(engine, tmp_path, ENTITIES)
    add(engine, "account", [{"name": f"AC{i}"} for i in range(1, 5)])
    add(
        engine,
        "project",
        [
            {
                "name": "P1",
                "budget": 1000000,
                "decision_date": "2026-03-01",
                "scope": "ERP",
                "competitive_position": "leading",
            },
            {"name": "P2", "budget": 50000, "scope": "  "},
            {"name": "P3", "competitive_position": "behind"},
            {
                "name": "P4",
                "budget": 1,
                "decision_date": "2026-06-30",
                "scope": "CRM",
                "competitive_position": "even",
            },
        ],
    )
    add(
        engine,
        "stakeholder",
        [
            {
                k: v
                for k, v in zip(
                    ("name", "project", "account", "role", "influence", "strength", "relationship"),
                    p,
                    strict=True,
                )
                if v is not None
            }
            for p in PEOPLE
        ],
    )
    return engine


PROJECT_CONFIG: dict[str, Any] = {
    "checklist": {"fields": ["budget", "decision_date", "scope"], "weight": 30},
    "decision_tree": {
        "stakeholders": "stakeholder",
        "reference": "project",
        "role": "role",
        "key_roles": ["decision_maker", "technical", "user", "coach"],
        "strength": "strength",
        "strong": {"min": 4},
        "weight": 40,
    },
    "competition": {
        "field": "competitive_position",
        "points": {"leading": 100, "even": 60, "behind": 20},
        "default_points": 30,
        "weight": 30,
    },
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # P1: 30 × 3/3 + 40 × (1/2 × 4/4 roles + 1/2 × 3/4 strong) + 30 × 100% = 95
        # P2: 30 × 1/3 (a blank scope is not filled) + 40 × (1/2 × 1/4 + 1/2 × 1/2)
        #     + 30 × 30% (no position: default points) = 34
        # P3: 0 + 0 (no stakeholders) + 30 × 20% = 6
        # P4: 30 + 40 × (1/2 × 2/4 + 1/2 × 1/2) + 30 × 60% = 68
        ({}, {1: ("pursue", 95.0), 2: ("drop", 34.0), 3: ("drop", 6.0), 4: ("review", 68.0)}),
        # without "other" stakeholders P2 keeps one, not strong: 10 + 40 × 1/8 + 9 = 24
        (
            {
                "decision_tree": {
                    **PROJECT_CONFIG["decision_tree"],
                    "filter": {"!=": [{"var": "record.role"}, "other"]},
                }
            },
            {1: ("pursue", 95.0), 2: ("drop", 24.0), 3: ("drop", 6.0), 4: ("review", 68.0)},
        ),
        # strength by an enum, friendly or close: P1 3/4, P2 0/2 (10 + 5 + 9), P4 1/2
        (
            {
                "decision_tree": {
                    **PROJECT_CONFIG["decision_tree"],
                    "strength": "relationship",
                    "strong": {"values": ["friendly", "close"]},
                }
            },
            {1: ("pursue", 95.0), 2: ("drop", 24.0), 3: ("drop", 6.0), 4: ("review", 68.0)},
        ),
    ],
    ids=["default", "filter", "strength by enum"],
)
def test_project_evaluation(crm: CrmEngine, config: dict[str, Any], expected: dict[int, Any]) -> None:
    results = score(crm, PROJECT_EVALUATION, "project", {**PROJECT_CONFIG, **config})
    assert {i: (r.grade, round(r.value or 0, 6)) for i, r in results.items()} == expected


def test_project_evaluation_explains_itself(crm: CrmEngine) -> None:
    results = score(crm, PROJECT_EVALUATION, "project", PROJECT_CONFIG)
    assert factors(results[1]) == [
        ("checklist", 30.0),
        ("competition", 30.0),
        ("key_roles", 20.0),
        ("relationship_strength", 15.0),
    ]
    p2 = results[2]
    assert p2.extra["missing_fields"] == ["decision_date", "scope"]
    assert p2.extra["key_roles_missing"] == ["technical", "user", "coach"] and p2.extra["stakeholders"] == 2
    assert {f.name: f.detail for f in p2.factors}["checklist"] == "missing: decision_date, scope"
    assert {f.name: f.label.zh for f in p2.factors}["key_roles"] == "关键角色识别"


CLOSENESS: dict[str, Any] = {
    "contacts": "stakeholder",
    "reference": "account",
    "relationship": "relationship",
    "levels": {"hostile": 0, "neutral": 30, "friendly": 70, "close": 100},
    "role": "role",
    "role_weights": {"decision_maker": 3, "technical": 2, "coach": 2},
    "influence": "influence",
    "influence_weights": {"high": 2, "medium": 1.5, "low": 1},
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # weight = role weight (default 1) × influence weight (default 1)
        # AC1: (6 × 100 + 3 × 70 + 1 × 30 + 4 × 100) / 14 = 88.5714; AC2: hostile and unknown: 0
        # AC3: (4.5 × 70 + 1 × 30) / 5.5 = 62.7273; AC4: nobody known: 0
        ({}, {1: ("close", 88.5714), 2: ("none", 0.0), 3: ("good", 62.7273), 4: ("none", 0.0)}),
        # strength 1..5 as 0..100: AC1 (6 × 100 + 3 × 75 + 1 × 25 + 4 × 100) / 14,
        # AC2 (6 × 50 + 1 × 100) / 7, AC3 (4.5 × 75 + 1 × 0 (unknown)) / 5.5
        (
            {"levels": None, "relationship": "strength", "scale": {"min": 1, "max": 5}},
            {1: ("close", 89.2857), 2: ("good", 57.1429), 3: ("good", 61.3636), 4: ("none", 0.0)},
        ),
    ],
    ids=["enum levels", "numeric scale"],
)
def test_company_closeness(crm: CrmEngine, config: dict[str, Any], expected: dict[int, Any]) -> None:
    merged = {k: v for k, v in {**CLOSENESS, **config}.items() if v is not None}
    results = score(crm, RELATIONSHIP_CLOSENESS, "account", merged)
    assert {i: (r.grade, round(r.value or 0, 4)) for i, r in results.items()} == expected
    assert results[4].extra == {"people": 0, "weight": 0}


def test_company_closeness_factors_are_roles(crm: CrmEngine) -> None:
    result = score(crm, RELATIONSHIP_CLOSENESS, "account", CLOSENESS)[1]
    # each role's Σ weight × level over the account's Σ weight: 600, 400, 210, 30 over 14
    assert factors(result) == [
        ("decision_maker", round(600 / 14, 6)),
        ("coach", round(400 / 14, 6)),
        ("technical", 15.0),
        ("user", round(30 / 14, 6)),
    ]
    assert result.factors[0].label.zh == "决策者" and result.extra == {"people": 4, "weight": 14.0}


def test_individual_closeness(crm: CrmEngine) -> None:
    config = {k: v for k, v in CLOSENESS.items() if k not in ("contacts", "reference")} | {"level": "individual"}
    results = score(crm, RELATIONSHIP_CLOSENESS, "stakeholder", config)
    got = {i: (r.grade, r.value, r.extra["weight"]) for i, r in results.items()}
    assert got == {
        1: ("close", 100.0, 6.0),
        2: ("good", 70.0, 3.0),
        3: ("weak", 30.0, 1.0),
        4: ("close", 100.0, 4.0),
        5: ("none", 0.0, 6.0),
        6: ("none", 0.0, 1.0),
        7: ("good", 70.0, 4.5),
        8: ("weak", 30.0, 1.0),
    }


@pytest.mark.parametrize(
    ("scorer", "entity", "config", "pointer", "code"),
    [
        (
            PROJECT_EVALUATION,
            "project",
            {"checklist": {"fields": ["budget", "nope"]}},
            "/config/checklist/fields/1",
            "unknown_field",
        ),
        (
            PROJECT_EVALUATION,
            "project",
            {"decision_tree": {**PROJECT_CONFIG["decision_tree"], "strength": "relationship"}},
            "/config/decision_tree/strength",
            "wrong_field_type",
        ),
        (
            PROJECT_EVALUATION,
            "project",
            {"decision_tree": {**PROJECT_CONFIG["decision_tree"], "reference": "account"}},
            "/config/decision_tree/reference",
            "not_a_reference",
        ),
        (
            RELATIONSHIP_CLOSENESS,
            "account",
            {**CLOSENESS, "relationship": "strength"},
            "/config/relationship",
            "wrong_field_type",
        ),
        (
            RELATIONSHIP_CLOSENESS,
            "account",
            {**CLOSENESS, "contacts": "project"},
            "/config/reference",
            "unknown_field",
        ),
    ],
)
def test_configuration_errors(
    crm: CrmEngine, scorer: Any, entity: str, config: dict[str, Any], pointer: str, code: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        score(crm, scorer, entity, config)
    assert [(p.pointer, p.code) for p in caught.value.problems] == [(pointer, code)]
