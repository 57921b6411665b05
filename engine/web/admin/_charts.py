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

    @property
    def text(self) -> str:
        if self.shown is not None:
            return self.shown
        return f"{self.value:,.0f}" if float(self.value).is_integer() else f"{self.value:,.2f}"


def bar_chart(
    chart_id: str, title: str, bars: Sequence[Bar], *, funnel: bool = False, css_class: str = "crm-chart"
) -> Markup:
    """Horizontal bars, one per row, each with its label and number. ``funnel`` centres
    the bars, so stages read as a funnel narrowing towards the won end."""
    chart_id = escape(chart_id)
    height = max(len(bars), 1) * _ROW + 10
    top = max((b.value for b in bars), default=0) or 1
    span = _WIDTH - _LABEL - _NUMBER
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
            f'<g class="crm-bar"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
            f'<text x="{_LABEL - 8}" y="{y + 18}" text-anchor="end" class="crm-bar-label">'
            f"{escape(_short(bar.label))}</text>"
            f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{_ROW - 8}" rx="3" fill="{colour}"/>'
            f'<text x="{_WIDTH - _NUMBER + 8}" y="{y + 18}" class="crm-bar-number">{escape(bar.text)}</text></g>'
        )
    if not bars:
        parts.append(f'<text x="{_WIDTH / 2}" y="24" text-anchor="middle" class="crm-bar-label">—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
