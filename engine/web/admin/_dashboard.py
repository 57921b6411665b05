"""The dashboard: KPI tiles over a period the user picks, the funnel and won trend of a
workflow, a row per workflow, the score distributions and the reports the live definitions
hold, each as a chart with its numbers.

Every figure comes from a service: the tiles, funnel and trend from
:func:`engine.workspace.dashboard` (counts and sums through the record service), reports from
``engine.reports``. Every tile, bar and point links to the list of the records it counts.

Charts are the hand-written inline SVG of :mod:`._charts`, not a charting library: the
dashboard needs labelled bars, a funnel and a line, which that draws in a few dozen lines
with no JavaScript, no file to vendor and keep up to date, and nothing to load (the UI works
offline and in a locked-down browser). Each chart has a title and a description listing its
numbers, prints its numbers beside the picture, and its bars and points are plain links, so
it reads, and drills down, with the keyboard or a screen reader.

What a user sees follows their roles. Tiles, funnel and trend count the records the record
service lets them read (a rep's are their own pipeline). Reports and score distributions
are figures over every record of an entity, which neither service restricts: they are
shown to users who may read every record of that entity with no field hidden from them
(administrators, and roles with ``read: all``), and to no one else.
"""

from __future__ import annotations

from typing import Any

from flask import flash, request
from flask_admin import AdminIndexView

from engine.errors import CrmError, UsageError
from engine.metadata import ReportDef, ScoringDef
from engine.reports import list_reports, run_report
from engine.runtime import CrmEngine
from engine.users import User
from engine.workspace import PERIODS, dashboard, period_of

from ._access import SignedInOnly
from ._auth import acting_user
from ._charts import Bar, bar_chart
from ._dashboard_tiles import Shown, funnel, period_text, pipeline_rows, tiles, trend
from ._expose import expose
from ._i18n import current_language, say, word
from ._permitted import reads_everything
from ._report_charts import grade_names, humanize, report_card

#: Slices of a score histogram.
BUCKETS = 10


class DashboardView(SignedInOnly, AdminIndexView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine
        super().__init__(name=word("dashboard"), url="/admin", endpoint="admin", template="crm_admin/dashboard.html")

    @expose("/")
    def index(self) -> Any:
        if not self.engine.has_definitions:
            return self.render(self._template, empty=True, workflows=[], reports=[])
        user = acting_user()
        definitions = self.engine.model.definitions
        workflows = [w for w in definitions.workflows.values() if self._readable(user, w.entity, w.field)]
        try:
            period = period_of(request.args)
        except UsageError as error:
            flash(say("error", message=error.message), "danger")
            period = period_of({})
        figures = dashboard(self.engine, user, period, workflow=request.args.get("workflow"))
        shown = Shown(self.engine)
        main = figures.main
        scorings = [s for s in definitions.scorings.values() if self._all_readable(user, s.entity)]
        return self.render(
            self._template,
            empty=False,
            workflows=workflows,
            chosen=main.workflow if main else None,
            period=period,
            period_label=period_text(period),
            previous_label=period_text(figures.previous),
            periods=[(name, word(f"period_{name}")) for name in PERIODS],
            tiles=tiles(shown, figures),
            funnel=funnel(shown, main) if main else None,
            trend=trend(shown, main, period) if main else None,
            pipelines=pipeline_rows(shown, figures),
            scores=[self._distribution(s) for s in scorings],
            reports=bool(definitions.reports),
            label=lambda label: label.get(current_language()),
        )

    @expose("/reports/")
    def reports_view(self) -> Any:
        """Every report the user may see as a card: a page of its own, and, with
        ``?part=1``, the cards alone, which the dashboard loads after its first screen (the
        reports take longer than the tiles; the figures come first)."""
        part = request.args.get("part") == "1"
        template = "crm_admin/report_cards.html" if part else "crm_admin/reports.html"
        if not self.engine.has_definitions:
            return self.render(template, reports=[], withheld=0, scoped=False)
        user = acting_user()
        reports = [r for r in list_reports(self.engine) if self._reportable(user, r.entity)]
        return self.render(
            template,
            reports=[self._report(report, user) for report in reports],
            withheld=len(self.engine.model.definitions.reports) - len(reports),
            scoped=any(not self._all_readable(user, r.entity) for r in reports),
        )

    def _readable(self, user: User, entity: str, field: str) -> bool:
        access = self.engine.permissions.access(user, entity)
        return access.allows("read") and field not in access.hidden

    def _reportable(self, user: User, entity: str) -> bool:
        """Reports count the records the user may read (``run_report(user=)``); one whose
        entity has a field hidden from the user is withheld, as the service refuses it."""
        access = self.engine.permissions.access(user, entity)
        return access.allows("read") and not access.hidden

    def _all_readable(self, user: User, entity: str) -> bool:
        return reads_everything(self.engine.permissions.access(user, entity))

    def _distribution(self, scoring: ScoringDef) -> dict[str, Any]:
        """Records per grade of the stored scores when the scorer grades, else per tenth of
        the range of the values found (read through the scoring service, so a scoring
        without target fields counts too, and an override counts as the score)."""
        language = current_language()
        title = f"{word('score_distribution')}: {scoring.label.get(language)}"
        summary = self.engine.scoring.summary(scoring.name, bins=BUCKETS)
        chart_id = f"scores-{scoring.name}"
        out: dict[str, Any] = {"title": title, "chart": None, "caption": None}
        if not summary.scored:
            out["caption"] = say("not_scored_yet")
            return out
        if summary.grades:
            bars = [Bar(label, count) for label, count in _graded(self.engine, scoring, summary.grades, language)]
            out["caption"] = say("grade_caption", scored=f"{summary.scored:,}")
        else:
            bars = [Bar(f"{_short(b.lower)}–{_short(b.upper)}", b.records) for b in summary.bins]
            out["caption"] = say("value_caption", scored=f"{summary.scored:,}")
        out["chart"] = bar_chart(chart_id, title, bars, css_class="crm-chart crm-scores")
        return out

    def _report(self, report: ReportDef, user: User) -> dict[str, Any]:
        try:
            result = run_report(self.engine, report.name, actor=user)
        except CrmError as error:
            return {"name": report.name, "title": report.label.get(current_language()),
                    "error": say("report_failed", message=error.message)}  # fmt: skip
        return report_card(self.engine, report, result, f"report-{report.name}", user)


def _graded(engine: CrmEngine, scoring: ScoringDef, grades: dict[str, int], language: str) -> list[tuple[str, int]]:
    """(name, records) per grade: in the order of the grade field's choices, with their
    labels, when the grade goes into an enum field; else in the order the scoring lists
    them (every listed grade shown, also with no records), then the others found, sorted."""
    field = engine.model.entity(scoring.entity).fields.get(scoring.target_grade or "")
    if field is not None and field.choices:
        names = {c.value: c.label.get(language) for c in field.choices}
    else:
        names = grade_names(scoring, language)
    listed = [(name, grades.get(grade, 0)) for grade, name in names.items()]
    return listed + sorted((humanize(g), n) for g, n in grades.items() if g not in names)


def _short(number: float) -> str:
    return f"{number:,.0f}" if abs(number) >= 10 or float(number).is_integer() else f"{number:,.2f}"
