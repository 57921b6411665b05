"""The scorers as plugins: registration, names, and configuration schemas that reject
what they should (JSON Schema 2020-12, strict objects) with the pointer of the mistake."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

import plugins.builtin
from engine.hooks import DEFAULT_PLUGINS, make_plugins
from engine.scoring import Scorer
from plugins.scorers import BUILTIN_SCORERS

NAMES = [
    "weighted_rules",
    "lead_grade",
    "rfm",
    "customer_tier",
    "project_evaluation",
    "relationship_closeness",
    "key_account_value",
    "predictive",
]
BY_NAME = {s.name: s for s in BUILTIN_SCORERS}
RULE = {">=": [{"var": "record.budget"}, 100000]}

#: A valid, typical configuration of each scorer (docs/scorers.md shows the same ones).
EXAMPLES: dict[str, dict[str, Any]] = {
    "weighted_rules": {
        "rules": [{"when": RULE, "points": 40, "reason": {"en": "Big budget", "zh": "预算大"}}],
        "grades": [{"grade": "A", "min": 80}, {"grade": "B", "min": 50}],
        "decay": {"field": "last_activity_at", "half_life_days": 30},
    },
    "lead_grade": {
        "fit": {"rules": [{"when": RULE, "points": 40}]},
        "engagement": {"activities": "activity", "reference": "lead", "date": "occurred_at"},
    },
    "rfm": {
        "transactions": "invoice_line",
        "customer": "customer",
        "date": "invoice_date",
        "order": "invoice_no",
        "quantity": "quantity",
        "price": "unit_price",
        "method": "rank",
        "segments": [{"name": "champions", "when": {">=": [{"var": "r"}, 4]}}],
    },
    "customer_tier": {
        "criteria": [
            {
                "name": "position",
                "field": "industry_position",
                "points": {"leader": 100},
                "weight": 30,
            },
            {"name": "growth", "field": "growth_rate", "range": {"min": 0, "max": 0.5}},
        ]
    },
    "project_evaluation": {
        "checklist": {"fields": ["budget"]},
        "decision_tree": {
            "stakeholders": "stakeholder",
            "reference": "project",
            "role": "role",
            "key_roles": ["decision_maker"],
            "strength": "strength",
            "strong": {"min": 4},
        },
    },
    "relationship_closeness": {
        "contacts": "contact",
        "reference": "account",
        "relationship": "relationship",
        "levels": {"close": 100, "neutral": 30},
    },
    "key_account_value": {
        "indicators": [
            {
                "name": "consumption",
                "aggregate": {
                    "function": "sum",
                    "entity": "consumption",
                    "reference": "account",
                    "field": "amount",
                },
            }
        ],
        "normalization": "zscore",
    },
    "predictive": {
        "outcome": "stage",
        "positive": ["won"],
        "features": ["source", {"field": "amount", "bins": 5}],
    },
}

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("weighted_rules", {}, ""),
    ("weighted_rules", {"rules": []}, "/rules"),
    ("weighted_rules", {"rules": [{"when": RULE}]}, "/rules/0"),
    ("weighted_rules", {"rules": [{"when": RULE, "points": "10"}]}, "/rules/0/points"),
    ("weighted_rules", {"rules": [{"when": RULE, "points": 1, "weight": 2}]}, "/rules/0"),
    (
        "weighted_rules",
        {"rules": [{"when": RULE, "points": 1}], "grades": [{"grade": "A"}]},
        "/grades/0",
    ),
    (
        "weighted_rules",
        {"rules": [{"when": RULE, "points": 1}], "decay": {"field": "at", "half_life_days": 0}},
        "/decay/half_life_days",
    ),
    ("weighted_rules", {"rules": [{"when": RULE, "points": 1}], "cap": {"low": 0}}, "/cap"),
    ("lead_grade", {"fit": {"rules": [{"when": RULE, "points": 1}]}}, ""),
    ("lead_grade", {**EXAMPLES["lead_grade"], "weights": {"fit": -1}}, "/weights/fit"),
    ("rfm", {**EXAMPLES["rfm"], "amount": "amount"}, ""),  # amount or quantity × price, not both
    ("rfm", {k: v for k, v in EXAMPLES["rfm"].items() if k != "price"}, ""),
    ("rfm", {**EXAMPLES["rfm"], "method": "median"}, "/method"),
    ("rfm", {**EXAMPLES["rfm"], "bins": 1}, "/bins"),
    ("rfm", {**EXAMPLES["rfm"], "customer": "Customer"}, "/customer"),
    ("rfm", {**EXAMPLES["rfm"], "recency": {"thresholds": [1, 2], "bins": 3}}, "/recency"),
    ("customer_tier", {"criteria": [{"name": "x"}]}, "/criteria/0"),
    (
        "customer_tier",
        {"criteria": [{"name": "x", "field": "a", "points": {"a": 120}}]},
        "/criteria/0/points/a",
    ),
    (
        "customer_tier",
        {"criteria": [{"name": "x", "field": "a"}], "tiers": [{"grade": "S", "min": 80}]},
        "/tiers/0",
    ),
    ("project_evaluation", {}, ""),
    (
        "project_evaluation",
        {
            "decision_tree": {
                **EXAMPLES["project_evaluation"]["decision_tree"],
                "strong": {"min": "4"},
            }
        },
        "/decision_tree/strong",
    ),
    (
        "project_evaluation",
        {"decision_tree": {k: v for k, v in EXAMPLES["project_evaluation"]["decision_tree"].items() if k != "strong"}},
        "/decision_tree",
    ),
    (
        "relationship_closeness",
        {"relationship": "r", "levels": {"a": 1}},
        "",
    ),  # company level needs contacts
    (
        "relationship_closeness",
        {**EXAMPLES["relationship_closeness"], "scale": {"min": 1, "max": 5}},
        "",
    ),
    (
        "relationship_closeness",
        {"level": "individual", "contacts": "c", "relationship": "r", "levels": {"a": 1}},
        "",
    ),
    (
        "key_account_value",
        {
            "indicators": [
                {
                    "name": "x",
                    "field": "a",
                    "aggregate": {"function": "count", "entity": "e", "reference": "r"},
                }
            ]
        },
        "/indicators/0",
    ),
    (
        "key_account_value",
        {
            **EXAMPLES["key_account_value"],
            "grades": [{"grade": "A", "min": 1}],
            "rank_grades": [{"grade": "top", "max_rank": 1}],
        },
        "",
    ),
    (
        "key_account_value",
        {"indicators": [{"name": "x", "aggregate": {"function": "median", "entity": "e", "reference": "r"}}]},
        "/indicators/0/aggregate/function",
    ),
    ("predictive", {"outcome": "stage", "positive": [], "features": ["a"]}, "/positive"),
    (
        "predictive",
        {
            "outcome": "stage",
            "positive": ["won"],
            "features": [{"aggregate": {"function": "count", "entity": "e", "reference": "r"}}],
        },
        "/features/0",
    ),
    ("predictive", {**EXAMPLES["predictive"], "holdout": 1}, "/holdout"),
    ("predictive", {**EXAMPLES["predictive"], "smoothing": 0}, "/smoothing"),
]


def test_the_builtin_plugin_registers_the_eight_scorers() -> None:
    assert plugins.builtin in DEFAULT_PLUGINS
    manager = make_plugins(entry_points=False)
    offered = [s for found in manager.hook.crm_register_scorers() for s in found or ()]
    assert [s.name for s in offered if s in BUILTIN_SCORERS] == NAMES
    assert plugins.builtin.crm_register_scorers() == list(BUILTIN_SCORERS)
    assert all(isinstance(s, Scorer) and s.label.en and s.label.zh and s.description for s in BUILTIN_SCORERS)


@pytest.mark.parametrize("scorer", BUILTIN_SCORERS, ids=NAMES)
def test_schemas_are_valid_2020_12_and_strict(scorer: Scorer) -> None:
    Draft202012Validator.check_schema(scorer.config_schema)
    assert scorer.config_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(scorer.config_schema)
    assert Draft202012Validator(scorer.config_schema).is_valid(EXAMPLES[scorer.name])


@pytest.mark.parametrize(("name", "config", "pointer"), BAD, ids=[f"{n}-{i}" for i, (n, _c, _p) in enumerate(BAD)])
def test_schemas_reject_bad_configurations(name: str, config: dict[str, Any], pointer: str) -> None:
    errors = list(Draft202012Validator(BY_NAME[name].config_schema).iter_errors(config))
    assert errors, "accepted"
    assert pointer in {"".join(f"/{part}" for part in e.absolute_path) for e in errors}
