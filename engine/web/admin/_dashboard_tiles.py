"""The dashboard's figures (:func:`engine.workspace.dashboard`) as a page shows them: KPI
tiles, the funnel of the main workflow, its won trend and a row per workflow, every number
printed as people read it (money at its field's scale, a change against the period before as
a percentage) and linked to the list of the records it counts (:class:`ListLinks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import url_for
from markupsafe import Markup

from engine.records import format_amount
from engine.runtime import CrmEngine
from engine.workspace import Dashboard, Figure, Period, Pipeline

from ._charts import Bar, bar_chart, trend_chart
from ._drill import ListLinks
from ._i18n import current_language, say, word


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    count: int
    href: str
    notes: list[tuple[str, str | None]] = field(default_factory=list)  # (text, link)
    tone: str = ""  # "good" / "bad": how the figure compares with the period before


class Shown:
    """Money and links of one page."""

    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine
        self.links = ListLinks(engine)

    def money(self, figure: Figure) -> str:
        if figure.amount is None:
            return ""
        found = self.engine.model.entity(figure.entity).fields.get(figure.amount)
        return format_amount(figure.total if figure.total is not None else Decimal(0), found.scale if found else None)

    def href(self, figure: Figure) -> str:
        return self.links.url(figure.entity, figure.conditions)

    def entity_label(self, entity: str) -> str:
        return self.engine.model.entity(entity).label.get(current_language())


def period_text(period: Period) -> str:
    if period.name == "custom":
        return f"{period.first.isoformat()} – {period.last.isoformat()}"
    return str(word(f"period_{period.name}"))


def tiles(shown: Shown, board: Dashboard) -> list[Tile]:
    """Open pipeline and won (of the main workflow), new leads, overdue work, SLA breaches."""
    out: list[Tile] = []
    main = board.main
    if main is not None:
        workflow = main.workflow.label.get(current_language())
        opened = main.open
        out.append(
            Tile(
                "open_pipeline",
                say("tile_open_pipeline", workflow=workflow),
                shown.money(opened) or f"{opened.count:,}",
                opened.count,
                shown.href(opened),
                [(say("tile_records", count=f"{opened.count:,}"), None)] if opened.amount else [],
            )
        )
        if main.won is not None and main.won_before is not None:
            out.append(_won_tile(shown, board, main))
    for current, before in board.new_records:
        out.append(
            Tile(
                f"new_{current.entity}",
                say("tile_new", entity=shown.entity_label(current.entity)),
                f"{current.count:,}",
                current.count,
                shown.href(current),
                [_against(shown, board, before, current.count, before.count)],
                _tone(current.count, before.count),
            )
        )
    for figure in board.overdue:
        out.append(
            Tile(
                f"overdue_{figure.entity}",
                say("tile_overdue", entity=shown.entity_label(figure.entity)),
                f"{figure.count:,}",
                figure.count,
                shown.href(figure),
                [(say("tile_overdue_note"), None)],
                "bad" if figure.count else "",
            )
        )
    breached = [(p, state, n) for p in board.pipelines for state, n in (p.breaches or {}).items() if n]
    board_of = main.workflow.name if main is not None else None
    if breached:
        board_of = breached[0][0].workflow.name
    notes: list[tuple[str, str | None]] = [
        (
            f"{p.workflow.label.get(current_language())} · "
            f"{p.workflow.states[state].label.get(current_language())}: {n:,}",
            _board_url(p.workflow.name),
        )
        for p, state, n in breached[:4]
    ]
    if board_of is not None:
        total = board.breaches
        out.append(
            Tile(
                "sla_breaches",
                say("tile_sla"),
                f"{total:,}",
                total,
                _board_url(board_of),
                notes,
                "bad" if total else "",
            )
        )
    return out


def _won_tile(shown: Shown, board: Dashboard, main: Pipeline) -> Tile:
    assert main.won is not None and main.won_before is not None
    won, before = main.won, main.won_before
    value = shown.money(won) or f"{won.count:,}"
    notes: list[tuple[str, str | None]] = [(say("tile_records", count=f"{won.count:,}"), None)] if won.amount else []
    now_value = float(won.total or 0) if won.amount else float(won.count)
    before_value = float(before.total or 0) if before.amount else float(before.count)
    notes.append(_against(shown, board, before, now_value, before_value))
    label = say("tile_won", period=period_text(board.period))
    return Tile("won", label, value, won.count, shown.href(won), notes, _tone(now_value, before_value))


def _against(shown: Shown, board: Dashboard, before: Figure, now: float, then: float) -> tuple[str, str | None]:
    """The period before's figure and the change since, linked to its records."""
    figure = shown.money(before) or f"{before.count:,}"
    change = "—" if not then else f"{(now - then) / then * 100:+.0f}%"
    return say("tile_against", period=period_text(board.previous), figure=figure, change=change), shown.href(before)


