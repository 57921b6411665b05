"""Bad view documents are refused when definitions load, each problem with its file,
pointer and code; good ones round-trip through the stored form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.metadata import definitions_from_json, definitions_to_json, load_definitions, parse_relative
from tests.views import bundle


def problems_of(tmp_path: Path, *views: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    with pytest.raises(DefinitionError) as refused:
        load_definitions(bundle.write(tmp_path, list(views)))
    return [(p.code, p.file and Path(p.file).name, p.pointer) for p in refused.value.problems]


FILE = "view_v.json"


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        pytest.param({"entity": "deel"}, ("unknown_entity", FILE, "/entity"), id="unknown-entity"),
        pytest.param({"where": {"amout": 5}}, ("unknown_field", FILE, "/where/amout"), id="unknown-field"),
        pytest.param(
            {"where": {"or": [{"stage": "open"}, {"clse_on": "@today"}]}},
            ("unknown_field", FILE, "/where/or/1/clse_on"),
            id="unknown-field-nested",
        ),
        pytest.param(
            {"where": {"account.industy": "bank"}},
            ("unknown_field", FILE, "/where/account.industy"),
            id="unknown-field-through-reference",
        ),
        pytest.param(
            {"where": {"title.name": "x"}}, ("unknown_field", FILE, "/where/title.name"), id="follows-a-non-reference"
        ),
        pytest.param(
            {"where": {"amount": {"gtee": 5}}}, ("unknown_operator", FILE, "/where/amount/gtee"), id="operator"
        ),
        pytest.param(
            {"where": {"close_on": "@this_mnth"}},
            ("invalid_relative", FILE, "/where/close_on"),
            id="unknown-relative",
        ),
        pytest.param(
            {"where": {"title": "@this_month"}}, ("invalid_relative", FILE, "/where/title"), id="period-on-text"
        ),
        pytest.param({"where": {"close_on": "@me"}}, ("invalid_relative", FILE, "/where/close_on"), id="me-on-date"),
        pytest.param(
            {"where": {"close_on": {"in": ["2026-01-01", "@today"]}}},
            ("invalid_relative", FILE, "/where/close_on/in/1"),
            id="period-in-a-list",
        ),
        pytest.param(
            {"where": {"amount": {"eq": {"x": 1}}}}, ("type", FILE, "/where/amount/eq"), id="object-as-a-value"
        ),
        pytest.param({"sort": ["close_on", "-amout"]}, ("unknown_field", FILE, "/sort/1"), id="sort"),
        pytest.param({"columns": ["titel"]}, ("unknown_field", FILE, "/columns/0"), id="columns"),
        pytest.param({"group_by": "notes"}, ("unsuitable_field", FILE, "/group_by"), id="group-by-text"),
        pytest.param({"group_by": "stag"}, ("unknown_field", FILE, "/group_by"), id="group-by-unknown"),
    ],
)
def test_bad_views_are_refused_with_their_pointer(
    tmp_path: Path, view: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    document = bundle.view("v", **view)
    assert expected in problems_of(tmp_path, document)


def test_every_problem_of_a_view_is_reported_at_once(tmp_path: Path) -> None:
    document = bundle.view("v", where={"amout": 1, "close_on": "@someday"}, sort=["nme"], columns=["x"])
    codes = {(code, pointer) for code, _file, pointer in problems_of(tmp_path, document)}
    assert codes == {
        ("unknown_field", "/where/amout"),
        ("invalid_relative", "/where/close_on"),
        ("unknown_field", "/sort/0"),
        ("unknown_field", "/columns/0"),
    }


def test_a_meta_schema_problem_names_the_key(tmp_path: Path) -> None:
    found = problems_of(tmp_path, bundle.view("v", sort="amount"))
    assert ("type", FILE, "/sort") in found


def test_two_views_of_one_name_are_refused(tmp_path: Path) -> None:
    path = bundle.write(tmp_path, [bundle.QUIET_DEALS])
    (path / "view_again.json").write_text(json.dumps(bundle.QUIET_DEALS), encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        load_definitions(path)
    assert [p.code for p in refused.value.problems] == ["duplicate_view"]


def test_good_views_load_and_round_trip_through_the_stored_form(tmp_path: Path) -> None:
    definitions = load_definitions(bundle.write(tmp_path))
    mine = definitions.views["my_deals_this_month"]
    assert mine.entity == "deal"
    assert mine.label.zh == "我本月成交的商机"
    assert mine.sort == ("close_on", "-amount")
    assert mine.columns == ("title", "amount", "close_on")
    assert mine.group_by == "stage"
    assert mine.where["close_on"] == "@this_month"
    stored = definitions_to_json(definitions)
    assert stored["views"]["quiet_deals"]["where"] == {"last_call": {"lt": "@30_days_ago"}}
    assert definitions_from_json(json.loads(json.dumps(stored))) == definitions


def test_a_literal_at_sign_is_written_twice(tmp_path: Path) -> None:
    definitions = load_definitions(bundle.write(tmp_path, [bundle.view("v", where={"title": "@@home"})]))
    assert definitions.views["v"].where["title"] == "@@home"


@pytest.mark.parametrize(
    ("token", "unit", "offset", "length"),
    [
        ("@today", "day", 0, 1),
        ("@yesterday", "day", -1, 1),
        ("@last_month", "month", -1, 1),
        ("@next_quarter", "quarter", 1, 1),
        ("@last_7_days", "day", -6, 7),
        ("@next_30_days", "day", 0, 30),
        ("@30_days_ago", "day", -30, 1),
        ("@in_14_days", "day", 14, 1),
    ],
)
def test_relative_periods_mean_whole_units_from_today(token: str, unit: str, offset: int, length: int) -> None:
    found = parse_relative(token)
    assert found is not None
    assert (found.kind, found.unit, found.offset, found.length) == ("period", unit, offset, length)


@pytest.mark.parametrize("token", ["@last_0_days", "@this_decade", "@me2", "@last_99999_days", "@"])
def test_unknown_relative_tokens_mean_nothing(token: str) -> None:
    assert parse_relative(token) is None


def test_me_takes_equality_only(tmp_path: Path) -> None:
    found = problems_of(tmp_path, bundle.view("v", where={"owner": {"gt": "@me"}}))
    assert found == [("invalid_relative", FILE, "/where/owner/gt")]
