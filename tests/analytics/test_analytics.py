"""Widget analytics over HTTP: day buckets, tokens and cost, feedback, unanswered questions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from porch.analytics.service import normalize_question
from tests.chat.inbox.seed import Msg, seed_conversation
from tests.conftest import BOTH, OwnerClient, make_widget, signup, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

DAY1 = datetime(2026, 4, 10, tzinfo=UTC)


def at(day: int, hour: float) -> datetime:
    return DAY1 + timedelta(days=day, hours=hour)


def reply(content: str, when: datetime, **extra: Any) -> Msg:
    return Msg("assistant", content, when, {"provider": "openai", "model": "m", **extra})


async def analytics(owner: OwnerClient, wid: str, **params: Any) -> dict[str, Any]:
    resp = await owner.get(f"/api/v1/widgets/{wid}/analytics", params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_per_day_totals_feedback_and_unanswered(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "cost_usd": 0.0015}
    # Day 0: one conversation, near midnight on both sides of the day bucket.
    first = await seed_conversation(
        app,
        w,
        [
            Msg("assistant", "Hello! (greeting)", at(0, 0.0)),
            Msg("user", "Where is the moon?", at(0, 0.01)),
            reply("I do not know.", at(0, 0.02), unanswered=True, rating="down", **usage),
            Msg("user", "What does Pro cost?", at(0, 23.98)),
            reply("$12.", at(0, 23.99), rating="up", **usage),
        ],
    )
    # Day 2 (day 1 is empty): two conversations asking the same thing, worded differently.
    await seed_conversation(
        app,
        w,
        [
            Msg("user", "  where is   the MOON ", at(2, 10)),
            reply("Sorry.", at(2, 10.01), unanswered=True, **usage),
        ],
    )
    latest = await seed_conversation(
        app,
        w,
        [
            Msg("user", "Where is the moon", at(2, 12)),
            reply("Sorry.", at(2, 12.01), unanswered=True, **usage),
            Msg("user", "Do you ship to Mars?", at(2, 12.5)),
            reply("No idea.", at(2, 12.51), unanswered=True, **usage),
            Msg("agent", "A person here: yes we do.", at(2, 13)),
        ],
    )
    # Outside the range asked for: counted nowhere.
    await seed_conversation(
        app,
        w,
        [Msg("user", "Where is the moon?", at(5, 1)), reply("?", at(5, 1.1), unanswered=True)],
    )
    assert first

    data = await analytics(owner, w["id"], **{"from": "2026-04-10", "to": "2026-04-12"})
    assert data["from"] == "2026-04-10" and data["to"] == "2026-04-12"
    assert [d["date"] for d in data["days"]] == ["2026-04-10", "2026-04-11", "2026-04-12"]
    d0, d1, d2 = data["days"]
    assert d0["conversations"] == 1 and d2["conversations"] == 2
    assert d1 == {**d1, "conversations": 0, "messages": 0, "tokens": 0, "cost_usd": 0.0}
    # The greeting is neither a question nor a reply.
    assert (d0["questions"], d0["replies"], d0["messages"]) == (2, 2, 4)
    assert (d2["questions"], d2["replies"], d2["messages"]) == (3, 4, 7)
    assert (d0["prompt_tokens"], d0["completion_tokens"], d0["tokens"]) == (200, 40, 240)
    assert d0["cost_usd"] == pytest.approx(0.003)
    assert (d0["thumbs_up"], d0["thumbs_down"]) == (1, 1)
    assert (d0["unanswered"], d2["unanswered"]) == (1, 3)

    totals = data["totals"]
    assert totals["conversations"] == 3
    assert totals["messages"] == 11
    assert totals["tokens"] == 5 * 120
    assert totals["cost_usd"] == pytest.approx(5 * 0.0015)
    assert (totals["thumbs_up"], totals["thumbs_down"], totals["unanswered"]) == (1, 1, 4)

    unanswered = data["unanswered"]
    assert [(q["count"], normalize_question(q["question"])) for q in unanswered] == [
        (3, "where is the moon"),
        (1, "do you ship to mars"),
    ]
    moon = unanswered[0]
    assert moon["question"].lower().startswith("where is")
    assert moon["conversation_id"] == latest
    assert datetime.fromisoformat(moon["last_asked_at"]) == at(2, 12.01)


async def test_unanswered_from_real_visitor_messages(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """With nothing in the knowledge base, the extractive answerer marks replies unanswered."""
    w = await make_widget(owner)
    for text in ("Do you sell gift cards?", "do you sell GIFT cards"):
        visitor = await start_conversation(client, w["id"])
        resp = await client.post(
            f"/api/v1/conversations/{visitor.conversation_id}/messages",
            json={"content": text},
            headers=visitor.auth,
        )
        assert resp.status_code == 200, resp.text
    data = await analytics(owner, w["id"])
    today = datetime.now(UTC).date()
    assert data["to"] == today.isoformat()
    assert data["from"] == (today - timedelta(days=29)).isoformat()
    assert len(data["days"]) == 30
    assert data["days"][-1]["conversations"] == 2
    assert data["totals"]["questions"] == 2 and data["totals"]["replies"] == 2
    assert data["totals"]["unanswered"] == 2
    assert [q["count"] for q in data["unanswered"]] == [2]
    assert normalize_question(data["unanswered"][0]["question"]) == "do you sell gift cards"


async def test_empty_widget_and_bad_ranges(owner: OwnerClient) -> None:
    w = await make_widget(owner)
    data = await analytics(owner, w["id"], **{"from": "2026-01-01", "to": "2026-01-07"})
    assert len(data["days"]) == 7
    assert data["totals"]["conversations"] == 0 and data["unanswered"] == []

    for params, code in (
        ({"from": "2026-02-01", "to": "2026-01-01"}, "invalid_range"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "range_too_long"),
        ({"from": "not-a-date"}, "validation_error"),
    ):
        resp = await owner.get(f"/api/v1/widgets/{w['id']}/analytics", params=params)
        assert resp.status_code == 400, params
        assert resp.json()["error"]["code"] == code


@pytest.mark.settings(allow_signup=True)
async def test_another_workspace_gets_404(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    other = await signup(app)
    try:
        resp = await other.get(f"/api/v1/widgets/{w['id']}/analytics")
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "widget_not_found"
    finally:
        await other.http.aclose()
    assert (await client.get(f"/api/v1/widgets/{w['id']}/analytics")).status_code == 401
