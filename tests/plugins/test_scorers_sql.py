"""Rules as SQL: ``condition_sql`` and ``weighted_rules_sql`` mean what the rules mean.

Every compilable rule is run both ways over rows full of edge values (null, 0, "", negative,
boundaries) on SQLite and PostgreSQL, and the matching ids must be the same: the
evaluator in ``engine.logic`` is the reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.logic import compile_rule
from engine.runtime import CrmEngine
from engine.scoring import ScoringSpec
from plugins.scorers import WEIGHTED_RULES, condition_sql, weighted_rules_sql
from tests.plugins.scoring_support import add, apply, score

ENTITIES = {
    "item": {
        "fields": {
            "n": {"type": "integer"},
            "d": {"type": "decimal", "precision": 10, "scale": 2},
            "s": {"type": "string"},
            "e": {"type": "enum", "choices": ["a", "b", "1"]},
            "b": {"type": "boolean"},
            "day": {"type": "date"},
            "at": {"type": "datetime"},
            "tags": {"type": "multi_enum", "choices": ["x", "y"]},
            "score": {"type": "decimal", "precision": 8, "scale": 2},
        }
    }
}
ROWS = [
    {},
    {
        "n": 0,
        "d": "0",
        "s": "",
        "e": "a",
        "b": False,
        "day": "2024-01-01",
        "at": "2024-01-01T00:00:00Z",
    },
    {
        "n": 5,
        "d": "0.10",
        "s": "abc",
        "e": "b",
        "b": True,
        "day": "2024-02-29",
        "at": "2024-03-01T09:30:00+02:00",
    },
    {
        "n": -3,
        "d": "-7.25",
        "s": "0",
        "e": "1",
        "b": True,
        "day": "2023-12-31",
        "at": "2023-12-31T23:59:59Z",
    },
    {"n": 100, "d": "100.00", "s": "b", "day": "2024-01-02", "tags": ["x"]},
]

COMPILABLE: list[Any] = [
    {"==": [{"var": "record.n"}, 0]},
    {"==": [{"var": "record.n"}, 5]},
    {"!=": [{"var": "record.n"}, 0]},
    {"!=": [{"var": "record.n"}, 5]},
    {"<": [{"var": "record.n"}, 1]},
    {"<=": [{"var": "record.d"}, 0.1]},
    {">": [{"var": "record.d"}, -1]},
    {">=": [{"var": "record.n"}, 100]},
    {">": [10, {"var": "record.n"}]},
    {"<": [0, {"var": "record.n"}, 50]},
    {"<=": [-3, {"var": "record.n"}, 5]},
    {"==": [{"var": "record.d"}, 0.1]},
    {"==": [{"var": "record.s"}, ""]},
    {"==": [{"var": "record.s"}, "abc"]},
    {"!=": [{"var": "record.s"}, "abc"]},
    {"==": [{"var": "record.s"}, "0"]},
    {"==": [{"var": "record.e"}, "1"]},
    {"!=": [{"var": "record.e"}, "a"]},
    {"in": [{"var": "record.e"}, ["a", "1"]]},
    {"in": [{"var": "record.n"}, [0, 5, 7]]},
    {"==": [{"var": "record.b"}, True]},
    {"==": [{"var": "record.b"}, False]},
    {"!=": [{"var": "record.b"}, True]},
    {"<": [{"var": "record.day"}, "2024-01-02"]},
    {">=": [{"var": "record.day"}, "2024-01-02"]},
    {"==": [{"var": "record.day"}, "2024-02-29"]},
    {"!=": [{"var": "record.day"}, "2024-02-29"]},
    {"<": [{"var": "record.at"}, "2024-01-01"]},
    {">": [{"var": "record.at"}, "2024-03-01T07:00:00Z"]},
    {"<=": [{"var": "record.at"}, "2024-03-01T07:30:00Z"]},
    {"var": "record.n"},
    {"var": ["record.s"]},
    {"!!": [{"var": "record.b"}]},
    {"!": {"var": "record.day"}},
    {"!": [{"==": [{"var": "record.s"}, "abc"]}]},
    {"and": [{">": [{"var": "record.n"}, 0]}, {"!": [{"var": "record.b"}]}]},
    {"or": [{"==": [{"var": "record.e"}, "b"]}, {"<": [{"var": "record.d"}, 0]}]},
    {
        "or": [
            {"var": "record.s"},
            {"and": [{"var": "record.n"}, {"!=": [{"var": "record.e"}, "a"]}]},
        ]
    },
    True,
    False,
    {"==": [1, 1]},
    {"and": [True, {"==": [{"var": "record.n"}, 5]}]},
]

NOT_COMPILABLE: list[Any] = [
    {"==": [{"var": "record.n"}, "5"]},  # a number against a text converts
    {"<": [{"var": "record.s"}, "b"]},  # text order depends on the collation
    {">": [{"var": "record.at"}, {"var": "now"}]},
    {">": [{"+": [{"var": "record.n"}, 1]}, 2]},
    {"var": "record.tags"},
    {"in": ["x", {"var": "record.tags"}]},
    {"in": ["b", {"var": "record.s"}]},
    {"var": ["record.n", 5]},
    {"==": [{"var": "record.n"}, {"var": "record.d"}]},
    {"==": [{"var": "record.missing"}, 1]},
    {"==": [{"var": "record.day"}, "2024-01-01T00:00:00Z"]},
    {"==": [{"var": "record.n"}, None]},
    {"some": [{"var": "record.tags"}, {"==": [{"var": ""}, "x"]}]},
]


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    apply(engine, tmp_path, ENTITIES)
    add(engine, "item", ROWS)
    return engine


def _records(crm: CrmEngine) -> list[dict[str, Any]]:
    table = crm.model.table("item")
    with crm.db.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def test_compilable_rules_select_what_the_evaluator_matches(crm: CrmEngine) -> None:
    table = crm.model.table("item")
    records = _records(crm)
    disagreements = []
    with crm.db.read() as conn:
        for rule in COMPILABLE:
            condition = condition_sql(rule, table)
            assert condition is not None, rule
            in_sql = sorted(conn.execute(sa.select(table.c.id).where(condition)).scalars())
            in_python = [r["id"] for r in records if compile_rule(rule).matches({"record": r})]
            if in_sql != in_python:
                disagreements.append((rule, in_sql, in_python))
    assert disagreements == []


@pytest.mark.parametrize("rule", NOT_COMPILABLE, ids=[str(i) for i in range(len(NOT_COMPILABLE))])
def test_rules_outside_the_subset_do_not_compile(crm: CrmEngine, rule: Any) -> None:
    assert condition_sql(rule, crm.model.table("item")) is None


CONFIGS: list[tuple[str, dict[str, Any]]] = [
    (
        "points",
        {
            "rules": [
                {"when": {">": [{"var": "record.n"}, 0]}, "points": 30},
                {"when": {"in": [{"var": "record.e"}, ["b", "1"]]}, "points": 25.5},
                {"when": {"!": [{"var": "record.b"}]}, "points": -10},
                {"when": True, "points": 5},
            ]
        },
    ),
    # 60 + 60 + 5 = 125 is capped at 100; -10 + 5 at 0
    (
        "capped",
        {
            "rules": [
                {"when": {"==": [{"var": "record.b"}, True]}, "points": 60},
                {"when": {"<": [{"var": "record.day"}, "2024-01-02"]}, "points": 60},
                {"when": {"==": [{"var": "record.s"}, ""]}, "points": -15},
                {"when": True, "points": 5},
            ]
        },
    ),
    (
        "custom cap",
        {
            "cap": {"min": -5, "max": 40},
            "rules": [
                {"when": {"var": "record.s"}, "points": 70},
                {"when": {"!": [{"var": "record.s"}]}, "points": -70},
            ],
        },
    ),
    ("no cap", {"cap": None, "rules": [{"when": {">=": [{"var": "record.d"}, 0]}, "points": 150}]}),
]


@pytest.mark.parametrize(("config"), [c for _, c in CONFIGS], ids=[n for n, _ in CONFIGS])
def test_weighted_rules_sql_gives_the_scores_of_score_batch(crm: CrmEngine, config: dict[str, Any]) -> None:
    table = crm.model.table("item")
    expression = weighted_rules_sql(ScoringSpec("s", "item", "weighted_rules", config), table)
    assert expression is not None
    with crm.db.read() as conn:
        in_sql = {int(i): float(v) for i, v in conn.execute(sa.select(table.c.id, expression))}
    in_python = {i: r.value for i, r in score(crm, WEIGHTED_RULES, "item", config).items()}
    assert in_sql == pytest.approx(in_python)


def test_weighted_rules_compile_to_one_update(crm: CrmEngine) -> None:
    """What a set-based run does for a million rows: ``UPDATE item SET score = <CASE>, ...``."""
    config = {**CONFIGS[0][1], "grades": [{"grade": "A", "min": 50}, {"grade": "B", "min": 20}]}
    table = crm.model.table("item")
    assert WEIGHTED_RULES.compile_sql is not None
    compiled = WEIGHTED_RULES.compile_sql(ScoringSpec("s", "item", "weighted_rules", config), table)
    assert compiled is not None
    value, grade = compiled
    assert grade is not None
    with crm.db.write() as conn:
        conn.execute(table.update().values(score=value, s=grade))
        stored = {int(i): (float(v), g) for i, v, g in conn.execute(sa.select(table.c.id, table.c.score, table.c.s))}
    expected = {i: (r.value, r.grade) for i, r in score(crm, WEIGHTED_RULES, "item", config).items()}
    assert stored == expected
    assert {g for _v, g in stored.values()} == {"A", "B", None}


@pytest.mark.parametrize(
    "config",
    [
        {"rules": [{"when": {">": [{"var": "now"}, "2024-01-01"]}, "points": 1}]},
        {
            "rules": [{"when": {"==": [{"var": "record.n"}, 1]}, "points": 1}],
            "decay": {"field": "at", "half_life_days": 30},
        },
    ],
    ids=["reads now", "decay"],
)
def test_weighted_rules_sql_is_none_when_it_cannot_be_exact(crm: CrmEngine, config: dict[str, Any]) -> None:
    assert weighted_rules_sql(ScoringSpec("s", "item", "weighted_rules", config), crm.model.table("item")) is None
