"""Run a report by name: read its parameters, compute it in SQL, shape the result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.clock import utcnow
from engine.errors import NotFoundError
from engine.metadata import ReportDef
from engine.suggestions import did_you_mean

from ._context import ReportRun, read_scope
from ._params import resolve_params
from ._record_reports import aggregate, distribution, ranking
from ._result import Column, ReportResult, label_json, shape
from ._workflow_reports import forecast, funnel, rate, time_in_state

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import Actor

_Runner = Callable[[ReportRun, Any], tuple[list[Column], list[dict[str, Any]]]]
#: What computes each report type.
_RUNNERS: Mapping[str, _Runner] = {
    "funnel": funnel,
    "forecast": forecast,
    "time_in_state": time_in_state,
    "rate": rate,
    "aggregate": aggregate,
    "ranking": ranking,
    "distribution": distribution,
}
#: The chart a report gets when it names none.
_DEFAULT_CHARTS: Mapping[str, str] = {"funnel": "funnel"}


def list_reports(engine: CrmEngine) -> list[ReportDef]:
    """The reports of the applied definitions, by name."""
    reports = engine.model.definitions.reports
    return [reports[name] for name in sorted(reports)]


def find_report(engine: CrmEngine, name: str) -> ReportDef:
    """The report called ``name``; :class:`NotFoundError` naming the closest otherwise."""
    reports = engine.model.definitions.reports
    found = reports.get(name)
    if found is None:
        hint = did_you_mean(name, reports, otherwise=f" Reports: {', '.join(sorted(reports)) or 'none'}.")
        raise NotFoundError(f'there is no report "{name}".{hint}')
    return found


def run_report(
    engine: CrmEngine,
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    actor: Actor,
) -> ReportResult:
    """Compute the report ``name`` over the live data.

    :param params: parameter name → value; text (as the command line gives it) is read by
        the parameter's type. Parameters not given take their default.
    :param now: the end of stays still open (``time_in_state``); default: the current time.
    :param actor: who asks: for a user, the figures cover only the records the user may read
        (their roles' read scope of the report's entity: own, team or all). A user who may not
        read the entity, or from whom one of its fields is hidden, is refused: a report's groups
        and sums could show what the field hides. For the system: every record.
    :raises NotFoundError: when there is no such report.
    :raises PermissionDeniedError: when ``actor`` may not see the report's records.
    :raises UsageError: for an unknown or missing parameter, or a value a filter's field
        rejects (the problems point into the report: ``/where/amount/gte``).
    """
    return run_definition(engine, find_report(engine, name), params=params, now=now, actor=actor)


def run_definition(
    engine: CrmEngine,
    report: ReportDef,
    *,
    params: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    actor: Actor,
) -> ReportResult:
    """Compute ``report``, a report not (necessarily) among the definitions: one a service
    builds for itself (the dashboard's funnel conversion). Same rules as :func:`run_report`."""
    scope = read_scope(engine, report, actor, report.entity)
    run = ReportRun(
        engine=engine,
        report=report,
        values=resolve_params(report, params),
        now=now or utcnow(),
        actor=actor,
        scope=scope,
    )
    columns, rows = _RUNNERS[report.type](run, report.spec)
    return ReportResult(
        name=report.name,
        label=label_json(report.label),
        columns=[c.to_json() for c in columns],
        rows=shape(columns, rows),
        chart={"type": report.chart or _DEFAULT_CHARTS.get(report.type, "bar")},
    )
