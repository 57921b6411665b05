"""Every report of every mode and industry, run on demo data on SQLite and PostgreSQL, shows
the figures of the generated rows: funnels count what the workflow history holds, forecasts
add up amount × probability, rates divide what they should, aggregates and distributions
count the records, rankings keep their order. The expected figures come from plain rows
(``report_figures``), never from the report engine, and no report may come out empty on
demo data: an empty report is a report nobody can check.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.metadata import (
    AggregateSpec,
    DistributionSpec,
    ForecastSpec,
    FunnelSpec,
    RankingSpec,
    RateSpec,
    ReportDef,
    TimeInStateSpec,
)
from engine.presets import MODES, generate_demo, load_preset
from engine.reports import run_report
from engine.runtime import CrmEngine
from tests.presets import report_figures as figures
from tests.presets.conftest import BACKENDS
from tests.presets.presets_support import PRESETS, engines_per_preset, mode_of
from tests.presets.presets_support import load_preset as preset_definitions
from tests.support import SYSTEM

#: Demo data and report runs are as of this moment.
NOW = datetime(2025, 6, 30, tzinfo=UTC)
#: Records of demo data per preset: a few hundred, enough for every report to show something.
DEMO_SIZE = 400
LOADED = [p for p in PRESETS if p != "core"]


def _cases() -> list[Any]:
    cases = []
    for preset in LOADED:
        for name in sorted(preset_definitions(preset).reports):
            cases.append(pytest.param(preset, name, id=f"{preset}-{name}"))
    return cases


@pytest.fixture(scope="module")
def demo_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``get(preset, backend)``: an engine with the preset loaded (as ``crm preset load``
    does), demo data generated and every scoring run; made once per preset and database."""

    def set_up(engine: CrmEngine, preset: str) -> None:
        mode = mode_of(preset)
        assert mode is not None
        load_preset(engine, mode, industry=None if preset == mode else preset[len(mode) + 1 :])
        generate_demo(engine, preset, DEMO_SIZE, now=NOW)
        runs = engine.scoring.run(now=NOW)
        assert [r.error for r in runs] == [None] * len(runs)

    with engines_per_preset(tmp_path_factory, set_up) as get:
        yield get


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_mode_and_industry_has_reports() -> None:
    for preset in LOADED:
        reports = preset_definitions(preset).reports
        assert len(reports) >= 8, preset
        assert all(r.label.zh and r.chart for r in reports.values()), preset
    for mode in MODES:
        assert len(preset_definitions(mode).reports) >= 9, mode


@pytest.mark.parametrize(("preset", "name"), _cases())
def test_report_figures_match_the_demo_data(preset: str, name: str, backend: str, demo_engines: Any) -> None:
    engine: CrmEngine = demo_engines(preset, backend)
    report = engine.model.definitions.reports[name]
    result = run_report(engine, name, now=NOW, actor=SYSTEM)
    assert result.rows, f"{name} is empty on demo data"
    assert any(_figure(v) for row in result.rows for v in _measured(report, row)), f"{name} shows only zeros"
    CHECKS[type(report.spec)](engine, report, result.rows)


def _figure(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool) and value != 0


def _measured(report: ReportDef, row: dict[str, Any]) -> list[Any]:
    keys = getattr(report.spec, "by", ())
    group = {k.column for k in keys} | {f"{k.field}_display" for k in keys} | {"id", "rank"}
    return [v for k, v in row.items() if k not in group]


