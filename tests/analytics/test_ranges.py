"""Day ranges and question normalization, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from porch.analytics.service import day_range, merge_questions, normalize_question
from porch.errors import BadRequest


def test_day_range_defaults_and_limits() -> None:
    today = date(2026, 5, 31)
    assert day_range(None, None, today).first == date(2026, 5, 2)
    assert day_range(None, None, today).last == today
    assert day_range(date(2026, 5, 1), None, today).last == today
    assert day_range(None, date(2026, 1, 30), today).first == date(2026, 1, 1)
    assert len(day_range(date(2026, 1, 1), date(2026, 1, 1), today).days) == 1
    with pytest.raises(BadRequest):
        day_range(date(2026, 5, 2), date(2026, 5, 1), today)
    with pytest.raises(BadRequest):
        day_range(date(2024, 1, 1), None, today)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Where is the moon?", "where is the moon"),
        ("  WHERE   is the\tmoon ?!", "where is the moon"),
        ("¿Dónde está la luna?", "¿dónde está la luna"),
        ("???", ""),
    ],
)
def test_normalize_question(text: str, key: str) -> None:
    assert normalize_question(text) == key


def test_merge_keeps_the_most_asked_wording() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    def row(text: str, n: int, day: int) -> SimpleNamespace:
        last = datetime(2026, 1, day, tzinfo=UTC)
        return SimpleNamespace(text=text, n=n, last=last, conversation=None)

    merged = merge_questions([row("Refund?", 1, 3), row("refund", 4, 1), row("Hours", 2, 2)])
    assert [(q.question, q.count) for q in merged] == [("refund", 5), ("Hours", 2)]
    assert merged[0].last_asked_at.day == 3
