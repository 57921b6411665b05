"""Safety: a rule reads only the data's keys and indices, runs no code, cannot loop forever or
exhaust memory, and any JSON rule on any data gives a value or a LogicError."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.logic
from engine.logic import (
    OPERATOR_NAMES,
    LimitExceededError,
    Limits,
    LogicError,
    compile_rule,
)
from engine.logic._codegen import check_source

BACKENDS = [pytest.param(True, id="generated"), pytest.param(False, id="closures")]
PACKAGE = Path(engine.logic.__file__).parent


class Record(dict[str, Any]):
    """A mapping with attributes a rule must not see."""

    secret = "attribute"

    @property
    def leak(self) -> str:
        raise AssertionError("a rule read an attribute")


class Opaque:
    secret = "attribute"


@pytest.mark.parametrize("generate_code", BACKENDS)
@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"var": "__class__"}, {}, None),
        ({"var": "secret"}, Record(a=1), None),
        ({"var": "leak"}, Record(a=1), None),
        ({"var": "a.secret"}, {"a": Opaque()}, None),
        ({"var": "a.__class__.__name__"}, {"a": Opaque()}, None),
        ({"var": "upper"}, "text", None),
        ({"var": "real"}, 5, None),
        ({"var": "0"}, "text", None),
        ({"var": "__len__"}, [1, 2], None),
        ({"val": ["__dict__"]}, Opaque(), None),
        ({"val": [["__class__"], "x"]}, {}, None),
        ({"exists": "secret"}, Record(), False),
        ({"missing": ["secret", "__class__"]}, Record(), ["secret", "__class__"]),
        ({"cat": ["__import__('os').system('true')", {"var": "x"}]}, {"x": "')"}, "__import__('os').system('true')')"),
        ({"==": [{"var": "x"}, '"); import os; ("']}, {"x": '"); import os; ("'}, True),
    ],
)
def test_rules_read_keys_and_indices_only(rule: Any, data: Any, expected: Any, generate_code: bool) -> None:
    assert compile_rule(rule, generate_code=generate_code).evaluate(data) == expected


def test_package_calls_no_dynamic_code_but_its_one_checked_exec() -> None:
    forbidden = {"eval", "exec", "compile", "getattr", "setattr", "delattr", "__import__", "globals", "vars", "open"}
    calls = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in forbidden:
                calls.append((path.name, node.func.id))
    assert sorted(calls) == [("_codegen.py", "compile"), ("_codegen.py", "exec")]


@pytest.mark.parametrize(
    "source",
    [
        "def _factory():\n    return 'text'\n",
        "def _factory():\n    return 1\n",
        "def _factory():\n    return open\n",
        "def _factory():\n    return data.__class__\n",
    ],
)
def test_generated_code_may_hold_no_literal_and_no_foreign_name(source: str) -> None:
    with pytest.raises(AssertionError):
        check_source(source)


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (_deep_list(65), "rule_too_deep"),
        (list(range(10_001)), "rule_too_large"),
        (["x" * 600_000, "y" * 600_000], "rule_too_large"),
    ],
)
def test_rules_are_bounded_in_depth_and_size(rule: Any, code: str) -> None:
    with pytest.raises(LogicError) as caught:
        compile_rule(rule)
    assert [p.code for p in caught.value.problems] == [code]


def test_a_million_levels_deep_is_reported_not_a_crash() -> None:
    rule: Any = True
    for _ in range(1_000_000):
        rule = {"!": [rule]}
    with pytest.raises(LogicError) as caught:
        compile_rule(rule)
    (problem,) = caught.value.problems
    assert problem.code == "rule_too_deep"
    assert problem.pointer is not None and problem.pointer.startswith("/!/0/!/0")


def test_deepest_allowed_rule_compiles_and_runs() -> None:
    rule: Any = {"var": "x"}
    for _ in range(31):  # each level is an operation and its argument array
        rule = {"!": [rule]}
    for generate_code in (True, False):
        # 31 negations of a falsy value
        assert compile_rule(rule, generate_code=generate_code).evaluate({"x": 0}) is True


@pytest.mark.parametrize("generate_code", BACKENDS)
@pytest.mark.parametrize(
    ("rule", "data", "code", "limits"),
    [
        # nested iterators are bounded by the step budget
        (
            {"map": [{"var": "rows"}, {"map": [{"var": ""}, 1]}]},
            {"rows": [list(range(2000))] * 2000},
            "max_steps",
            Limits(),
        ),
        (
            {"some": [{"var": "rows"}, {"some": [{"var": ""}, False]}]},
            {"rows": [list(range(2000))] * 2000},
            "max_steps",
            Limits(),
        ),
        (
            {"map": [{"var": "rows"}, {"val": [[2], "rows"]}]},
            {"rows": list(range(20))},
            "max_steps",
            Limits(max_steps=10),
        ),
        (
            {"filter": [{"var": "rows"}, {"in": [{"var": ""}, {"val": [[2], "rows"]}]}]},
            {"rows": list(range(5000))},
            "max_steps",
            Limits(),
        ),
        # what a rule builds is bounded, however it doubles it
        (
            {"reduce": [{"var": "rows"}, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "ab"]},
            {"rows": list(range(40))},
            "max_string_length",
            Limits(),
        ),
        (
            {"reduce": [{"var": "rows"}, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]},
            {"rows": list(range(40))},
            "max_array_length",
            Limits(),
        ),
        ({"cat": [{"var": "deep"}]}, {"deep": _deep_list(1000)}, "max_depth", Limits()),
        # and so is all it builds together, loop or no loop
        ([{"cat": [{"var": "x"}, {"var": "x"}]}] * 40, {"x": "a" * 400_000}, "max_steps", Limits()),
        ([{"substr": [{"var": "x"}, 1]}] * 40, {"x": "a" * 1_000_000}, "max_steps", Limits()),
        ([{"merge": [{"var": "x"}, {"var": "x"}]}] * 40, {"x": list(range(50_000))}, "max_steps", Limits()),
        # and try cannot catch running out
        (
            {"try": [{"map": [{"var": "rows"}, 1]}, "caught"]},
            {"rows": list(range(20))},
            "max_steps",
            Limits(max_steps=10),
        ),
    ],
)
def test_evaluation_is_bounded(rule: Any, data: Any, code: str, limits: Limits, generate_code: bool) -> None:
    compiled = compile_rule(rule, limits=limits, generate_code=generate_code)
    with pytest.raises(LimitExceededError) as caught:
        compiled.evaluate(data)
    assert [p.code for p in caught.value.problems] == [code]


@pytest.mark.parametrize("generate_code", BACKENDS)
def test_in_stops_building_a_needle_longer_than_the_text(generate_code: bool) -> None:
    rule = compile_rule({"in": [{"var": "big"}, "x,x"]}, generate_code=generate_code)
    assert rule.evaluate({"big": ["x"] * 1_000_000}) is False
    assert rule.evaluate({"big": ["x", "x"]}) is True


def test_growing_integers_turn_into_floats_then_fail_cleanly() -> None:
    rule = {"reduce": [{"var": "rows"}, {"*": [{"var": "accumulator"}, {"var": "current"}]}, 1]}
    with pytest.raises(LogicError):
        compile_rule(rule).evaluate({"rows": [10**18] * 1000})


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["", "0", "1", "1e3", "a.b", "2026-01-01", "Infinity", "0x1f"]),
)
rules = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.builds(
            lambda op, args: {op: args},
            st.sampled_from([*sorted(OPERATOR_NAMES), "bogus"]),
            st.one_of(st.lists(children, max_size=4), children),
        ),
        st.builds(lambda path: {"var": path}, st.sampled_from(["", "a", "a.b", "0", "a.0"])),
        st.dictionaries(st.text(max_size=3), children, max_size=2),
    ),
    max_leaves=25,
)
data_values = st.recursive(
    st.one_of(
        json_scalars,
        st.decimals(allow_nan=False, allow_infinity=False, places=2),
        st.dates(),
        st.datetimes(timezones=st.sampled_from([None, UTC])),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "0", "x"]), children, max_size=4),
    ),
    max_leaves=15,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules, data=data_values)
def test_any_json_rule_on_any_data_gives_a_value_or_a_logic_error(rule: Any, data: Any) -> None:
    outcomes = []
    for generate_code in (True, False):
        try:
            compiled = compile_rule(rule, generate_code=generate_code)
        except LogicError as error:
            outcomes.append(("invalid", tuple(p.code for p in error.problems)))
            continue
        try:
            outcomes.append(("value", repr(compiled.evaluate(data))))
        except LogicError as error:
            outcomes.append(("error", error.code, tuple((p.code, p.pointer) for p in error.problems)))
    # both backends agree, value for value and error for error
    assert outcomes[0] == outcomes[1]


def test_fuzz_data_kinds_cover_records() -> None:
    # Decimal, date and datetime are what records hold beyond JSON
    rule = compile_rule({"cat": [{"var": "a"}, {"var": "b"}, {"var": "c"}]})
    assert rule.evaluate({"a": Decimal("1.50"), "b": date(2026, 1, 2), "c": datetime(2026, 1, 2, 3, 4, 5)}) == (
        "1.502026-01-022026-01-02T03:04:05+00:00"
    )
