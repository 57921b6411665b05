"""Conformance with the JSON Logic test suites, for both backends (generated code, closures).

The reference suite (tests.json, 277 cases) must pass entirely. The compatibility suites
(compat-suites/, 48 files, 1,138 cases) are counted: the test fails when fewer pass than
the engine reached when docs/conditions.md was written (all of them).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.logic import EvaluationError, LogicError, compile_rule

SUITES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "jsonlogic"
REFERENCE = SUITES / "tests.json"
COMPAT = SUITES / "compat-suites"
#: Compatibility cases passing when docs/conditions.md was last updated.
COMPAT_PASSING = 1138

BACKENDS = [pytest.param(True, id="generated"), pytest.param(False, id="closures")]


def same(actual: Any, expected: Any) -> bool:
    """JSON equality that, unlike ``==``, tells ``true`` from ``1`` and ``1`` from ``[1]``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if expected is None:
        return actual is None
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float, Decimal)) and math.isclose(actual, expected)
    if isinstance(expected, str):
        return actual == expected
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same(actual[k], expected[k]) for k in expected)
        )
    raise AssertionError(f"not a JSON value: {expected!r}")


def reference_cases() -> list[Any]:
    if not REFERENCE.exists():
        return [
            pytest.param(
                None, None, None, marks=pytest.mark.skip(reason=f"{REFERENCE} is absent (the shared JSON Logic suites)")
            )
        ]
    cases = [case for case in json.loads(REFERENCE.read_text()) if not isinstance(case, str)]
    return [
        pytest.param(rule, data, expected, id=f"{i}:{json.dumps(rule)[:60]}")
        for i, (rule, data, expected) in enumerate(cases)
    ]


@pytest.mark.parametrize("generate_code", BACKENDS)
@pytest.mark.parametrize(("rule", "data", "expected"), reference_cases())
def test_reference_suite(rule: Any, data: Any, expected: Any, generate_code: bool) -> None:
    result = compile_rule(rule, generate_code=generate_code).evaluate(data)
    assert same(result, expected), f"{result!r} != {expected!r}"


def run_compat_case(case: dict[str, Any], generate_code: bool) -> bool:
    """Whether one compatibility case passes: its result, or an error where one is expected
    (compile-time ``invalid_arguments`` for "Invalid Arguments", else the same type)."""
    expected_error = case.get("error")
    try:
        compiled = compile_rule(case["rule"], generate_code=generate_code)
    except LogicError as error:
        codes = {problem.code for problem in error.problems}
        return expected_error is not None and (
            expected_error.get("type") != "Invalid Arguments" or "invalid_arguments" in codes
        )
    try:
        result = compiled.evaluate(case.get("data"))
    except EvaluationError as error:
        return expected_error is not None and error.error_type == expected_error.get("type")
    return expected_error is None and same(result, case["result"])


@pytest.mark.skipif(not COMPAT.exists(), reason=f"{COMPAT} is absent (the shared suites)")
@pytest.mark.parametrize("generate_code", BACKENDS)
def test_compatibility_suites(generate_code: bool) -> None:
    failures = []
    total = 0
    for name in json.loads((COMPAT / "index.json").read_text()):
        for case in json.loads((COMPAT / name).read_text()):
            if isinstance(case, str):
                continue
            total += 1
            if not run_compat_case(case, generate_code):
                failures.append(f"{name}: {case.get('description')}: {json.dumps(case['rule'])}")
    assert total == 1138
    assert total - len(failures) >= COMPAT_PASSING, "\n".join(failures)
