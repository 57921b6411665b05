"""A report's result as a dashboard card: its principal measure drawn per group, and a
table of every column, values as people read them.

Each report type has one figure worth drawing (a forecast's weighted amount, a time in
stage's average stay, a rate's rate, a ranking's ranked value, a distribution's count);
the caption names it. Groups are labelled with what users know them by: a referenced
record's display text (the report's ``<field>_display`` column, else looked up through the
record service in one batched query per chart), a choice's or a state's label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.metadata import NUMBER_TYPES, EntityDef, ReportDef, ScoringDef
from engine.records import display_texts
from engine.reports import ReportResult
from engine.runtime import CrmEngine
from engine.users import User

from ._charts import Bar, bar_chart
from ._display import choice_label, plain
from ._i18n import Text, current_language, say
from ._people import USER_FIELDS, person_text

#: Rows of a report drawn (the table below a chart lists up to TABLE_ROWS).
CHART_ROWS = 12
TABLE_ROWS = 50
#: Rows of a two-dimensional report laid out as a table (row × column).
PIVOT_ROWS = 400
#: Report columns that hold numbers: number fields' own, and computed figures.
NUMERIC = NUMBER_TYPES | {"number", "ratio", "duration"}
#: The measure drawn for each report type (an aggregate draws its first numeric measure).
PRINCIPAL: Mapping[str, str] = {
    "funnel": "reached",
    "forecast": "weighted",
    "time_in_state": "average",
    "rate": "rate",
    "ranking": "value",
    "distribution": "records",
}
#: The columns of each type that are figures, not groups.
_FIGURES: Mapping[str, frozenset[str]] = {
    "funnel": frozenset({"entered", "reached", "conversion", "overall"}),
    "forecast": frozenset({"records", "amount", "weighted"}),
    "time_in_state": frozenset({"entries", "current", "average", "median", "longest"}),
    "rate": frozenset({"records", "passed", "rate"}),
    "distribution": frozenset({"lower", "upper", "records", "share"}),
}


#: The keys under which the built-in scorers list their grades, in order (thresholds,
#: tiers, RFM segments with labels).
_GRADE_LISTS = frozenset({"grades", "tiers", "segments", "rank_grades"})


@dataclass(frozen=True)
class _Column:
    name: str
    label: str
    type: str
    text: Callable[[Any], str]


def report_card(
    engine: CrmEngine, report: ReportDef, result: ReportResult, chart_id: str, user: User
) -> dict[str, Any]:
    """The card of ``report``: title, chart, caption and table (referenced records named as
    ``user`` reads them)."""
    language = current_language()
    columns = [_column(engine, report, c, language) for c in result.columns]
    by_name = {c.name: c for c in columns}
    figures = _figures(report, by_name)
    measure = _measure(report, columns, figures)
    title = Text(result.label["en"], result.label.get("zh")).get(language)
    card: dict[str, Any] = {
        "name": report.name,
        "title": title,
        "chart": None,
        "caption": None,
        "columns": [c.label for c in columns],
        "rows": [[c.text(row.get(c.name)) for c in columns] for row in result.rows[:TABLE_ROWS]],
        "more": max(len(result.rows) - TABLE_ROWS, 0),
    }
    if measure is None:
        return card
    groups = _group_columns(report, columns, figures)
    if len(groups) == 2:  # two dimensions: a table of the measure, one per row and column
        corner = " / ".join(_group_name(g, by_name) for g in groups)
        card["pivot"] = _pivot(engine, report, groups, measure, result.rows[:PIVOT_ROWS], user, corner)
        card["caption"] = say("pivot_caption", measure=measure.label, groups=corner)
        return card
    drawn = result.rows[:CHART_ROWS]
    labels = [" · ".join(parts) for parts in _group_labels(engine, report, groups, drawn, user)]
    bars = [
        Bar(labels[index] or str(index + 1), _number(row.get(measure.name)), measure.text(row.get(measure.name)))
        for index, row in enumerate(drawn)
    ]
    funnel = result.chart.get("type") == "funnel" and len(groups) == 1
    card["chart"] = bar_chart(chart_id, title, bars, funnel=funnel)
    group_names = ", ".join(_group_name(g, by_name) for g in groups)
    if report.type == "ranking":
        group_names = _entity_label(engine, report, language)
    card["caption"] = (
        say("chart_caption", measure=measure.label, groups=group_names)
        if group_names
        else say("chart_caption_total", measure=measure.label)
    )
    return card


def _entity_label(engine: CrmEngine, report: ReportDef, language: str) -> str:
    return engine.model.entity(report.entity).label.get(language)


def _group_name(column: _Column, columns: Mapping[str, _Column]) -> str:
    """A group column's name in a caption: a display column goes by its reference's."""
    reference = columns.get(column.name.removesuffix("_display"))
    return reference.label if column.name.endswith("_display") and reference is not None else column.label


def _figures(report: ReportDef, columns: Mapping[str, _Column]) -> frozenset[str]:
    if report.type == "aggregate":
        return frozenset(getattr(report.spec, "measures", {}))
    if report.type == "ranking":
        return frozenset(n for n in columns if n != "id")
    return _FIGURES.get(report.type, frozenset())


def _measure(report: ReportDef, columns: Sequence[_Column], figures: frozenset[str]) -> _Column | None:
    wanted = PRINCIPAL.get(report.type)
    numeric = [c for c in columns if c.type in NUMERIC and c.name in figures]
    if report.type == "aggregate":
        # the measure the report sorts by is the one it ranks its groups on
        names = {c.name for c in numeric}
        wanted = next((n.lstrip("-") for n in getattr(report.spec, "sort", ()) if n.lstrip("-") in names), None)
    return next((c for c in numeric if c.name == wanted), numeric[0] if numeric else None)


def _group_columns(report: ReportDef, columns: Sequence[_Column], figures: frozenset[str]) -> list[_Column]:
    """The columns that name a row's group: a reference gives way to its display column,
    and a grouping by ``id`` to the other group columns when there are some."""
    groups = [c for c in columns if c.name not in figures]
    names = {c.name for c in groups}
    groups = [c for c in groups if f"{c.name}_display" not in names]
    if len(groups) > 1:
        groups = [c for c in groups if c.name != "id"] or groups
    return groups


def _pivot(
    engine: CrmEngine,
    report: ReportDef,
    groups: Sequence[_Column],
    measure: _Column,
    rows: Sequence[Mapping[str, Any]],
    user: User,
    corner: str,
) -> dict[str, Any]:
    """A two-dimensional report as a table: the first group down, the second across, the
    measure in the cells (in the order the report gives them; "—" where it has no row)."""
    labels = _group_labels(engine, report, groups, rows, user)
    down: dict[str, dict[str, str]] = {}
    across: dict[str, str] = {}  # label → the value it names
    for (first, second), row in zip(labels, rows, strict=True):
        down.setdefault(first, {})[second] = measure.text(row.get(measure.name))
        across.setdefault(second, str(row.get(groups[1].name) or ""))
    columns = list(across)
    if groups[1].type not in ("state", "enum"):  # states and choices keep their order; months go in theirs
        columns.sort(key=lambda label: across[label])
    return {
        "corner": corner,
        "measure": measure.label,
        "columns": columns,
        "rows": [(label, [cells.get(c, "—") for c in columns]) for label, cells in down.items()],
    }


def _group_labels(
    engine: CrmEngine,
    report: ReportDef,
    groups: Sequence[_Column],
    rows: Sequence[Mapping[str, Any]],
    user: User,
) -> list[list[str]]:
    none = say("none_value")
    resolved: dict[str, dict[int, str]] = {}
    for column in groups:
        target = _target(engine, report, column)
        if target is not None:
            ids = [int(r[column.name]) for r in rows if r.get(column.name) is not None]
            resolved[column.name] = display_texts(engine.records, target, ids, user) if ids else {}
    labels = []
    for row in rows:
        parts = []
        for column in groups:
            value = row.get(column.name)
            if value is None or value == "":
                parts.append(none)
            elif column.name in resolved:
                parts.append(resolved[column.name].get(int(value), f"#{value}"))
            else:
                parts.append(column.text(value))
        labels.append(parts)
    return labels


def _target(engine: CrmEngine, report: ReportDef, column: _Column) -> str | None:
    """The entity whose records a group column holds the ids of, if it does."""
    if column.name == "id":
        return report.entity
    if column.type != "reference":
        return None
    field = engine.model.entity(report.entity).fields.get(column.name)
    return field.target if field is not None else None


def _column(engine: CrmEngine, report: ReportDef, column: Mapping[str, Any], language: str) -> _Column:
    label = Text(column["label"]["en"], column["label"].get("zh")).get(language)
    kind = str(column["type"])
    name = str(column["name"])
    return _Column(name, label, kind, _formatter(engine, report, name, kind, language))


def _formatter(engine: CrmEngine, report: ReportDef, name: str, kind: str, language: str) -> Callable[[Any], str]:
    if kind == "state" and report.workflow is not None:
        states = engine.model.definitions.workflows[report.workflow].states
        return lambda v: _blank(v) or (states[v].label.get(language) if v in states else str(v))
    if kind == "enum":
        entity: EntityDef = engine.model.entity(report.entity)
        field = entity.fields.get(name)
        if field is not None and field.type == "enum":
            return lambda v: _blank(v) or choice_label(field, v)
    if name == "grade" and kind == "string":
        scoring = _scoring_of(engine, report)
        if scoring is not None:
            names = grade_names(scoring, language)
            return lambda v: _blank(v) or names.get(str(v), humanize(str(v)))
    if name in USER_FIELDS:
        return lambda v: _blank(v) or person_text(engine, str(v))
    if kind == "ratio":
        return lambda v: _blank(v) or _percent(v)
    if kind == "duration":
        unit = getattr(report.spec, "unit", "day")
        return lambda v: _blank(v) or duration(float(v), unit)
    if kind in NUMBER_TYPES or kind == "number":
        return lambda v: _blank(v) or _amount(v)
    return lambda v: _blank(v) or plain(None, v)


def grade_names(scoring: ScoringDef, language: str) -> dict[str, str]:
    """grade → the name people read, in the order the scoring lists its grades: a label
    the scoring's configuration gives the grade (an RFM segment's), else the grade with
    its underscores as spaces ("big_spenders" → "Big spenders")."""
    names: dict[str, str] = {}
    for key, value in scoring.config.items():
        if key not in _GRADE_LISTS or not isinstance(value, list | tuple):
            continue
        for item in value:
            if not isinstance(item, Mapping):
                continue
            grade = item.get("grade", item.get("tier", item.get("name")))
            if not isinstance(grade, str) or grade in names:
                continue
            label = item.get("label")
            if isinstance(label, Mapping) and label.get("en"):
                names[grade] = str(label.get(language) or label["en"])
            else:
                names[grade] = humanize(grade)
    return names


def humanize(value: str) -> str:
    """A snake_case identifier as words; other text as it is."""
    if value.islower() and value.replace("_", "").isalnum() and any(c.isalpha() for c in value):
        return value.replace("_", " ").capitalize()
    return value


def _scoring_of(engine: CrmEngine, report: ReportDef) -> ScoringDef | None:
    """The scoring whose grades a distribution or ranking shows."""
    name = getattr(report.spec, "grades_of", None) or getattr(getattr(report.spec, "rank_by", None), "scoring", None)
    return engine.model.definitions.scorings.get(name) if name else None


def _blank(value: Any) -> str:
    return "—" if value is None or value == "" else ""


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _amount(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    number = float(value)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def _percent(value: Any) -> str:
    text = f"{float(value) * 100:.1f}".removesuffix(".0")
    return f"{text}%"


def duration(value: float, unit: str) -> str:
    """A stay as people say it, whatever the report's unit: in hours under a day ("9.5
    hours"), else in days ("3.2 days", never "1,651.3 hours")."""
    hours = value if unit == "hour" else value * 24
    if hours < 24:
        return say("hours", n=f"{hours:,.1f}")
    return say("days", n=f"{hours / 24:,.1f}")
