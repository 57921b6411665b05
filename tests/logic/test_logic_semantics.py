"""What rules mean on the engine's data: JSON Logic's coercions, records' decimals and dates,
nulls, scopes, errors. Every case runs on both backends (generated code and closures)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.logic import NAN, EvaluationError, LogicError, compile_rule, evaluate, truthy

BACKENDS = [pytest.param(True, id="generated"), pytest.param(False, id="closures")]

RECORD = {
    "record": {
        "amount": Decimal("250000.00"),
        "discount": Decimal("0.10"),
        "stage": "negotiation",
        "owner": "alice",
        "name": "Acme renewal",
        "phone": "",
        "probability": 0,
        "closed": False,
        "lost_reason": None,
        "close_date": date(2026, 12, 31),
        "created_at": datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        "lines": [
            {"sku": "A", "qty": 2, "price": Decimal("10.50")},
            {"sku": "B", "qty": 150, "price": Decimal("1.25")},
        ],
        "tags": ("vip", "renewal"),
    },
    "changes": {"stage": "lost"},
    "inputs": {"lost_reason": "price"},
    "user": {"name": "alice", "roles": ["sales", "sales_manager"], "team": "emea"},
    "now": "2026-11-23T10:00:00+00:00",
}


def run(rule: Any, data: Any, generate_code: bool) -> Any:
    return compile_rule(rule, generate_code=generate_code).evaluate(data)


def same(actual: Any, expected: Any) -> bool:
    """Equal and of the same JSON kind (``True`` is not ``1``, ``Decimal`` is a number)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected


