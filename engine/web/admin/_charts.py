"""Charts drawn on the server as inline SVG.

Hand-written on purpose: a dashboard needs a few labelled bars, which take forty lines of
SVG and no JavaScript library, no CDN and no network (the UI works offline and in a
locked-down browser). Every chart carries an accessible title and description and prints
its numbers, so it reads without the picture too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_WIDTH = 640
_ROW = 30
_LABEL = 230
_NUMBER = 120
_PALETTE = ("#2f6fb0", "#3f8fd2", "#5aa5e0", "#7bb9e8", "#9ccbee", "#bcdcf3")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str | None = None  # the number as printed (a money amount, a percentage)
    href: str | None = None  # the list of the records it counts

    @property
    def text(self) -> str:
        if self.shown is not None:
            return self.shown
        return f"{self.value:,.0f}" if float(self.value).is_integer() else f"{self.value:,.2f}"


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    *,
    funnel: bool = False,
    css_class: str = "crm-chart",
    number_width: int = _NUMBER,
) -> Markup:
    """Horizontal bars, one per row, each with its label and number (a link to its records
    when it has one). ``funnel`` centres the bars, so stages read as a funnel narrowing
    towards the won end."""
    chart_id = escape(chart_id)
    height = max(len(bars), 1) * _ROW + 10
    top = max((b.value for b in bars), default=0) or 1
    span = _WIDTH - _LABEL - number_width
    described = "; ".join(f"{b.label}: {b.text}" for b in bars) or "no data"
    parts = [
        f'<svg class="{escape(css_class)}" role="img" viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-kind="{"funnel" if funnel else "bars"}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(described)}</desc>',
    ]
    for index, bar in enumerate(bars):
        y = 5 + index * _ROW
        width = max(span * max(bar.value, 0) / top, 2 if bar.value else 0)
        x = _LABEL + (span - width) / 2 if funnel else _LABEL
        colour = _PALETTE[min(index, len(_PALETTE) - 1)] if funnel else _PALETTE[0]
        parts.append(
            _linked(
                bar.href,
                f'<g class="crm-bar"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
                f'<text x="{_LABEL - 8}" y="{y + 18}" text-anchor="end" class="crm-bar-label">'
                f"{escape(_short(bar.label))}</text>"
                f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{_ROW - 8}" rx="3" fill="{colour}"/>'
                f'<text x="{_WIDTH - number_width + 8}" y="{y + 18}" class="crm-bar-number">{escape(bar.text)}</text>'
                "</g>",
            )
        )
    if not bars:
        parts.append(f'<text x="{_WIDTH / 2}" y="24" text-anchor="middle" class="crm-bar-label">—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(chart_id: str, title: str, points: Sequence[Bar]) -> Markup:
    """A line through one point per step (a week, a month), each with its label under it and
    its number over it, and a link to its records."""
    chart_id = escape(chart_id)
    height, bottom, top_margin, side = 220, 180, 30, 40
    top = max((p.value for p in points), default=0) or 1
    step = (_WIDTH - 2 * side) / max(len(points) - 1, 1)
    described = "; ".join(f"{p.label}: {p.text}" for p in points) or "no data"
    xy = [
        (side + index * step, bottom - (bottom - top_margin) * max(p.value, 0) / top) for index, p in enumerate(points)
    ]
    parts = [
        f'<svg class="crm-chart crm-trend" role="img" viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-kind="trend">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(described)}</desc>',
        f'<line x1="{side - 10}" y1="{bottom}" x2="{_WIDTH - side + 10}" y2="{bottom}" class="crm-axis"/>',
    ]
    if len(xy) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{_PALETTE[0]}" stroke-width="2.5"/>')
    every = max(1, round(len(points) / 9))  # labels stay apart on a long period
    for index, (point, (x, y)) in enumerate(zip(points, xy, strict=True)):
        label = (
            f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" class="crm-bar-label">'
            f"{escape(point.label)}</text>"
        )
        parts.append(
            _linked(
                point.href,
                f'<g class="crm-point"><title>{escape(point.label)}: {escape(point.text)}</title>'
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{_PALETTE[0]}"/>'
                f'<text x="{x:.1f}" y="{y - 10:.1f}" text-anchor="middle" class="crm-bar-number">'
                f"{escape(point.text)}</text>{label if index % every == 0 else ''}</g>",
            )
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _linked(href: str | None, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
