"""The report types over a workflow, on SQLite and PostgreSQL: funnel, forecast, time in
state and pass rate, against figures worked out from the data set in Python."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from reports_support import DEALS, NOW, PROJECT_STATES, PROJECTS, funnel_rows, grouped, time_rows

from engine.errors import UsageError
from engine.reports import run_report
from engine.runtime import CrmEngine
from tests.support import SYSTEM


def _rows(crm: CrmEngine, name: str, **params: Any) -> list[dict[str, Any]]:
    return run_report(crm, name, params=params, now=NOW, actor=SYSTEM).rows


@pytest.mark.parametrize(("min_amount", "deals"), [
    (None, DEALS),
    ("1000", [d for d in DEALS if Decimal(d.amount) >= 1000]),
])  # fmt: skip
def test_funnel_counts_every_stage_a_deal_passed(crm: CrmEngine, min_amount: str | None, deals: Any) -> None:
    params = {} if min_amount is None else {"min_amount": min_amount}
    rows = _rows(crm, "deal_funnel", **params)
    states = ["lead", "qualified", "proposal", "won"]
    expected = funnel_rows(states, grouped(deals, lambda d: d.owner))
    assert [(r["owner"], r["state"], r["entered"], r["reached"]) for r in rows] == [
        (e["key"], e["state"], e["entered"], e["reached"]) for e in expected
    ]
    assert [r["conversion"] for r in rows] == pytest.approx([e["conversion"] for e in expected])
    assert [r["overall"] for r in rows] == pytest.approx([e["overall"] for e in expected])


def test_funnel_figures_by_hand(crm: CrmEngine) -> None:
    # sam: D4, D5, D6, D7, D9 entered lead; D4, D6, D7 qualified; D4 proposal; D7 won
    # (closed fast, skipping proposal: it still reached that stage).
    sam = {r["state"]: r for r in _rows(crm, "deal_funnel") if r["owner"] == "sam"}
    assert [(s, sam[s]["entered"], sam[s]["reached"]) for s in sam] == [
        ("lead", 5, 5),
        ("qualified", 3, 3),
        ("proposal", 1, 2),
        ("won", 1, 1),
    ]
    assert sam["qualified"]["conversion"] == pytest.approx(3 / 5)
    assert sam["won"]["conversion"] == pytest.approx(1 / 2)
    assert sam["won"]["overall"] == pytest.approx(1 / 5)
    assert sam["lead"]["conversion"] is None


def test_funnel_by_reference_and_quarter(crm: CrmEngine) -> None:
    result = run_report(crm, "funnel_by_product", actor=SYSTEM)
    assert [c["name"] for c in result.columns] == [
        "product",
        "product_display",
        "created_at_quarter",
        "state",
        "entered",
        "reached",
        "conversion",
        "overall",
    ]
    assert result.chart == {"type": "bar"}
    ids = {"Widget": 1, "Gadget": 2}
    states = ["lead", "qualified", "won"]
    expected = funnel_rows(states, grouped(DEALS, lambda d: (ids[d.product], d.quarter)))
    keys = ("product", "product_display", "created_at_quarter", "state", "reached")
    shown = [tuple(r[k] for k in keys) for r in result.rows]
    assert shown == [
        (e["key"][0], "Widget" if e["key"][0] == 1 else "Gadget", e["key"][1], e["state"], e["reached"])
        for e in expected
    ]


def test_weighted_forecast_by_rep(crm: CrmEngine) -> None:
    probabilities = {"lead": 10, "qualified": 30, "proposal": 60}
    expected = {}
    for owner, deals in grouped(DEALS, lambda d: d.owner).items():
        open_ = [d for d in deals if d.states[-1] in probabilities]
        if open_:
            amount = sum(Decimal(d.amount) for d in open_)
            weighted = sum(Decimal(d.amount) * probabilities[d.states[-1]] / 100 for d in open_)
            expected[owner] = (len(open_), amount, weighted)
    rows = _rows(crm, "weighted_forecast")
    assert {r["owner"]: (r["records"], r["amount"], r["weighted"]) for r in rows} == expected
    # by hand: sam has D4 in proposal, D5 a lead, D6 qualified; rita D8 qualified
    assert expected == {"rita": (1, Decimal("700.00"), Decimal("210.00")),
                        "sam": (3, Decimal("7100.00"), Decimal("2230.00"))}  # fmt: skip


def test_forecast_by_stage_lists_the_weighted_amount_per_state(crm: CrmEngine) -> None:
    result = run_report(crm, "forecast_by_stage", actor=SYSTEM)
    assert [c["type"] for c in result.columns] == ["enum", "integer", "money", "money"]
    rows = {r["stage"]: (r["records"], r["weighted"]) for r in result.rows}
    assert rows == {
        "lead": (1, Decimal("400.00")),
        "qualified": (2, Decimal("240.00")),
        "proposal": (1, Decimal("1800.00")),
        "won": (2, Decimal("1600.00")),
    }


def test_time_in_state_uses_history_and_now(crm: CrmEngine) -> None:
    rows = _rows(crm, "stage_time")
    expected = time_rows(["lead", "qualified", "proposal"])  # the non-final states
    order = ["lead", "qualified", "proposal"]
    assert [(r["owner"], r["state"]) for r in rows] == sorted(expected, key=lambda k: (k[0], order.index(k[1])))
    for row in rows:
        figures = expected[(row["owner"], row["state"])]
        assert (row["entries"], row["current"]) == (figures["entries"], figures["current"])
        for key in ("average", "median", "longest"):
            assert row[key] == pytest.approx(figures[key], abs=1e-3), (row, key)


def test_time_in_state_by_hand(crm: CrmEngine) -> None:
    # rita's leads: D1 24 h, D2 10 h, D3 5 h, D8 48 h → median 17 h
    rita = {r["state"]: r for r in _rows(crm, "stage_time") if r["owner"] == "rita"}
    assert rita["lead"]["median"] == pytest.approx(17.0, abs=1e-3)
    assert rita["lead"]["longest"] == pytest.approx(48.0, abs=1e-3)
    # D8 is still qualified: from 2024-04-05 09:00 to NOW
    assert rita["qualified"]["current"] == 1


def test_pass_rate(crm: CrmEngine) -> None:
    expected = {}
    for _name, owner, transitions in PROJECTS:
        states = {PROJECT_STATES[t] for t in transitions}
        if "submitted" in states:
            base, passed = expected.get(owner, (0, 0))
            expected[owner] = (base + 1, passed + ("approved" in states))
    rows = _rows(crm, "approval_rate")
    assert {r["owner"]: (r["records"], r["passed"]) for r in rows} == expected == {"rita": (2, 1), "sam": (3, 2)}
    assert [r["rate"] for r in rows] == pytest.approx([1 / 2, 2 / 3])


@pytest.mark.parametrize(("params", "code"), [
    ({"min_amount": "lots"}, "invalid_value"),
    ({"minimum": "5"}, "unknown_param"),
])  # fmt: skip
def test_bad_parameters_are_usage_errors(crm: CrmEngine, params: dict[str, str], code: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_report(crm, "deal_funnel", params=params, actor=SYSTEM)
    assert [p.code for p in caught.value.problems] == [code]