@pytest.mark.parametrize("generate_code", BACKENDS)
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # truthiness as JSON Logic has it: "0" and {} are true, [] is false
        ({"!!": ["0"]}, True),
        ({"!!": [[]]}, False),
        ({"!!": [{"preserve": {}}]}, True),
        ({"!!": [{"var": "record.probability"}]}, False),
        ({"!!": [{"var": "record.discount"}]}, True),
        ({"!!": [{"var": "record.close_date"}]}, True),
        ({"!!": [{"var": "record.tags"}]}, True),
        # loose equality, with nulls that a CRM meets every day
        ({"==": [1, "1"]}, True),
        ({"==": [{"var": "record.lost_reason"}, "price"]}, False),
        ({"==": ["price", {"var": "record.lost_reason"}]}, False),
        ({"!=": [{"var": "record.lost_reason"}, "price"]}, True),
        ({"==": [{"var": "record.lost_reason"}, None]}, True),
        ({"==": [{"var": "record.lost_reason"}, ""]}, True),
        ({"==": [{"var": "record.lost_reason"}, 0]}, True),
        ({"==": [{"var": "record.missing_field"}, None]}, True),
        # decimals from records against JSON numbers
        ({"==": [{"var": "record.discount"}, 0.1]}, True),
        ({"===": [{"var": "record.discount"}, 0.1]}, True),
        ({"==": [{"var": "record.amount"}, 250000]}, True),
        ({"<=": [{"var": "record.amount"}, 1000000]}, True),
        ({">": [{"var": "record.amount"}, "249999.99"]}, True),
        ({"<": [0, {"var": "record.discount"}, 0.3]}, True),
        ({"<=": [0, {"var": "record.discount"}, 0.05]}, False),
        # null is 0 against numbers, and unordered against text
        ({"<": [{"var": "record.lost_reason"}, 1]}, True),
        ({"<": [{"var": "record.lost_reason"}, "b"]}, False),
        ({">": [{"var": "record.lost_reason"}, "b"]}, False),
        # dates: with dates, ISO 8601 strings, and ``now``
        ({"<": [{"var": "record.created_at"}, {"var": "now"}]}, True),
        ({">": [{"var": "record.close_date"}, {"var": "now"}]}, True),
        ({"==": [{"var": "record.close_date"}, "2026-12-31"]}, True),
        ({"==": [{"var": "record.created_at"}, "2026-11-20T11:00:00+01:00"]}, True),
        ({"<": [{"var": "record.close_date"}, {"var": "record.created_at"}]}, False),
        ({"===": [{"var": "record.close_date"}, "2026-12-31"]}, False),
        ({"<": [{"var": "record.lost_reason"}, {"var": "record.close_date"}]}, False),
        ({"<": ["2026-01-01", "2026-11-23T10:00:00+00:00"]}, True),
        # arithmetic: casts, left folds, exact integers and decimals
        ({"+": ["1", 2, True, None, ""]}, 4),
        ({"-": [10, 2, 3]}, 5),
        ({"-": "4"}, -4),
        ({"*": [{"var": "record.amount"}, 2]}, Decimal("500000.00")),
        ({"+": [{"var": "record.discount"}, Decimal("0.20")]}, Decimal("0.30")),
        ({"*": [{"var": "record.discount"}, 0.5]}, 0.05),
        ({"/": [10, 4]}, 2.5),
        ({"/": [10, 5]}, 2),
        ({"%": [-8, 3]}, -2),
        ({"%": [8, -3]}, 2),
        ({"%": [{"var": "record.amount"}, 7]}, Decimal("250000.00") % 7),
        ({"*": [10**18, 10**18]}, 1e36),
        ({"max": [1, {"var": "record.discount"}, 0.5]}, 1),
        ({"min": [{"var": "record.discount"}, 0.5]}, Decimal("0.10")),
        # dates in arithmetic are milliseconds (the age of a record)
        ({"-": [{"var": "now"}, {"var": "record.created_at"}]}, 3 * 86_400_000),
        (
            {"/": [{"-": [{"var": "record.close_date"}, {"var": "now"}]}, 86_400_000]},
            (datetime(2026, 12, 31, tzinfo=UTC) - datetime(2026, 11, 23, 10, tzinfo=UTC)) / timedelta(days=1),
        ),
        # cat prints as JavaScript does
        ({"cat": [{"/": [4, 2]}, "|", 0.5, "|", 1e21, "|", 1e-7, "|", True, "|", None]}, "2|0.5|1e+21|1e-7|true|"),
        ({"cat": [0.1, "+", 0.2, "=", {"+": [0.1, 0.2]}]}, "0.1+0.2=0.30000000000000004"),
        ({"cat": [{"var": "record.amount"}, " ", {"var": "record.close_date"}]}, "250000.00 2026-12-31"),
        ({"cat": [{"var": "user.roles"}, {"preserve": {"a": 1}}]}, "sales,sales_manager[object Object]"),
        ({"substr": ["jsonlogic", -5, -2]}, "log"),
        ({"substr": [{"var": "record.name"}, 0, 4]}, "Acme"),
        # in: array items strictly, text parts
        ({"in": ["sales_manager", {"var": "user.roles"}]}, True),
        ({"in": ["vip", {"var": "record.tags"}]}, True),
        ({"in": [1, [True]]}, False),
        ({"in": [{"var": "record.stage"}, ["qualified", "negotiation"]]}, True),
        ({"in": ["Acme", {"var": "record.name"}]}, True),
        ({"in": ["x", {"var": "record.lost_reason"}]}, False),
        # paths: keys, list indices, nothing else
        ({"var": "record.lines.1.qty"}, 150),
        ({"var": "record.lines.-1.qty"}, None),
        ({"var": "record.lines.01.qty"}, None),
        ({"var": "record.tags.0"}, "vip"),
        ({"var": ["record.lost_reason", "n/a"]}, "n/a"),
        ({"var": ["record.closed", True]}, False),
        ({"val": ["record", "lines", 0, "sku"]}, "A"),
        ({"exists": ["record", "lost_reason"]}, True),
        ({"exists": ["record", "nope"]}, False),
        # missing: null, absent and "" are missing; 0 and false are values
        (
            {
                "missing": [
                    "record.name",
                    "record.phone",
                    "record.probability",
                    "record.closed",
                    "record.lost_reason",
                    "record.nope",
                ]
            },
            ["record.phone", "record.lost_reason", "record.nope"],
        ),
        ({"missing_some": [1, ["record.phone", "record.name"]]}, []),
        ({"missing_some": [2, ["record.phone", "record.name"]]}, ["record.phone"]),
        # iterators and their scopes
        (
            {"map": [{"var": "record.lines"}, {"*": [{"var": "qty"}, {"var": "price"}]}]},
            [Decimal("21.00"), Decimal("187.50")],
        ),
        ({"reduce": [{"var": "record.lines"}, {"+": [{"var": "accumulator"}, {"var": "current.qty"}]}, 0]}, 152),
        ({"reduce": [[2, 3, 4], {"*": [{"var": "accumulator"}, {"var": "current"}]}]}, 24),
        ({"reduce": [[], {"+": [{"var": "accumulator"}, 1]}]}, None),
        ({"filter": [{"var": "record.lines"}, {">": [{"var": "qty"}, 100]}]}, [RECORD["record"]["lines"][1]]),  # type: ignore[index]
        (
            {"some": [{"var": "record.lines"}, {"==": [{"var": "sku"}, {"val": [[2], "record", "lines", 0, "sku"]}]}]},
            True,
        ),
        ({"map": [{"var": "record.lines"}, {"val": [[1], "index"]}]}, [0, 1]),
        (
            {"map": [["x"], {"map": [[1, 2], {"cat": [{"val": [[2]]}, {"val": []}, {"val": [[4], "user", "team"]}]}]}]},
            [["x1emea", "x2emea"]],
        ),
        ({"all": [[], True]}, False),
        ({"none": [[], True]}, True),
        # control
        ({"if": [{"var": "record.closed"}, "closed", {"var": "record.lost_reason"}, "lost", "open"]}, "open"),
        ({"??": [{"var": "record.lost_reason"}, {"var": "inputs.lost_reason"}]}, "price"),
        ({"and": [{"var": "record.name"}, {"var": "record.probability"}, "unreached"]}, 0),
        ({"or": [{"var": "record.phone"}, {"var": "record.lost_reason"}]}, None),
        ({"try": [{"/": [1, 0]}, {"cat": ["failed: ", {"var": "type"}]}]}, "failed: NaN"),
        ({"try": [{"throw": {"preserve": {"type": "over_limit", "limit": 5}}}, {"var": "limit"}]}, 5),
        ({"try": [{"throw": "x"}, {"val": [[2], "record", "stage"]}]}, "negotiation"),
        ({"log": [{"var": "record.stage"}]}, "negotiation"),
        ({"merge": [[1], 2, [[3]], {"var": "record.tags"}]}, [1, 2, [3], "vip", "renewal"]),
    ],
)
def test_rule_values(rule: Any, expected: Any, generate_code: bool) -> None:
    assert same(run(rule, RECORD, generate_code), expected)


