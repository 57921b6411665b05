"""A rollup's time window (``within``) is checked when definitions load: a date or datetime
field of the child, a period in days or weeks; each problem with its file, pointer and code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.metadata import RollupWindow, load_definitions
from tests.derived.derived_support import loyalty_book

POINTER = "/fields/annual_spend/rollup/within"


def spend_within(within: Any) -> dict[str, Any]:
    rollup = {"entity": "purchase", "reference": "member", "function": "sum", "field": "amount", "within": within}
    return {"member": {"annual_spend": {"type": "money", "rollup": rollup}}}


def problems_of(tmp_path: Path, within: Any) -> list[tuple[str, str | None, str | None, str]]:
    with pytest.raises(DefinitionError) as refused:
        load_definitions(loyalty_book(tmp_path, **spend_within(within)))
    return [(p.code, p.file and Path(p.file).name, p.pointer, p.message) for p in refused.value.problems]


@pytest.mark.parametrize(
    ("within", "code", "pointer", "says"),
    [
        pytest.param({"field": "purchasd_at", "period": "P365D"}, "rollup_mismatch", f"{POINTER}/field",
                     "Did you mean 'purchased_at'?", id="unknown-field"),
        pytest.param({"field": "amount", "period": "P365D"}, "rollup_mismatch", f"{POINTER}/field",
                     "purchase.amount is money", id="not-a-date"),
        pytest.param({"field": "purchased_at", "period": "P1Y"}, "invalid_duration", f"{POINTER}/period",
                     "write days or weeks", id="years"),
        pytest.param({"field": "purchased_at", "period": "P6M"}, "invalid_duration", f"{POINTER}/period",
                     "write days or weeks", id="months"),
        pytest.param({"field": "purchased_at", "period": "PT12H"}, "invalid_duration", f"{POINTER}/period",
                     "whole days", id="hours"),
        pytest.param({"field": "purchased_at", "period": "P0D"}, "invalid_duration", f"{POINTER}/period",
                     "longer than zero", id="zero"),
        pytest.param({"field": "purchased_at", "period": "-P5D"}, "invalid_duration", f"{POINTER}/period",
                     "in days or weeks", id="negative"),
        pytest.param({"field": "purchased_at", "period": "365 days"}, "invalid_duration", f"{POINTER}/period",
                     'e.g. "P365D"', id="not-iso"),
        pytest.param({"field": "purchased_at", "period": "P99999D"}, "invalid_duration", f"{POINTER}/period",
                     "longer than 36600 days", id="too-long"),
        pytest.param({"field": "purchased_at"}, "required", POINTER, "period", id="no-period"),
        pytest.param({"period": "P30D"}, "required", POINTER, "field", id="no-field"),
        pytest.param({"field": "purchased_at", "period": 365}, "type", f"{POINTER}/period", "", id="period-number"),
        pytest.param({"field": "purchased_at", "period": "P30D", "to": "now"}, "unknown_key", f"{POINTER}/to", "",
                     id="unknown-key"),
        pytest.param("P365D", "type", POINTER, "", id="not-an-object"),
    ],
)  # fmt: skip
def test_each_bad_window_is_refused_with_its_pointer(
    tmp_path: Path, within: Any, code: str, pointer: str, says: str
) -> None:
    found = problems_of(tmp_path, within)
    assert [p[:3] for p in found] == [(code, "member.json", pointer)]
    assert says in found[0][3]


def test_a_window_on_a_field_that_is_not_a_date_names_the_date_fields(tmp_path: Path) -> None:
    ((_code, _file, _pointer, message),) = problems_of(tmp_path, {"field": "amount", "period": "P30D"})
    assert "purchased_at, paid_at, created_at, updated_at" in message


def test_good_windows_load_in_days_weeks_or_on_system_fields(tmp_path: Path) -> None:
    for within in (
        {"field": "purchased_at", "period": "P52W"},
        {"field": "paid_at", "period": "P1W3D"},
        {"field": "created_at", "period": "P7D"},
    ):
        definitions = load_definitions(loyalty_book(tmp_path, **spend_within(within)))
        rollup = definitions.entities["member"].fields["annual_spend"].rollup
        assert rollup is not None and rollup.within == RollupWindow(within["field"], within["period"])
        assert rollup.to_json()["within"] == within
