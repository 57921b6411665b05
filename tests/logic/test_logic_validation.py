"""Compile-time checks: problems with codes and pointers inside the rule, and the variables a
rule reads (for "unknown field in a guard" checks)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import CrmError
from engine.logic import OPERATOR_NAMES, LogicError, compile_rule, validate_rule


@pytest.mark.parametrize(
    ("rule", "problems"),
    [
        ({"and": [True, {"bogus": 1}]}, [("unknown_operator", "/and/1")]),
        ({"AND": [True]}, [("unknown_operator", "")]),
        ({"/": [1, {"bogus": 1}]}, [("unknown_operator", "/~1/1")]),
        ({"if": [True, {"a~b": 1}]}, [("unknown_operator", "/if/1")]),
        ({"and": [{"bogus": 1}, {"if": 5}]}, [("unknown_operator", "/and/0"), ("invalid_arguments", "/and/1/if")]),
        ({"a": 1, "b": 2}, [("invalid_operation", "")]),
        ({"if": "apple"}, [("invalid_arguments", "/if")]),
        ({"or": {"var": "x"}}, [("invalid_arguments", "/or")]),
        ({"==": [1]}, [("invalid_arguments", "/==")]),
        ({"<": 5}, [("invalid_arguments", "/<")]),
        ({"-": []}, [("invalid_arguments", "/-")]),
        ({"/": []}, [("invalid_arguments", "/~1")]),
        ({"%": [1]}, [("invalid_arguments", "/%")]),
        ({"max": []}, [("invalid_arguments", "/max")]),
        ({"var": ["a", 1, 2]}, [("invalid_arguments", "/var")]),
        ({"in": ["a"]}, [("invalid_arguments", "/in")]),
        ({"substr": []}, [("invalid_arguments", "/substr")]),
        ({"missing_some": [1]}, [("invalid_arguments", "/missing_some")]),
        ({"try": []}, [("invalid_arguments", "/try")]),
        ({"map": [{"var": "x"}]}, [("invalid_arguments", "/map")]),
        ({"map": [None, {"var": ""}]}, [("invalid_arguments", "/map/0")]),
        ({"map": [{"var": "x"}, None]}, [("invalid_arguments", "/map/1")]),
        ({"all": ["abc", True]}, [("invalid_arguments", "/all/0")]),
        ({"reduce": [[1], {"var": "current"}, 0, 1]}, [("invalid_arguments", "/reduce")]),
        ({"==": [1, float("nan")]}, [("invalid_value", "/==/1")]),
        ({"==": [1, {1, 2}]}, [("invalid_value", "/==/1")]),
        ({"preserve": {1: "a"}}, [("invalid_value", "/preserve")]),
    ],
)
def test_problems_point_into_the_rule(rule: Any, problems: list[tuple[str, str]]) -> None:
    found = validate_rule(rule)
    assert [(p.code, p.pointer) for p in found] == problems
    assert all(p.message for p in found)
    with pytest.raises(LogicError) as caught:
        compile_rule(rule)
    assert caught.value.code == "invalid_rule"
    assert [(p.code, p.pointer) for p in caught.value.problems] == problems


def test_logic_error_is_a_crm_error_with_json() -> None:
    with pytest.raises(CrmError) as caught:
        compile_rule({"and": [{"cat": "x"}, {"bogus": []}]})
    body = caught.value.to_json()
    assert body["code"] == "invalid_rule"
    assert body["problems"] == [
        {"code": "unknown_operator", "message": body["problems"][0]["message"], "pointer": "/and/1"}
    ]


def test_unknown_operator_suggests_the_operator_meant() -> None:
    (problem,) = validate_rule({"AND": [True]})
    assert "'and'" in problem.message
    (problem,) = validate_rule({"missng": ["a"]})
    assert "'missing'" in problem.message


@pytest.mark.parametrize(
    "rule",
    [
        True,
        None,
        [1, {"var": "x"}],
        {},
        {"preserve": {"any": "object", "even": {"var": "x"}}},
        {"if": []},
        {"and": []},
        {"var": []},
        {"val": None},
        {"<=": [0, {"var": "x"}, 10]},
        {"try": {"throw": "x"}},
        *({op: []} for op in ("cat", "merge", "+", "*", "??", "missing", "!", "!!")),
    ],
)
def test_valid_rules_have_no_problems(rule: Any) -> None:
    assert validate_rule(rule) == []


def test_every_documented_operator_is_allowed() -> None:
    assert {
        "var",
        "val",
        "exists",
        "missing",
        "missing_some",
        "preserve",
        "if",
        "?:",
        "and",
        "or",
        "!",
        "!!",
        "??",
        "throw",
        "try",
        "log",
        "==",
        "!=",
        "===",
        "!==",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "max",
        "min",
        "map",
        "filter",
        "reduce",
        "all",
        "some",
        "none",
        "cat",
        "substr",
        "in",
        "merge",
    } == OPERATOR_NAMES


@pytest.mark.parametrize(
    ("rule", "variables"),
    [
        ({"<=": [{"var": "record.amount"}, 1000]}, {"record.amount"}),
        ({"and": [{"var": "a"}, {"var": ["b.c", 1]}, {"var": 0}]}, {"a", "b.c", "0"}),
        ({"val": ["record", "stage"]}, {"record.stage"}),
        ({"exists": ["record", "lost_reason"]}, {"record.lost_reason"}),
        ({"missing": ["record.name", "record.amount"]}, {"record.name", "record.amount"}),
        ({"missing": [["a", "b"]]}, {"a", "b"}),
        ({"missing_some": [1, ["phone", "email"]]}, {"phone", "email"}),
        ({"map": [{"var": "record.lines"}, {"var": "qty"}]}, {"record.lines"}),
        (
            {"filter": [{"var": "people"}, {"==": [{"var": "dept"}, {"val": [[2], "team", "dept"]}]}]},
            {"people", "team.dept"},
        ),
        ({"try": [{"var": "a"}, {"var": "type"}]}, {"a"}),
        ({"var": {"cat": ["record.", "amount"]}}, set()),
        ({"var": ""}, set()),
        ({"+": [1, 2]}, set()),
    ],
)
def test_variables_are_the_paths_read_from_the_data(rule: Any, variables: set[str]) -> None:
    assert compile_rule(rule).variables == variables