@pytest.mark.parametrize("generate_code", BACKENDS)
@pytest.mark.parametrize(
    ("rule", "error_type", "code", "pointer"),
    [
        ({"+": ["abc", 1]}, NAN, "not_a_number", ""),
        ({"and": [True, {"*": [{"var": "user.roles"}, 2]}]}, NAN, "not_a_number", "/and/1"),
        ({"/": [1, {"-": [{"var": "record.probability"}, 0]}]}, NAN, "not_a_number", ""),
        ({"==": [{"var": "user.roles"}, 1]}, NAN, "not_a_number", ""),
        ({">": [{"var": "record.close_date"}, "next week"]}, NAN, "not_a_number", ""),
        ({"<": [{"var": "record.close_date"}, True]}, NAN, "not_a_number", ""),
        ({"==": [1, "one"]}, NAN, "not_a_number", ""),
        ({"max": ["1", 2]}, "Invalid Arguments", "invalid_arguments", ""),
        ({"max": {"var": "record.nope"}}, "Invalid Arguments", "invalid_arguments", ""),
        ({"some": [{"var": "record.nope"}, True]}, "Invalid Arguments", "invalid_arguments", ""),
        ({"map": [{"var": "record.stage"}, 1]}, "Invalid Arguments", "invalid_arguments", ""),
        ({"missing_some": [1, "record.name"]}, "Invalid Arguments", "invalid_arguments", ""),
        ({"if": [True, {"throw": "no_approver"}]}, "no_approver", "thrown", "/if/1"),
        ({"try": [{"throw": "a"}, {"throw": "b"}]}, "b", "thrown", "/try/1"),
    ],
)
def test_rule_errors(rule: Any, error_type: str, code: str, pointer: str, generate_code: bool) -> None:
    with pytest.raises(EvaluationError) as caught:
        run(rule, RECORD, generate_code)
    assert caught.value.error_type == error_type
    assert isinstance(caught.value, LogicError)
    assert [(p.code, p.pointer) for p in caught.value.problems] == [(code, pointer)]


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        # the order approval guard of docs/conditions.md
        (
            {
                "or": [
                    {"<=": [{"var": "record.amount"}, 10000]},
                    {"in": ["sales_manager", {"var": "user.roles"}]},
                ]
            },
            {"record": {"amount": Decimal("50000")}, "user": {"roles": ["sales"]}},
            False,
        ),
        (
            {
                "or": [
                    {"<=": [{"var": "record.amount"}, 10000]},
                    {"in": ["sales_manager", {"var": "user.roles"}]},
                ]
            },
            {"record": {"amount": Decimal("50000")}, "user": {"roles": ["sales_manager"]}},
            True,
        ),
        # the lost reason guard of docs/conditions.md
        (
            {"if": [{"==": [{"var": "changes.stage"}, "lost"]}, {"!!": [{"var": "inputs.lost_reason"}]}, True]},
            {"changes": {"stage": "lost"}, "inputs": {"lost_reason": ""}},
            False,
        ),
        (
            {"if": [{"==": [{"var": "changes.stage"}, "lost"]}, {"!!": [{"var": "inputs.lost_reason"}]}, True]},
            {"changes": {"stage": "won"}, "inputs": {}},
            True,
        ),
    ],
)
def test_documented_guards(rule: Any, data: Any, expected: bool) -> None:
    assert compile_rule(rule).matches(data) is expected
    assert truthy(evaluate(rule, data)) is expected


def test_results_do_not_share_the_rules_literals() -> None:
    compiled = compile_rule({"if": [{"var": "x"}, [1, 2], {"preserve": {"a": [1]}}]})
    first = compiled.evaluate({"x": True})
    first.append(3)
    assert compiled.evaluate({"x": True}) == [1, 2]
    other = compiled.evaluate({"x": False})
    other["a"].append(2)
    assert compiled.evaluate({"x": False}) == {"a": [1]}


def test_evaluate_caches_by_canonical_json() -> None:
    assert evaluate({"+": [{"var": "a"}, 1]}, {"a": 1}) == 2
    assert evaluate({"+": [{"var": "a"}, 1]}, {"a": 41}) == 42
    assert evaluate({"in": [{"var": "r"}, ["a", "b"]]}, {"r": "b"}) is True
