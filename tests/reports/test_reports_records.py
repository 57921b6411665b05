"""The report types over an entity's records, on SQLite and PostgreSQL: aggregates (with
related records, having, ratio, sort and limit), rankings and distributions, against
figures worked out from the data set in Python."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from reports_support import ACCOUNTS, BUNDLE, DEALS, VISITS, effective_scores, grouped, seed

from engine.errors import NotFoundError, UsageError
from engine.metadata import definitions_to_json, load_definitions
from engine.reports import list_reports, run_report
from engine.runtime import CrmEngine
from tests.support import SYSTEM, postgres_schema_url

WINDOW = {"from": "2024-03-01", "to": "2024-05-01"}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_visits_by_terminal_and_month(crm: CrmEngine) -> None:
    result = run_report(crm, "visits_by_month", actor=SYSTEM)
    ids = {name: i for i, (name, *_rest) in enumerate(ACCOUNTS, start=1)}
    expected: dict[tuple[int, str], list[int | None]] = {}
    for account, kind, done_at, minutes in VISITS:
        if kind == "visit":
            expected.setdefault((ids[account], done_at[:7]), []).append(minutes)
    assert [c["name"] for c in result.columns] == [
        "account",
        "account_display",
        "done_at_month",
        "visits",
        "minutes",
        "average_minutes",
    ]
    assert [(r["account"], r["done_at_month"]) for r in result.rows] == sorted(expected)
    for row in result.rows:
        minutes = [m for m in expected[(row["account"], row["done_at_month"])] if m is not None]
        assert row["visits"] == len(expected[(row["account"], row["done_at_month"])])
        assert row["minutes"] == (sum(minutes) if minutes else None)
        assert row["average_minutes"] == (pytest.approx(sum(minutes) / len(minutes)) if minutes else None)
        assert row["account_display"] == ACCOUNTS[row["account"] - 1][0]
    # 23:30 UTC on 29 February is February, whatever the server's time zone
    assert (4, "2024-02") in expected


def test_coverage_keeps_terminals_without_visits(crm: CrmEngine) -> None:
    rows = run_report(crm, "visit_coverage", params=WINDOW, actor=SYSTEM).rows
    start, end = _time(WINDOW["from"] + "T00:00:00Z"), _time(WINDOW["to"] + "T00:00:00Z")
    expected = []
    for index, (name, terminal, *_rest) in enumerate(ACCOUNTS, start=1):
        if terminal is None:
            continue
        visits = [
            (m, _time(at)) for a, kind, at, m in VISITS if a == name and kind == "visit" and start <= _time(at) < end
        ]
        minutes = [m for m, _ in visits if m is not None]
        expected.append({
            "id": index, "name": name, "visits": len(visits), "minutes": sum(minutes),
            "average_minutes": sum(minutes) / len(minutes) if minutes else None,
            "last_visit": max((at for _, at in visits), default=None),
        })  # fmt: skip
    expected.sort(key=lambda r: (r["visits"], r["name"]))
    assert rows == expected
    # by hand: nobody visited the two pharmacies in the window (Big Chain only in February)
    assert [(r["name"], r["visits"]) for r in rows[:2]] == [("Big Chain", 0), ("Corner Pharmacy", 0)]


def test_coverage_needs_its_window(crm: CrmEngine) -> None:
    with pytest.raises(UsageError) as caught:
        run_report(crm, "visit_coverage", actor=SYSTEM)
    assert sorted((p.code, p.field) for p in caught.value.problems) == [("required", "from"), ("required", "to")]


@pytest.mark.parametrize(("params", "owners"), [
    ({}, ["sam", "rita"]),
    ({"min_deals": "5"}, ["sam"]),
    ({"min_deals": 6}, []),
])  # fmt: skip
def test_aggregate_measures_having_sort(crm: CrmEngine, params: dict[str, Any], owners: list[str]) -> None:
    rows = run_report(crm, "deals_by_rep", params=params, actor=SYSTEM).rows
    expected = []
    for owner, deals in grouped(DEALS, lambda d: d.owner).items():
        amounts = [Decimal(d.amount) for d in deals]
        expected.append({
            "owner": owner, "deals": len(deals), "products": len({d.product for d in deals}),
            "total": sum(amounts), "largest": max(amounts), "average": float(sum(amounts) / len(amounts)),
        })  # fmt: skip
    expected.sort(key=lambda r: -r["total"])
    assert rows == [r for r in expected if r["owner"] in owners]
    assert [r["owner"] for r in rows] == owners


def test_ranking_by_score_uses_overrides_and_shares_ranks(crm: CrmEngine) -> None:
    result = run_report(crm, "account_ranking", actor=SYSTEM)
    assert [c["name"] for c in result.columns] == ["rank", "id", "name", "revenue", "value", "grade"]
    scores = effective_scores()
    ordered = sorted(ACCOUNTS, key=lambda a: (-scores[a[0]][0], ACCOUNTS.index(a)))[:3]
    values = [scores[a[0]][0] for a in ordered]
    ranks = [1 + sum(1 for v in values if v > value) for value in values]
    assert [(r["rank"], r["name"], r["value"], r["grade"]) for r in result.rows] == [
        (rank, a[0], scores[a[0]][0], scores[a[0]][1]) for rank, a in zip(ranks, ordered, strict=True)
    ]
    # by hand: Ruijin and Distributor X score 100 and share rank 1; Huashan is third on its override
    assert [(r["rank"], r["name"]) for r in result.rows] == [
        (1, "Ruijin Hospital"),
        (1, "Distributor X"),
        (3, "Huashan Hospital"),
    ]
    assert result.rows[0]["revenue"] == Decimal("2000000.00")


def test_ranking_by_field_ascending(crm: CrmEngine) -> None:
    rows = run_report(crm, "smallest_accounts", actor=SYSTEM).rows
    terminals = sorted((Decimal(a[2]), a[0]) for a in ACCOUNTS if a[1] is not None)[:2]
    assert [(r["rank"], r["name"], r["value"]) for r in rows] == [
        (i, name, revenue) for i, (revenue, name) in enumerate(terminals, start=1)
    ]


def _bins(values: list[float], bounds: list[int]) -> list[tuple[str, int]]:
    below = sum(1 for v in values if v < bounds[0])
    out = [(f"< {bounds[0]}", below)] if below else []
    for i, lower in enumerate(bounds):
        upper = bounds[i + 1] if i + 1 < len(bounds) else None
        count = sum(1 for v in values if v >= lower and (upper is None or v < upper))
        out.append((f"{lower}–{upper}" if upper is not None else f"≥ {lower}", count))
    return out


@pytest.mark.parametrize(("report", "values", "bounds"), [
    ("score_bins", [v for v, _ in effective_scores().values()], [0, 40, 70]),
    ("revenue_bins", [float(a[2]) for a in ACCOUNTS], [100000, 1000000]),
])  # fmt: skip
def test_distribution_of_values(crm: CrmEngine, report: str, values: list[float], bounds: list[int]) -> None:
    rows = run_report(crm, report, actor=SYSTEM).rows
    expected = _bins(values, bounds)
    assert [(r["bin"], r["records"]) for r in rows] == expected
    assert [r["share"] for r in rows] == pytest.approx([count / len(values) for _, count in expected])


def test_distribution_of_grades(crm: CrmEngine) -> None:
    result = run_report(crm, "tiers", actor=SYSTEM)
    grades = [g for _, g in effective_scores().values()]
    assert [(r["grade"], r["records"]) for r in result.rows] == [(g, grades.count(g)) for g in "ABCD"]
    assert result.rows[-1] == {"grade": "D", "records": 0, "share": 0.0}
    assert result.chart == {"type": "pie"}


def test_results_are_json(crm: CrmEngine) -> None:
    data = run_report(crm, "visit_coverage", params=WINDOW, actor=SYSTEM).to_json()
    assert data["label"] == {"en": "Visit coverage per terminal", "zh": "终端拜访覆盖"}
    assert data["columns"][2] == {"name": "visits", "label": {"en": "Visits", "zh": "拜访次数"}, "type": "integer"}
    ruijin = next(r for r in data["rows"] if r["name"] == "Ruijin Hospital")
    assert ruijin == {"id": 1, "name": "Ruijin Hospital", "visits": 3, "minutes": 75, "average_minutes": 37.5,
                      "last_visit": "2024-04-30T23:59:00+00:00"}  # fmt: skip


def test_stored_reports_read_back_equal(crm: CrmEngine) -> None:
    # the engine reloads definitions from the database: reports survive, in the order written
    reloaded = CrmEngine(crm.db.engine.url.render_as_string(hide_password=False))
    try:
        assert reloaded.model.definitions.reports == load_definitions(BUNDLE).reports
        assert [r.name for r in list_reports(reloaded)] == sorted(load_definitions(BUNDLE).reports)
        assert "reports" in definitions_to_json(reloaded.model.definitions)
    finally:
        reloaded.close()


def test_unknown_report(crm: CrmEngine) -> None:
    with pytest.raises(NotFoundError, match='"deal_funel"'):
        run_report(crm, "deal_funel", actor=SYSTEM)


@pytest.mark.postgres
def test_periods_are_utc_whatever_the_session_time_zone() -> None:
    schema = postgres_schema_url()
    url = next(schema)
    try:
        crm = seed(url + "%20-ctimezone%3DAsia/Shanghai")  # UTC+8: 29 February 23:30 UTC is 1 March there
        try:
            rows = run_report(crm, "visits_by_month", actor=SYSTEM).rows
        finally:
            crm.close()
    finally:
        schema.close()
    assert [(r["account_display"], r["done_at_month"]) for r in rows if r["account_display"] == "Big Chain"] == [
        ("Big Chain", "2024-02")
    ]
