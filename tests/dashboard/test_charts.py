"""Server-drawn SVG bar charts: round scales, escaped text, one group per day."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from porch.dashboard.charts import Series, bar_chart, nice_ceiling, usd


@pytest.mark.parametrize(
    ("value", "whole", "top"),
    [
        (0, True, 2),
        (1, True, 2),
        (3, True, 4),
        (5, True, 6),
        (11, True, 20),
        (100, True, 100),
        (101, True, 200),
        (0.003, False, 0.004),
        (0, False, 1),
    ],
)
def test_nice_ceiling(value: float, whole: bool, top: float) -> None:
    assert nice_ceiling(value, whole) == pytest.approx(top)


def test_usd() -> None:
    assert [usd(v) for v in (0, 0.0015, 0.5, 12.5, 1234.567)] == [
        "$0",
        "$0.0015",
        "$0.5",
        "$12.5",
        "$1,235",
    ]


def test_bar_chart_draws_days_and_escapes() -> None:
    days = [date(2026, 4, 1) + timedelta(days=i) for i in range(7)]
    svg = str(
        bar_chart(
            days,
            [Series("<b>a</b>", "bar-a", [0, 1, 2, 0, 5, 0, 1]), Series("b", "bar-b", [1] * 7)],
            label='Per day "<script>"',
        )
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;b&gt;a&lt;/b&gt;" in svg
    assert svg.count("<g>") == 7
    assert len(re.findall(r'<rect class="bar-a"', svg)) == 4  # zero days draw no bar
    assert len(re.findall(r'<rect class="bar-b"', svg)) == 7
    assert "Apr 1" in svg and "Apr 7" in svg
    assert 'aria-label="Per day &quot;&lt;script&gt;&quot;: 16 in total"' in svg


def test_empty_chart() -> None:
    svg = str(bar_chart([], [Series("x", "bar-a", [])], label="Nothing"))
    assert "<rect" not in svg and "Nothing: 0 in total" in svg