def _tone(now: float, then: float) -> str:
    return "good" if now > then else "bad" if now < then else ""


def _board_url(workflow: str) -> str:
    return str(url_for("crm_board.board_view", workflow=workflow))


def funnel(shown: Shown, pipeline: Pipeline) -> dict[str, Any]:
    """The open stages as a funnel (count and amount, linked), a table with the conversion
    from each stage to the next, and the final states apart."""
    language = current_language()
    rows = []
    bars = []
    for stage in pipeline.stages:
        label = stage.state.label.get(language)
        money = shown.money(stage.figure)
        text = f"{stage.figure.count:,}" + (f" · {money}" if money else "")
        href = shown.href(stage.figure)
        bars.append(Bar(label, stage.figure.count, text, href))
        conversion = "—" if stage.conversion is None else f"{stage.conversion * 100:.0f}%"
        rows.append({"label": label, "count": stage.figure.count, "money": money, "href": href, "to_next": conversion})
    title = say("funnel_of", workflow=pipeline.workflow.label.get(language))
    chart = bar_chart(
        f"funnel-{pipeline.workflow.name}", title, bars, funnel=True, css_class="crm-chart crm-funnel", number_width=190
    )
    finals = [
        {
            "state": s.state.name,
            "label": s.state.label.get(language),
            "count": s.figure.count,
            "money": shown.money(s.figure),
            "href": shown.href(s.figure),
            "won": s.state.name in pipeline.won_states,
        }
        for s in pipeline.finals
    ]
    return {"chart": chart, "rows": rows, "finals": finals, "title": title}


def trend(shown: Shown, pipeline: Pipeline, period: Period) -> Markup | None:
    """The won amount (or count, without an amount field) per step of the period."""
    if not pipeline.trend:
        return None
    weekly = period.days <= 92
    points = []
    for step, figure in pipeline.trend:
        label = step.first.strftime("%m-%d") if weekly else step.first.strftime("%Y-%m")
        value = float(figure.total or 0) if figure.amount else float(figure.count)
        text = shown.money(figure) if figure.amount else f"{figure.count:,}"
        points.append(Bar(label, value, _compact(value) if figure.amount else text, shown.href(figure)))
    title = say("trend_title", workflow=pipeline.workflow.label.get(current_language()))
    return trend_chart(f"trend-{pipeline.workflow.name}", title, points)


def _compact(value: float) -> str:
    """A large amount short enough to print over a point: 1.2M, 35K (the list has the exact sum)."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f}".removesuffix(".0") + suffix
    return f"{value:,.0f}"


def pipeline_rows(shown: Shown, board: Dashboard) -> list[dict[str, Any]]:
    """A row per workflow the user may read: open, won in the period and the one before,
    records past their time limit; each number linked."""
    language = current_language()
    out = []
    for p in board.pipelines:
        out.append(
            {
                "name": p.workflow.name,
                "label": p.workflow.label.get(language),
                "board": _board_url(p.workflow.name),
                "open": (p.open.count, shown.money(p.open), shown.href(p.open)),
                "won": (p.won.count, shown.money(p.won), shown.href(p.won)) if p.won else None,
                "won_before": (p.won_before.count, shown.money(p.won_before), shown.href(p.won_before))
                if p.won_before
                else None,
                "breaches": sum((p.breaches or {}).values()),
            }
        )
    return out
