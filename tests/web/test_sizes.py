"""The widget's download budgets: the loader under 8 KB and everything before the first
message under 40 KB, gzipped (bench/widget_sizes.py prints the figures)."""

from __future__ import annotations

from bench.widget_sizes import FIRST_MESSAGE_BUDGET, LOADER_BUDGET, sizes


def test_loader_and_first_message_fit_their_budgets() -> None:
    rows = dict(sizes())
    assert {"widget.js (loader)", "chat.js", "chat.css", "i18n.js"} <= rows.keys()
    assert rows["widget.js (loader)"] < LOADER_BUDGET
    assert sum(rows.values()) < FIRST_MESSAGE_BUDGET
