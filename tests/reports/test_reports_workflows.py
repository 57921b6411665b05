"""The report types over a workflow, on SQLite and PostgreSQL: funnel, forecast, time in
state and pass rate, against figures worked out from the data set in Python."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reports_support import BUNDLE, DEALS, NOW, PROJECT_STATES, PROJECTS, funnel_rows, grouped, time_rows

from engine.errors import UsageError
from engine.metadata import load_definitions
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


# learned probabilities -----------------------------------------------------------------------
OPEN = ["lead", "qualified", "proposal"]


def _learned(deals: Any, min_sample: int, closed_since: datetime | None = None) -> dict[str, tuple[Any, int]]:
    """Each open state's (percent or None, sample), worked out from the deals' histories."""
    closed = [d for d in deals if d.states[-1] in ("won", "lost")]
    if closed_since is not None:
        closed = [d for d in closed if d.entries()[-1][1] >= closed_since]
    out: dict[str, tuple[Any, int]] = {}
    for i, state in enumerate(OPEN):
        entered = [d for d in closed if state in d.states]
        pooled = [d for d in closed if set(OPEN[i:]) & set(d.states)]
        for group in (entered, pooled):
            if len(group) >= min_sample:
                out[state] = (Decimal(100 * sum(d.states[-1] == "won" for d in group)) / len(group), len(group))
                break
        else:
            out[state] = (None, len(entered))
    return out


def _expected_forecast(deals: Any, learned: dict[str, tuple[Any, int]], key: Any) -> dict[Any, tuple[Any, ...]]:
    out = {}
    for k, group in grouped([d for d in deals if d.states[-1] in OPEN], key).items():
        known = [d for d in group if learned[d.states[-1]][0] is not None]
        weighted = sum(Decimal(d.amount) * learned[d.states[-1]][0] / 100 for d in known) if known else None
        amount = sum(Decimal(d.amount) for d in group)
        probability = float(weighted / sum(Decimal(d.amount) for d in known)) if known else None  # type: ignore[operator]
        sample = min(learned[d.states[-1]][1] for d in group)
        out[k] = (
            len(group),
            amount,
            None if weighted is None else weighted.quantize(Decimal("0.01")),
            probability,
            sample,
        )
    return out


def _shown(rows: list[dict[str, Any]], key: str) -> dict[Any, tuple[Any, ...]]:
    return {r[key]: (r["records"], r["amount"], r["weighted"], r["probability"], r["sample"]) for r in rows}


def test_learned_forecast_measures_stage_probabilities_from_history(crm: CrmEngine) -> None:
    result = run_report(crm, "learned_forecast", now=NOW, actor=SYSTEM)
    assert [c["name"] for c in result.columns][-2:] == ["probability", "sample"]
    learned = _learned(DEALS, 3)
    # by hand: closed are D1 (won), D2, D3, D7 (won), D9; lead 2 of 5, qualified 2 of 3 (D1, D2,
    # D7), proposal only D1 (1 < 3, and no closed record entered a later open state): unknown
    assert learned == {"lead": (40, 5), "qualified": (Decimal(200) / 3, 3), "proposal": (None, 1)}
    expected = _expected_forecast(DEALS, learned, lambda d: d.owner)
    shown = _shown(result.rows, "owner")
    assert shown.keys() == expected.keys()
    for owner, row in shown.items():
        assert row[:3] == expected[owner][:3] and row[4] == expected[owner][4], owner
        assert row[3] == pytest.approx(expected[owner][3], abs=1e-4)
    # rita: D8 qualified 700 × 66.67 %; sam: D5 lead 4000 × 40 % + D6 100 × 66.67 %, D4's
    # proposal unknown (counted in the amount, not weighted)
    assert shown["rita"][:3] == (1, Decimal("700.00"), Decimal("466.67"))
    assert shown["sam"][:3] == (3, Decimal("7100.00"), Decimal("1666.67"))
    assert shown["sam"][3] == pytest.approx(1666.6667 / 4100, abs=1e-4)
    assert shown["sam"][4] == 1


def test_learned_forecast_learns_only_since_the_given_date(crm: CrmEngine) -> None:
    rows = _rows(crm, "learned_forecast", since="2024-03-01")
    since = datetime(2024, 3, 1, tzinfo=UTC)
    learned = _learned(DEALS, 3, since)
    # closed since March: D3 (lost), D7 (won), D9 (lost) → lead 1 of 3; D7 alone for qualified
    assert learned == {"lead": (Decimal(100) / 3, 3), "qualified": (None, 1), "proposal": (None, 0)}
    shown = _shown(rows, "owner")
    assert shown["rita"][2:] == (None, None, 1)  # D8 is qualified: unknown
    assert shown["sam"][:3] == (3, Decimal("7100.00"), Decimal("1333.33"))  # D5's lead only


def test_learned_forecast_learns_within_the_users_read_scope(crm: CrmEngine, tmp_path: Path) -> None:
    # reps who read only their own deals: rita's forecast learns from her closed deals alone
    bundle = tmp_path / "sales"
    shutil.copytree(BUNDLE, bundle)
    role = {"schema_version": 1, "kind": "role", "name": "rep", "permissions": {"*": {"read": "own"}}}
    (bundle / "rep.json").write_text(json.dumps(role))
    crm.apply(load_definitions(bundle))
    rows = run_report(crm, "learned_forecast", now=NOW, actor=crm.users.get("rita")).rows
    # closed D1 (won), D2, D3 → lead 1 of 3; qualified D1, D2: 2 < 3, so D8's is unknown
    rita = [d for d in DEALS if d.owner == "rita"]
    assert _learned(rita, 3) == {"lead": (Decimal(100) / 3, 3), "qualified": (None, 2), "proposal": (None, 1)}
    assert [(r["owner"], r["records"], r["weighted"], r["sample"]) for r in rows] == [("rita", 1, None, 2)]
    # the system still learns from everyone's deals
    assert {r["owner"]: r["sample"] for r in _rows(crm, "learned_forecast")} == {"rita": 3, "sam": 1}


def test_learned_forecast_by_quarter_of_expected_close(crm: CrmEngine) -> None:
    result = run_report(crm, "learned_forecast_by_close", now=NOW, actor=SYSTEM)
    assert result.columns[0]["name"] == "expected_close_quarter"
    learned = _learned(DEALS, 3)

    def quarter(d: Any) -> str | None:
        if d.expected_close is None:
            return None
        month = int(d.expected_close[5:7])
        return f"{d.expected_close[:4]}-Q{(month + 2) // 3}"

    expected = _expected_forecast(DEALS, learned, quarter)
    shown = _shown(result.rows, "expected_close_quarter")
    assert list(shown) == ["2024-Q3", "2024-Q4", None]  # by quarter, no date last
    for key, row in shown.items():
        assert row[:3] == expected[key][:3] and row[4] == expected[key][4], key
    # by hand: Q3 D4 (proposal, unknown) + D6 (100 × 66.67 %); Q4 D5 (4000 × 40 %)
    assert shown["2024-Q3"][:3] == (2, Decimal("3100.00"), Decimal("66.67"))
    assert shown["2024-Q4"][:3] == (1, Decimal("4000.00"), Decimal("1600.00"))
