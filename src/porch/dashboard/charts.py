"""Bar charts as inline SVG, drawn on the server: no script, every text escaped."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 24


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    css: str  # a class of app.css that colours the bars
    values: Sequence[float]


def nice_ceiling(value: float, whole: bool = True) -> float:
    """The round number (2, 4, 6, 8 or 10 times a power of ten) at or above `value`.

    For counts (`whole`) the top is at least 2, so the middle grid line is a whole number.
    """
    if value <= 0:
        return 2.0 if whole else 1.0
    power = 10.0 ** math.floor(math.log10(value))
    top = 10 * power
    for step in (1, 2, 4, 6, 8, 10):
        if value <= step * power * (1 + 1e-9):
            top = step * power
            break
    return max(top, 2.0) if whole else top


def _count(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def usd(value: float) -> str:
    """Dollars with as many digits as small amounts need: $0, $0.0015, $0.5, $12.5, $1,234."""
    return "$0" if value == 0 else f"${value:,.4g}"


def _day(d: date) -> str:
    return f"{d:%b} {d.day}"


def bar_chart(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    label: str,
    fmt: Callable[[float], str] = _count,
    whole: bool = True,
) -> Markup:
    """Stacked bars per day, a light grid with three y labels, and the first/last dates."""
    n = max(len(days), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    top = nice_ceiling(max(totals, default=0.0), whole)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar_w = max(1.0, slot * (0.72 if n > 1 else 0.3))
    total_all = sum(totals)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}: {escape(fmt(total_all))} in total" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - frac)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top * frac))}</text>"
        )
    for i, day in enumerate(days):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = float(TOP + plot_h)
        tip = ", ".join(f"{s.name} {fmt(s.values[i])}" for s in series)
        parts.append(f"<g><title>{escape(_day(day))}: {escape(tip)}</title>")
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = max(1.0, plot_h * value / top)
            base -= h
            parts.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" rx="1.5"/>'
            )
        parts.append("</g>")
    if days:
        y = HEIGHT - 6
        parts.append(
            f'<text class="axis" x="{LEFT}" y="{y}" text-anchor="start">'
            f"{escape(_day(days[0]))}</text>"
        )
        if len(days) > 1:
            parts.append(
                f'<text class="axis" x="{WIDTH - RIGHT}" y="{y}" text-anchor="end">'
                f"{escape(_day(days[-1]))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here from numbers and escaped text
