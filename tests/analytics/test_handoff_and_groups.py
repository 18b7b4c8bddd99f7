"""Analytics additions: unanswered questions grouped by meaning, handoff times, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi import FastAPI

from porch.analytics.clusters import greedy
from porch.analytics.export import cell
from tests.chat.inbox.seed import Msg, seed_conversation
from tests.conftest import BOTH, OwnerClient, make_widget, signup

BACKENDS = pytest.mark.parametrize("backend", BOTH, indirect=True)
DAY = datetime(2026, 5, 4, tzinfo=UTC)


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def unanswered(text: str, when: datetime) -> list[Msg]:
    return [
        Msg("user", text, when),
        Msg(
            "assistant",
            "Sorry.",
            when + timedelta(seconds=5),
            {"provider": "x", "unanswered": True},
        ),
    ]


@BACKENDS
async def test_similar_unanswered_questions_form_one_group(
    app: FastAPI, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    asked = [
        "How do I cancel my subscription?",
        "How can I cancel my subscription?",
        "cancel my subscription please",
        "Do you ship to Canada?",
        "Do you deliver to Canada?",
        "What is the capital of France?",
    ]
    for i, text in enumerate(asked):
        await seed_conversation(app, w, unanswered(text, at(i)))
    resp = await owner.get(
        f"/api/v1/widgets/{w['id']}/analytics", params={"from": "2026-05-04", "to": "2026-05-04"}
    )
    assert resp.status_code == 200, resp.text
    groups = resp.json()["unanswered_groups"]
    by_text = {q: g for g in groups for q in g["questions"]}
    assert set(by_text) == set(asked)
    cancel = by_text["How do I cancel my subscription?"]
    assert by_text["How can I cancel my subscription?"] is cancel
    assert by_text["Do you deliver to Canada?"] is by_text["Do you ship to Canada?"]
    assert by_text["What is the capital of France?"] is not cancel
    assert by_text["Do you ship to Canada?"] is not cancel
    assert cancel["count"] == len(cancel["questions"]) and cancel["count"] >= 2
    assert groups[0]["count"] >= groups[-1]["count"]


def test_greedy_clustering_joins_only_close_vectors() -> None:
    v = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [0.7, 0.7]], dtype=np.float32)
    assert greedy(v, threshold=0.95) == [[0, 1], [2], [3]]
    assert greedy(v, threshold=0.5) == [[0, 1, 3], [2]]


@BACKENDS
async def test_handoff_first_response_and_resolution(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    base = [Msg("user", "help", at(0))]
    # Answered after 2 and 6 minutes; one resolved 30 minutes after the request.
    await seed_conversation(
        app,
        w,
        base,
        status="closed",
        handoff_requested_at=at(1),
        first_agent_reply_at=at(1) + timedelta(minutes=2),
        closed_at=at(1) + timedelta(minutes=30),
    )
    await seed_conversation(
        app,
        w,
        base,
        status="agent",
        handoff_requested_at=at(2),
        first_agent_reply_at=at(2) + timedelta(minutes=6),
    )
    await seed_conversation(app, w, base, status="waiting_for_agent", handoff_requested_at=at(3))
    await seed_conversation(app, w, base)  # never handed off
    resp = await owner.get(
        f"/api/v1/widgets/{w['id']}/analytics", params={"from": "2026-05-04", "to": "2026-05-04"}
    )
    h = resp.json()["handoffs"]
    assert h["handed_off"] == 3 and h["answered_by_person"] == 2 and h["resolved"] == 1
    assert h["first_response_median_seconds"] == 240
    assert h["first_response_p90_seconds"] == 360
    assert h["resolution_median_seconds"] == 1800
    assert h["resolution_rate"] == pytest.approx(1 / 3, abs=1e-3)


@BACKENDS
@pytest.mark.settings(allow_signup=True)
async def test_csv_export_streams_every_conversation_safely(
    app: FastAPI, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    for i in range(3):
        await seed_conversation(
            app, w, [Msg("user", f"question {i}", at(i))], page_url="https://shop.example/p"
        )
    await seed_conversation(app, w, [Msg("user", '=HYPERLINK("http://evil")', at(5))])
    resp = await owner.get(
        f"/api/v1/widgets/{w['id']}/conversations.csv",
        params={"from": "2026-05-04", "to": "2026-05-04"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["first_question"] for r in rows[:3]] == ["question 0", "question 1", "question 2"]
    # A formula a visitor typed is text in a spreadsheet, not a formula.
    assert rows[3]["first_question"].startswith("'=")
    assert all(r["page_url"] == "https://shop.example/p" for r in rows[:3])
    # Another workspace cannot export this widget.
    other = await signup(app)
    try:
        denied = await other.get(f"/api/v1/widgets/{w['id']}/conversations.csv")
        assert denied.status_code == 404
    finally:
        await other.http.aclose()
    bad = await owner.get(
        f"/api/v1/widgets/{w['id']}/conversations.csv",
        params={"from": "2026-05-09", "to": "2026-05-01"},
    )
    assert bad.status_code == 400


def test_cells_that_look_like_formulas_are_quoted() -> None:
    assert cell("=1+1") == "'=1+1" and cell("-5") == "'-5" and cell("@x") == "'@x"
    assert cell("plain") == "plain" and cell(None) == ""