def _close(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return abs(float(actual) - float(expected)) <= 1e-6 * max(1.0, abs(float(expected)))


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def check_funnel(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, FunnelSpec)
    expected = figures.funnel(engine, report, spec)
    shown = {(figures.row_group(r, spec.by), r["state"]): (r["entered"], r["reached"]) for r in rows}
    assert shown == expected
    for r in rows:
        group = figures.row_group(r, spec.by)
        i = spec.states.index(r["state"])
        first = expected[(group, spec.states[0])][1]
        previous = expected[(group, spec.states[i - 1])][1] if i else 0
        assert _close(r["overall"], r["reached"] / first if first else None)
        assert _close(r["conversion"], r["reached"] / previous if i and previous else None)
    # a stage is reached by no more records than the one before it
    for group in {g for g, _ in expected}:
        reached = [expected[(group, s)][1] for s in spec.states]
        assert reached == sorted(reached, reverse=True)


def check_forecast(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, ForecastSpec)
    expected = figures.forecast(engine, report, spec, NOW)
    shown = {figures.row_group(r, spec.by): (r["records"], _money(r["amount"]), _money(r["weighted"])) for r in rows}
    assert shown == {g: (n, _money(a), _money(w)) for g, (n, a, w) in expected.items()}
    if spec.learned:
        check_learned(engine, report, spec, rows)


def check_learned(engine: CrmEngine, report: ReportDef, spec: ForecastSpec, rows: list[dict[str, Any]]) -> None:
    """A learned forecast's probability and sample per row, from the history read in Python."""
    learned = figures.learned(engine, report, spec, NOW)
    assert any(p is not None for p, _ in learned.values()), "the demo data teaches no probability"
    assert report.workflow is not None
    field = engine.model.definitions.workflows[report.workflow].field
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in figures.records(engine, report.entity, spec.where):
        if record[field] in learned:
            groups.setdefault(figures.group_of(record, spec.by), []).append(record)
    for r in rows:
        members = groups[figures.row_group(r, spec.by)]
        assert r["sample"] == min(learned[m[field]][1] for m in members)
        known = [m for m in members if learned[m[field]][0] is not None and m[spec.amount] is not None]
        amount = sum((Decimal(str(m[spec.amount])) for m in known), Decimal(0))
        assert _close(r["probability"], (r["weighted"] / amount) if amount else None)


def check_rate(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, RateSpec)
    expected = figures.rate(engine, report, spec)
    assert {figures.row_group(r, spec.by): (r["records"], r["passed"]) for r in rows} == expected
    for r in rows:
        assert _close(r["rate"], r["passed"] / r["records"])


def check_time_in_state(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, TimeInStateSpec)
    states = spec.states or tuple(dict.fromkeys(r["state"] for r in rows))
    expected = figures.time_in_state(engine, report, spec, states, NOW)
    assert {(figures.row_group(r, spec.by), r["state"]) for r in rows} == set(expected)
    for r in rows:
        want = expected[(figures.row_group(r, spec.by), r["state"])]
        assert (r["entries"], r["current"]) == (want["entries"], want["current"])
        for key in ("average", "median", "longest"):
            assert _close(r[key], want[key]), (r["state"], key)


def check_aggregate(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, AggregateSpec)
    expected = figures.aggregate(engine, report, spec)
    if spec.limit is None:
        assert {figures.row_group(r, spec.by) for r in rows} == set(expected)
    for r in rows:
        want = expected[figures.row_group(r, spec.by)]
        for name, measure in spec.measures.items():
            value = want[name]
            if measure.op in ("sum", "avg", "ratio") or isinstance(value, Decimal):
                assert _close(r[name], value), name
            else:
                assert r[name] == value, name
    keys = spec.sort or tuple(k.column for k in spec.by)
    for earlier, later in itertools.pairwise(rows):
        assert not _before(later, earlier, keys), (earlier, later)


def _before(a: dict[str, Any], b: dict[str, Any], keys: tuple[str, ...]) -> bool:
    """Whether ``a`` sorts strictly before ``b`` by ``keys`` (nulls last)."""
    for key in keys:
        name, down = key.removeprefix("-"), key.startswith("-")
        x, y = a[name], b[name]
        if x == y:
            continue
        if x is None or y is None:
            return y is None
        return (x > y) if down else (x < y)
    return False


def check_ranking(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, RankingSpec)
    expected = figures.ranking(engine, report, spec)
    assert [(r["rank"], r["id"]) for r in rows] == [(rank, i) for rank, i, _ in expected]
    assert all(_close(r["value"], v) for r, (_, _, v) in zip(rows, expected, strict=True))


def check_distribution(engine: CrmEngine, report: ReportDef, rows: list[dict[str, Any]]) -> None:
    spec = report.spec
    assert isinstance(spec, DistributionSpec) and spec.grades_of is not None
    expected = figures.grades(engine, report, spec)
    shown = {r["grade"]: r["records"] for r in rows}
    assert {g: n for g, n in shown.items() if n} == expected
    assert list(shown)[: len(spec.grade_order)] == list(spec.grade_order)
    total = sum(expected.values())
    assert sum(shown.values()) == total
    assert all(_close(r["share"], r["records"] / total) for r in rows)


CHECKS = {
    FunnelSpec: check_funnel,
    ForecastSpec: check_forecast,
    RateSpec: check_rate,
    TimeInStateSpec: check_time_in_state,
    AggregateSpec: check_aggregate,
    RankingSpec: check_ranking,
    DistributionSpec: check_distribution,
}
