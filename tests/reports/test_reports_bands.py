"""Grouping by number bands (SQLite and PostgreSQL): ``{"field": "amount", "bands": [...]}``
puts each record in the band between two bounds (the lower one included), names the bands
``< 500``, ``500–1,000`` … ``≥ 2,500.5``, keeps them in order, works for every report type
that groups (an aggregate and a funnel here), and refuses bounds out of order or a field
that is not a number, with the pointer."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reports_support import BUNDLE, DEALS, Deal, funnel_rows, grouped

from engine.errors import DefinitionError
from engine.metadata import load_definitions
from engine.reports import run_report
from engine.runtime import CrmEngine
from tests.support import SYSTEM


def _band(deal: Deal, bounds: list[Decimal], names: list[str]) -> str:
    amount = Decimal(deal.amount)
    return names[sum(1 for b in bounds if amount >= b)]


def test_an_aggregate_groups_deals_in_bands_in_order(crm: CrmEngine) -> None:
    result = run_report(crm, "deals_by_size", actor=SYSTEM)
    label = {"en": "Amount (band)", "zh": "金额(区间)"}
    assert result.columns[0] == {"name": "amount_band", "label": label, "type": "band"}
    names = ["< 500", "500–1,000", "1,000–2,500.5", "≥ 2,500.5"]
    bounds = [Decimal(500), Decimal(1000), Decimal("2500.5")]
    expected: dict[str, list[Deal]] = {}
    for deal in DEALS:  # D6 100, D9 250 | D3 500, D7 600, D8 700 | D1 1000, D2 2000 | D4 3000, D5 4000
        expected.setdefault(_band(deal, bounds, names), []).append(deal)
    assert [(r["amount_band"], r["deals"], r["total"]) for r in result.rows] == [
        (name, len(expected[name]), sum(Decimal(d.amount) for d in expected[name])) for name in names
    ]


def test_a_funnel_groups_by_band(crm: CrmEngine) -> None:
    rows = run_report(crm, "funnel_by_size", actor=SYSTEM).rows
    states = ["lead", "qualified", "proposal", "won"]
    names = ["< 1,000", "≥ 1,000"]
    expected = funnel_rows(states, grouped(DEALS, lambda d: _band(d, [Decimal(1000)], names)))
    assert [(r["amount_band"], r["state"], r["entered"], r["reached"]) for r in rows] == [
        (e["key"], e["state"], e["entered"], e["reached"]) for e in expected
    ]


def _bundle_with(tmp_path: Path, by: Any) -> Path:
    folder = tmp_path / "sales"
    folder.mkdir()
    for path in BUNDLE.rglob("*.json"):
        target = folder / path.relative_to(BUNDLE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    report = json.loads((folder / "reports" / "deals_by_size.json").read_text(encoding="utf-8"))
    report["by"] = by
    (folder / "reports" / "deals_by_size.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("by", "code", "pointer"), [
    ([{"field": "amount", "bands": [1000, 500]}], "unsorted_bands", "/by/0/bands"),
    ([{"field": "title", "bands": [10]}], "unsuitable_field", "/by/0/field"),
    ([{"field": "amount", "bands": []}], "too_short", "/by/0/bands"),
])  # fmt: skip
def test_bands_out_of_order_or_on_a_field_that_is_not_a_number_are_refused(
    tmp_path: Path, by: Any, code: str, pointer: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definitions(_bundle_with(tmp_path, by))
    found = [(p.code, p.pointer, Path(p.file or "").name) for p in caught.value.problems]
    assert any(
        c.startswith(code) and (p or "").startswith(pointer) and f == "deals_by_size.json" for c, p, f in found
    ), found
