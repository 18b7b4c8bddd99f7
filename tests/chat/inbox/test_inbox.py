"""The owner's inbox over HTTP: listing, filters, cursor paging, one conversation, close/reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.chat.inbox.seed import Msg, seed_conversation
from tests.conftest import BOTH, OwnerClient, make_widget, signup, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def inbox(owner: OwnerClient, wid: str, **params: Any) -> dict[str, Any]:
    resp = await owner.get(f"/api/v1/widgets/{wid}/conversations", params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["conversations"]]


async def test_lists_newest_first_with_preview_user_and_ratings(
    app: FastAPI, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    older = await seed_conversation(
        app,
        w,
        [
            Msg("assistant", "Hello!", at(0)),
            Msg("user", "How do refunds work?", at(0.1)),
            Msg("assistant", "Within 30 days.", at(0.2), {"provider": "x", "rating": "up"}),
            Msg("user", "And for annual plans?", at(0.3)),
            Msg("assistant", "Pro rata.", at(0.4), {"provider": "x", "rating": "down"}),
            Msg("system", "The visitor asked for a person.", at(0.5)),
        ],
        page_url="https://shop.example/pricing",
        user_external_id="u-1",
        user_name="Ann",
        user_email="ann@example.com",
    )
    newer = await seed_conversation(app, w, [Msg("user", "x" * 400, at(2))])

    page = await inbox(owner, w["id"])
    assert ids(page) == [newer, older]
    assert page["next_cursor"] is None
    first, second = page["conversations"]
    assert first["user"] is None
    assert first["message_count"] == 1
    assert first["last_message_preview"].endswith("…") and len(first["last_message_preview"]) <= 160
    assert second["message_count"] == 6
    # The preview is the last message a person reads, not the system note.
    assert second["last_message_preview"] == "Pro rata."
    assert second["last_question"] == "And for annual plans?"
    assert second["user"] == {"id": "u-1", "name": "Ann", "email": "ann@example.com"}
    assert second["page_url"] == "https://shop.example/pricing"
    assert second["rating_summary"] == {"up": 1, "down": 1}
    assert second["status"] == "open"
    assert datetime.fromisoformat(second["last_message_at"]) == at(0.5)
    assert datetime.fromisoformat(second["created_at"]) == at(0)


async def test_a_visitor_conversation_in_full(
    client: httpx.AsyncClient, owner: OwnerClient, widget: dict[str, Any]
) -> None:
    visitor = await start_conversation(client, widget["id"], page_url="https://shop.example/help")
    resp = await client.post(
        f"/api/v1/conversations/{visitor.conversation_id}/messages",
        json={"content": "How do I reset my password?"},
        headers=visitor.auth,
    )
    assert resp.status_code == 200, resp.text
    reply_id = resp.json()["message"]["id"]
    rated = await client.post(
        f"/api/v1/messages/{reply_id}/feedback",
        json={"rating": "up", "comment": "<b>great</b>"},
        headers=visitor.auth,
    )
    assert rated.status_code == 204

    page = await inbox(owner, widget["id"])
    assert ids(page) == [visitor.conversation_id]
    assert page["conversations"][0]["rating_summary"] == {"up": 1, "down": 0}

    resp = await owner.get(f"/api/v1/conversations/{visitor.conversation_id}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["widget_id"] == widget["id"]
    assert body["page_url"] == "https://shop.example/help"
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["assistant", "user", "assistant"]  # greeting, question, answer
    answer = body["messages"][-1]
    assert answer["id"] == reply_id
    assert "Forgot password" in answer["content"]
    assert answer["sources"] and answer["sources"][0]["title"] == "Help center"
    assert answer["provider"] == "extractive"
    assert answer["usage"]["prompt_tokens"] > 0 and answer["usage"]["completion_tokens"] > 0
    assert answer["latency_ms"] is not None
    assert answer["status"] == "complete"
    assert answer["unanswered"] is False
    assert answer["rating"] == "up"
    assert answer["feedback_comment"] == "<b>great</b>"  # stored as given; pages escape it
    assert body["totals"]["prompt_tokens"] == answer["usage"]["prompt_tokens"]
    assert body["message_count"] == 3


async def test_filters(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    refund = await seed_conversation(
        app,
        w,
        [
            Msg("user", "Can I get a REFUND?", at(0)),
            Msg("assistant", "Yes.", at(0.1), {"provider": "x", "rating": "up"}),
        ],
    )
    shipping = await seed_conversation(
        app,
        w,
        [
            Msg("user", "Where is my parcel? 100% late", at(24)),
            Msg("assistant", "No idea.", at(24.1), {"provider": "x", "rating": "down"}),
        ],
        status="waiting_for_agent",
    )
    closed = await seed_conversation(
        app,
        w,
        [Msg("user", "Thanks, bye", at(48))],
        status="closed",
        user_email="bob@corp.example",
    )

    assert ids(await inbox(owner, w["id"], status="closed")) == [closed]
    assert ids(await inbox(owner, w["id"], status="waiting_for_agent")) == [shipping]
    assert ids(await inbox(owner, w["id"], rating="up")) == [refund]
    assert ids(await inbox(owner, w["id"], rating="down")) == [shipping]
    # Text search is case-insensitive, looks in every message, and treats % and _ literally.
    assert ids(await inbox(owner, w["id"], q="refund")) == [refund]
    assert ids(await inbox(owner, w["id"], q="no IDEA")) == [shipping]
    assert ids(await inbox(owner, w["id"], q="100%")) == [shipping]
    assert ids(await inbox(owner, w["id"], q="%")) == [shipping]
    assert ids(await inbox(owner, w["id"], q="_")) == []
    assert ids(await inbox(owner, w["id"], q="corp.example")) == [closed]
    # Dates are UTC days: a conversation counts when it was active within them.
    day0, day1, day2 = (T0 + timedelta(days=i) for i in range(3))
    assert ids(await inbox(owner, w["id"], **{"from": day1.date().isoformat()})) == [
        closed,
        shipping,
    ]
    assert ids(await inbox(owner, w["id"], to=day0.date().isoformat())) == [refund]
    one_day = {"from": day1.date().isoformat(), "to": day1.date().isoformat()}
    assert ids(await inbox(owner, w["id"], **one_day)) == [shipping]
    assert ids(await inbox(owner, w["id"], status="open", q="parcel")) == []
    assert (
        ids(await inbox(owner, w["id"], **{"from": day2.date().isoformat(), "rating": "up"})) == []
    )

    for bad in ({"status": "maybe"}, {"rating": "sideways"}, {"from": "yesterday"}):
        resp = await owner.get(f"/api/v1/widgets/{w['id']}/conversations", params=bad)
        assert resp.status_code == 400, bad
        assert resp.json()["error"]["code"] == "validation_error"


async def test_cursor_pages_through_ties_without_gaps(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    made = []
    for i in range(7):
        # Pairs share a timestamp: the id breaks the tie, so no row is skipped or repeated.
        made.append(await seed_conversation(app, w, [Msg("user", f"question {i}", at(i // 2))]))
    expected = sorted(made, key=lambda cid: (at(made.index(cid) // 2), cid), reverse=True)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await inbox(owner, w["id"], **params)
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected

    filtered = await inbox(owner, w["id"], q="question", limit=6)
    assert len(filtered["conversations"]) == 6 and filtered["next_cursor"]
    rest = await inbox(owner, w["id"], q="question", limit=6, cursor=filtered["next_cursor"])
    assert ids(rest) == expected[6:] and rest["next_cursor"] is None

    resp = await owner.get(f"/api/v1/widgets/{w['id']}/conversations", params={"cursor": "nope"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_cursor"


async def test_close_and_reopen(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner)
    cid = await seed_conversation(app, w, [Msg("user", "hello", at(0))])

    refused = await owner.http.post(f"/api/v1/conversations/{cid}/close")
    assert refused.status_code == 403  # the cookie alone is not enough: CSRF header required

    closed = await owner.post(f"/api/v1/conversations/{cid}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["id"] == cid and closed.json()["status"] == "closed"
    assert ids(await inbox(owner, w["id"], status="closed")) == [cid]

    reopened = await owner.post(f"/api/v1/conversations/{cid}/reopen")
    assert reopened.json()["status"] == "open"
    assert (await owner.get(f"/api/v1/conversations/{cid}")).json()["status"] == "open"


@pytest.mark.settings(allow_signup=True)
async def test_another_workspace_sees_nothing(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    cid = await seed_conversation(app, w, [Msg("user", "secret", at(0))])
    other = await signup(app)
    try:
        for path in (
            f"/api/v1/widgets/{w['id']}/conversations",
            f"/api/v1/conversations/{cid}",
            "/api/v1/conversations/00000000-0000-0000-0000-000000000000",
        ):
            resp = await other.get(path)
            assert resp.status_code == 404, path
            assert "secret" not in resp.text
        for action in ("close", "reopen"):
            resp = await other.post(f"/api/v1/conversations/{cid}/{action}")
            assert resp.status_code == 404
        # The other owner's own (empty) widget lists nothing of ours.
        theirs = await make_widget(other)
        assert (await inbox(other, theirs["id"]))["conversations"] == []
    finally:
        await other.http.aclose()

    assert (await client.get(f"/api/v1/conversations/{cid}")).status_code == 401
    assert (await owner.get(f"/api/v1/conversations/{cid}")).json()["status"] == "open"


async def test_api_key_reads_the_inbox(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    cid = await seed_conversation(app, w, [Msg("user", "hi", at(0))])
    key = (await owner.post("/api/v1/api-keys", json={"name": "ci"})).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}
    resp = await client.get(f"/api/v1/widgets/{w['id']}/conversations", headers=auth)
    assert ids(resp.json()) == [cid]
    closed = await client.post(f"/api/v1/conversations/{cid}/close", headers=auth)
    assert closed.status_code == 200  # no CSRF for API keys
