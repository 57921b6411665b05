"""A field changing its type converts stored values the same way on SQLite and PostgreSQL.

Each case stores values of the old type, plans and applies the new type, and checks the
values read back, the plan's counts of changed and lost values, and that a conversion
which changes or loses a value is refused without ``allow_data_loss``, naming the field
and the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DataLossError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import to_jsonable
from tests.support import SYSTEM, write_bundle

TARGET: dict[str, Any] = {"fields": {"name": {"type": "string", "max_length": 40}}}
CHOICES = ["a", "b", "c"]


@dataclass(frozen=True)
class Case:
    old: dict[str, Any]
    new: dict[str, Any]
    #: stored values, in JSON as the records API takes them
    values: list[Any]
    #: the values read back after the change, in JSON form (decimals and dates as text)
    expected: list[Any]
    changed: int = 0
    lost: int = 0
    #: ``'before' → 'after'`` (or ``→ empty``) texts the refusal must name
    named: tuple[str, ...] = ()


def _s(n: int = 100) -> dict[str, Any]:
    return {"type": "string", "max_length": n}


def _dec(precision: int = 12, scale: int = 2, kind: str = "decimal") -> dict[str, Any]:
    return {"type": kind, "precision": precision, "scale": scale}


ENUM = {"type": "enum", "choices": CHOICES}
MULTI = {"type": "multi_enum", "choices": CHOICES}
REF = {"type": "reference", "target": "target"}

CASES: dict[str, Case] = {
    "multi_enum-string": Case(MULTI, _s(), [["a"], ["a", "b"], []], ["a", "a|b", None]),
    "json-string": Case(
        {"type": "json"},
        _s(),
        ["short", [1, 2], {"k": "v"}, 5, True],
        ["short", "[1,2]", '{"k":"v"}', "5", "true"],
    ),
    "json-text": Case({"type": "json"}, {"type": "text"}, ["short", [1, 2]], ["short", "[1,2]"]),
    "json-string-overlong": Case(
        {"type": "json"}, _s(4), ["abc", [1, 2, 3]], ["abc", None], lost=1, named=("'[1,2,3]' → empty",)
    ),
    "enum-multi_enum": Case(ENUM, MULTI, ["a", "b"], [["a"], ["b"]]),
    "multi_enum-enum-single": Case(MULTI, ENUM, [["a"], ["b"]], ["a", "b"]),
    "multi_enum-enum-multiple": Case(MULTI, ENUM, [["a"], ["a", "b"]], ["a", None], lost=1, named=("'a|b' → empty",)),
    "reference-integer": Case(REF, {"type": "integer"}, [1, 2], [1, 2]),
    "integer-reference": Case({"type": "integer"}, REF, [1, 2, 7], [1, 2, None], lost=1, named=("'7' → empty",)),
    "string-integer": Case(
        _s(),
        {"type": "integer"},
        ["42", "-3", "00123", "007", "+5", " 8", "abc"],
        [42, -3, 123, 7, 5, 8, None],
        changed=4,
        lost=1,
        named=("'00123' → '123'", "'007' → '7'", "'+5' → '5'", "' 8' → '8'", "'abc' → empty"),
    ),
    "string-decimal": Case(
        _s(),
        _dec(),
        ["1.50", "1.5", "-2", "00012.5", "x"],
        ["1.50", "1.50", "-2.00", "12.50", None],
        changed=1,
        lost=1,
        named=("'00012.5' → '12.50'", "'x' → empty"),
    ),
    "date-datetime": Case({"type": "date"}, {"type": "datetime"}, ["2026-01-02"], ["2026-01-02T00:00:00+00:00"]),
    "datetime-date-midnight": Case({"type": "datetime"}, {"type": "date"}, ["2026-01-02T00:00:00Z"], ["2026-01-02"]),
    "datetime-date-time": Case(
        {"type": "datetime"},
        {"type": "date"},
        ["2026-01-02T00:00:00Z", "2026-01-03T10:30:00Z"],
        ["2026-01-02", "2026-01-03"],
        changed=1,
        named=("'2026-01-03T10:30:00+00:00' → '2026-01-03'",),
    ),
    "boolean-integer": Case({"type": "boolean"}, {"type": "integer"}, [True, False], [1, 0]),
    "integer-boolean": Case(
        {"type": "integer"}, {"type": "boolean"}, [1, 0, 5], [True, False, None], lost=1, named=("'5' → empty",)
    ),
    "integer-string": Case({"type": "integer"}, _s(), [42, -7, 0], ["42", "-7", "0"]),
    "integer-string-overlong": Case(
        {"type": "integer"}, _s(3), [42, 12345], ["42", None], lost=1, named=("'12345' → empty",)
    ),
    "decimal-integer": Case(
        _dec(),
        {"type": "integer"},
        ["3.00", "-4", "2.50", "2.49"],
        [3, -4, 3, 2],
        changed=2,
        named=("'2.50' → '3'", "'2.49' → '2'"),
    ),
    "decimal-decimal-scale": Case(
        _dec(12, 3),
        _dec(12, 1),
        ["1.200", "1.250", "1.249"],
        ["1.2", "1.3", "1.2"],
        changed=2,
        named=("'1.250' → '1.3'", "'1.249' → '1.2'"),
    ),
    "string-date": Case(
        _s(),
        {"type": "date"},
        ["2026-01-02", "02/01/2026"],
        ["2026-01-02", None],
        lost=1,
        named=("'02/01/2026' → empty",),
    ),
    "text-string-overlong": Case(
        {"type": "text"}, _s(5), ["abc", "abcdefgh"], ["abc", None], lost=1, named=("'abcdefgh' → empty",)
    ),
    "money-decimal": Case(_dec(kind="money"), _dec(), ["12.50", "-3.00"], ["12.50", "-3.00"]),
    "string-email": Case(
        _s(),
        {"type": "email", "max_length": 100},
        ["a@example.com", "nobody"],
        ["a@example.com", None],
        lost=1,
        named=("'nobody' → empty",),
    ),
    "decimal-money": Case(_dec(), _dec(kind="money"), ["1.25"], ["1.25"]),
    "string-enum": Case(_s(), ENUM, ["a", "zzz"], ["a", None], lost=1, named=("'zzz' → empty",)),
    "boolean-string": Case({"type": "boolean"}, _s(), [True, False], ["true", "false"]),
    "string-boolean": Case(
        _s(),
        {"type": "boolean"},
        ["true", "no", "maybe"],
        [True, False, None],
        changed=1,
        lost=1,
        named=("'no' → 'false'", "'maybe' → empty"),
    ),
    "string-json": Case(_s(), {"type": "json"}, ["[1, 2]", "plain"], [[1, 2], "plain"]),
    "string-multi_enum": Case(
        _s(), MULTI, ["a|b", "a", "zzz"], [["a", "b"], ["a"], None], lost=1, named=("'zzz' → empty",)
    ),
    "enum-string": Case(ENUM, _s(), ["a", "c"], ["a", "c"]),
    "text-json": Case(
        {"type": "text"}, {"type": "json"}, ['{"k": [1, 2]}', "42", "plain"], [{"k": [1, 2]}, 42, "plain"]
    ),
    "multi_enum-json": Case(MULTI, {"type": "json"}, [["a", "b"]], [["a", "b"]]),
    "json-multi_enum": Case(
        {"type": "json"},
        MULTI,
        [["a", "b"], "c", "a|b", 5],
        [["a", "b"], ["c"], ["a", "b"], None],
        lost=1,
        named=("'5' → empty",),
    ),
    "json-integer": Case(
        {"type": "json"},
        {"type": "integer"},
        [5, "6", 2.5, "x"],
        [5, 6, 3, None],
        changed=1,
        lost=1,
        named=("'2.5' → '3'", "'\"x\"' → empty"),
    ),
    "json-boolean": Case({"type": "json"}, {"type": "boolean"}, [True, "false"], [True, False]),
    "integer-json": Case({"type": "integer"}, {"type": "json"}, [5], [5]),
    "decimal-json": Case(_dec(), {"type": "json"}, ["1.50"], ["1.50"]),
    "date-json": Case({"type": "date"}, {"type": "json"}, ["2026-01-02"], ["2026-01-02"]),
    "integer-decimal": Case({"type": "integer"}, _dec(), [5, -3], ["5.00", "-3.00"]),
    "integer-decimal-overlong": Case(
        {"type": "integer"}, _dec(4, 2), [5, 12345], ["5.00", None], lost=1, named=("'12345' → empty",)
    ),
    "decimal-string": Case(_dec(), _s(), ["1.50", "-2.00"], ["1.50", "-2.00"]),
    "date-string": Case({"type": "date"}, _s(), ["2026-01-02"], ["2026-01-02"]),
    "datetime-string": Case({"type": "datetime"}, _s(), ["2026-01-02T10:30:00Z"], ["2026-01-02T10:30:00+00:00"]),
    "string-datetime": Case(
        _s(),
        {"type": "datetime"},
        ["2026-01-02T10:30:00+00:00", "2026-01-02T10:30:00Z", "2026-01-02T12:30:00+02:00", "2026-01-02", "soon"],
        [
            "2026-01-02T10:30:00+00:00",
            "2026-01-02T10:30:00+00:00",
            "2026-01-02T10:30:00+00:00",
            "2026-01-02T00:00:00+00:00",
            None,
        ],
        lost=1,
        named=("'soon' → empty",),
    ),
    "string-text": Case(_s(), {"type": "text"}, ["abc"], ["abc"]),
    "reference-string": Case(REF, _s(), [1, 2], ["1", "2"]),
    "string-reference": Case(
        _s(),
        REF,
        ["1", "02", "9", "x"],
        [1, 2, None, None],
        changed=1,
        lost=2,
        named=("'02' → '2'", "'9' → empty", "'x' → empty"),
    ),
    "boolean-decimal": Case({"type": "boolean"}, _dec(), [True, False], ["1.00", "0.00"]),
    "decimal-boolean": Case(_dec(), {"type": "boolean"}, ["1.00", "0", "0.5"], [True, False, None], lost=1),
    "date-integer": Case({"type": "date"}, {"type": "integer"}, ["2026-01-02"], [None], lost=1),
}


def _apply(engine: CrmEngine, tmp_path: Path, spec: dict[str, Any], **kwargs: Any) -> tuple[int, Any]:
    bundle = write_bundle(tmp_path / f"v{engine.version + 1}", "sales", _entities(spec))
    return engine.apply(load_definitions(bundle), **kwargs)


def _entities(spec: dict[str, Any]) -> dict[str, Any]:
    return {"target": TARGET, "item": {"fields": {"label": _s(20), "value": spec}}}


def _stored(engine: CrmEngine) -> list[Any]:
    return [to_jsonable(r.get("value")) for r in engine.records.list("item", limit=100, actor=SYSTEM).items]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_type_change_converts_values_alike_on_both_databases(engine: CrmEngine, tmp_path: Path, case: Case) -> None:
    _apply(engine, tmp_path, case.old)
    engine.records.create("target", {"name": "one"}, actor=SYSTEM)
    engine.records.create("target", {"name": "two"}, actor=SYSTEM)
    for i, value in enumerate(case.values):
        engine.records.create("item", {"label": f"r{i}", "value": value}, actor=SYSTEM)

    plan = engine.plan(load_definitions(write_bundle(tmp_path / "plan", "sales", _entities(case.new))))
    (step,) = [s for s in plan.steps if s.kind == "change_type"]
    assert (step.field, step.changed, step.lost) == ("value", case.changed, case.lost)
    assert step.destructive == bool(case.changed or case.lost)

    if step.destructive:
        with pytest.raises(DataLossError) as refused:
            _apply(engine, tmp_path, case.new)
        (problem,) = refused.value.problems
        assert problem.code == "data_loss"
        assert problem.pointer == "/entities/item/fields/value"
        assert "item.value" in problem.message
        for text in case.named:
            assert text in problem.message, problem.message
        assert engine.version == 1, "nothing was applied"
    version, _ = _apply(engine, tmp_path, case.new, allow_data_loss=True)
    assert version == 2
    assert _stored(engine) == case.expected


def test_the_plan_lists_changed_values_with_examples(engine: CrmEngine, tmp_path: Path) -> None:
    _apply(engine, tmp_path, _s())
    for value in ["00123", "42"]:
        engine.records.create("item", {"label": "x", "value": value}, actor=SYSTEM)
    plan = engine.plan(load_definitions(write_bundle(tmp_path / "plan", "sales", _entities({"type": "integer"}))))
    (step,) = [s for s in plan.steps if s.kind == "change_type"]
    assert step.examples == ((1, "00123", "123"),)
    assert step.to_json()["examples"] == [{"id": 1, "before": "00123", "after": "123"}]
    assert "1 value(s) would be changed" in (step.reason or "")


@pytest.mark.parametrize("was_unique", [True, False], ids=["kept-unique", "made-unique"])
def test_values_that_become_equal_under_a_unique_constraint_block_the_change(
    engine: CrmEngine, tmp_path: Path, was_unique: bool
) -> None:
    _apply(engine, tmp_path, {**_s(), "unique": was_unique})
    for value in ["007", "7", "8"]:
        engine.records.create("item", {"label": "x", "value": value}, actor=SYSTEM)
    new = {"type": "integer", "unique": True}
    plan = engine.plan(load_definitions(write_bundle(tmp_path / "plan", "sales", _entities(new))))
    (blocked,) = plan.blocking
    assert (blocked.kind, blocked.field, blocked.rows) == ("add_unique", "value", 2)
    assert "#1 '007' → '7', #2 '7' → '7'" in (blocked.reason or "")
    with pytest.raises(DataLossError) as refused:
        _apply(engine, tmp_path, new, allow_data_loss=True)
    assert [p.code for p in refused.value.problems] == ["blocked"]
    assert engine.version == 1


def test_removing_choices_of_a_multi_enum_keeps_the_other_chosen_values(engine: CrmEngine, tmp_path: Path) -> None:
    _apply(engine, tmp_path, MULTI)
    for value in [["a", "b"], ["b"], ["c"]]:
        engine.records.create("item", {"label": "x", "value": value}, actor=SYSTEM)
    fewer = {"type": "multi_enum", "choices": ["a", "c"]}
    plan = engine.plan(load_definitions(write_bundle(tmp_path / "plan", "sales", _entities(fewer))))
    (step,) = [s for s in plan.steps if s.kind == "remove_choices"]
    assert (step.rows, step.changed, step.lost) == (2, 1, 1)
    assert step.examples == ((1, "a|b", "a"), (2, "b", None))
    with pytest.raises(DataLossError):
        _apply(engine, tmp_path, fewer)
    _apply(engine, tmp_path, fewer, allow_data_loss=True)
    assert _stored(engine) == [["a"], None, ["c"]]
