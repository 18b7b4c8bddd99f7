"""The visitor side end to end with the offline answerer: JSON and SSE, history, feedback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import BOTH, VisitorSession, parse_sse, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def send(
    client: httpx.AsyncClient, v: VisitorSession, content: str, stream: bool = False
) -> httpx.Response:
    headers = {**v.auth, **({"Accept": "text/event-stream"} if stream else {})}
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers=headers,
    )


async def stored(app: FastAPI, sql: str, **params: Any) -> list[Any]:
    async with app.state.porch.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def test_start_returns_token_and_greeting(visitor: VisitorSession) -> None:
    assert visitor.token.startswith("pv_")
    assert [m["role"] for m in visitor.greeting] == ["assistant"]
    assert visitor.greeting[0]["content"] == "Hello! Ask me anything."


async def test_json_reply_is_grounded_with_sources(
    client: httpx.AsyncClient, visitor: VisitorSession, app: FastAPI
) -> None:
    resp = await send(client, visitor, "How do I reset my password?")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    message = body["message"]
    assert message["role"] == "assistant" and message["status"] == "complete"
    assert "Forgot password" in message["content"]
    assert message["sources"][0]["title"] == "Help center"
    assert "Forgot password" in message["sources"][0]["snippet"]
    rows = await stored(
        app,
        "SELECT role, content, unanswered FROM messages "
        "WHERE role != 'assistant' OR content LIKE '%Forgot%' ORDER BY id",
    )
    assert [r[0] for r in rows] == ["user", "assistant"]
    assert rows[0][1] == "How do I reset my password?"


async def test_sse_events_in_order(client: httpx.AsyncClient, visitor: VisitorSession) -> None:
    resp = await send(client, visitor, "How much does the Pro plan cost?", stream=True)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"].startswith("no-cache")
    assert resp.headers["x-accel-buffering"] == "no"
    events = parse_sse(resp.text)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-2:] == ["sources", "done"]
    assert names.count("token") >= 2 and set(names[1:-2]) == {"token"}
    start, done = events[0][1], events[-1][1]
    assert start["message_id"] == done["message_id"]
    assert done["usage"]["completion_tokens"] > 0 and done["latency_ms"] >= 0
    reply = "".join(data["delta"] for name, data in events if name == "token")
    assert "$12" in reply
    assert events[-2][1]["sources"][0]["title"] == "Help center"


async def test_unanswerable_question_says_so_and_is_marked(
    client: httpx.AsyncClient, visitor: VisitorSession, app: FastAPI
) -> None:
    resp = await send(client, visitor, "Do you sell refrigerators in Antarctica?")
    message = resp.json()["message"]
    # One refusal, in the owner's words: the answerer's own is not said as well.
    assert message["content"] == "Email help@example.com for more."
    assert message["sources"] == []
    rows = await stored(
        app, "SELECT unanswered FROM messages WHERE id = :id", id=_db_id(app, message["id"])
    )
    assert rows[0][0] in (True, 1)


def _db_id(app: FastAPI, value: str) -> Any:
    import uuid

    u = uuid.UUID(value)
    return u if app.state.porch.engine.dialect.name == "postgresql" else u.hex


async def test_history_pages_backwards_with_cursor(
    client: httpx.AsyncClient, visitor: VisitorSession
) -> None:
    for i in range(3):
        assert (await send(client, visitor, f"Question {i} about the Pro plan")).status_code == 200
    url = f"/api/v1/conversations/{visitor.conversation_id}/messages"
    full = (await client.get(url, headers=visitor.auth)).json()
    assert len(full["messages"]) == 7 and not full["has_more"]  # greeting + 3 x (user, assistant)
    page = (await client.get(url, params={"limit": 4}, headers=visitor.auth)).json()
    assert page["has_more"] and [m["id"] for m in page["messages"]] == [
        m["id"] for m in full["messages"][-4:]
    ]
    older = (
        await client.get(
            url, params={"limit": 4, "before": page["messages"][0]["id"]}, headers=visitor.auth
        )
    ).json()
    assert not older["has_more"]
    assert [m["id"] for m in older["messages"]] == [m["id"] for m in full["messages"][:3]]
    assert [m["role"] for m in full["messages"][1:3]] == ["user", "assistant"]


async def test_feedback_on_replies_only(
    client: httpx.AsyncClient, visitor: VisitorSession, app: FastAPI
) -> None:
    body = (await send(client, visitor, "How do I reset my password?")).json()
    reply_id, user_id = body["message"]["id"], body["user_message_id"]
    ok = await client.post(
        f"/api/v1/messages/{reply_id}/feedback",
        json={"rating": "down", "comment": "too short"},
        headers=visitor.auth,
    )
    assert ok.status_code == 204
    rows = await stored(
        app,
        "SELECT rating, feedback_comment FROM messages WHERE id = :id",
        id=_db_id(app, reply_id),
    )
    assert tuple(rows[0]) == ("down", "too short")
    own = await client.post(
        f"/api/v1/messages/{user_id}/feedback", json={"rating": "up"}, headers=visitor.auth
    )
    assert own.status_code == 422
    bad = await client.post(
        f"/api/v1/messages/{reply_id}/feedback", json={"rating": "meh"}, headers=visitor.auth
    )
    assert bad.status_code == 400


async def test_tokens_guard_conversations(
    client: httpx.AsyncClient, visitor: VisitorSession, widget: dict[str, Any]
) -> None:
    other = await start_conversation(client, widget["id"])
    url = f"/api/v1/conversations/{visitor.conversation_id}/messages"
    missing = await client.get(url)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "visitor_token_required"
    crossed = await client.get(url, headers=other.auth)
    assert crossed.status_code == 404
    unknown = await client.get(
        "/api/v1/conversations/00000000-0000-7000-8000-000000000000/messages", headers=visitor.auth
    )
    assert unknown.status_code == 404
    feedback = await client.post(
        f"/api/v1/messages/{visitor.greeting[0]['id']}/feedback",
        json={"rating": "up"},
        headers=other.auth,
    )
    assert feedback.status_code == 404


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ("", 400),
        ("   \n ", 400),
        ("x" * 4001, 400),
        ("a\x00b", 400),
    ],
)
async def test_bad_messages_refused_and_not_stored(
    client: httpx.AsyncClient, visitor: VisitorSession, app: FastAPI, content: str, status: int
) -> None:
    resp = await send(client, visitor, content)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == "validation_error"
    rows = await stored(app, "SELECT count(*) FROM messages WHERE role = 'user'")
    assert rows[0][0] == 0


async def test_wrong_shapes_are_400(client: httpx.AsyncClient, visitor: VisitorSession) -> None:
    url = f"/api/v1/conversations/{visitor.conversation_id}/messages"
    for body in (b"[1,2]", b'{"content": 5}', b'{"text": "hi"}', b"{", b""):
        resp = await client.post(
            url, content=body, headers={**visitor.auth, "Content-Type": "application/json"}
        )
        assert resp.status_code == 400, (body, resp.text)


async def test_oversized_body_is_413(client: httpx.AsyncClient, visitor: VisitorSession) -> None:
    url = f"/api/v1/conversations/{visitor.conversation_id}/messages"
    resp = await client.post(
        url,
        content=b'{"content": "' + b"a" * 1_100_000 + b'"}',
        headers={**visitor.auth, "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


async def test_conversation_start_validates(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    url = f"/api/v1/widgets/{widget['id']}/conversations"
    assert (await client.post(url, json={"locale": "not a locale!"})).status_code == 400
    assert (await client.post(url, json={"user": {"name": "no id"}})).status_code == 400
    ok = await client.post(
        url,
        json={
            "page_url": "https://shop.example/pricing",
            "locale": "de",
            "user": {"id": "u-1", "name": "Ada"},
        },
    )
    assert ok.status_code == 201
    unknown = await client.post(
        "/api/v1/widgets/00000000-0000-7000-8000-000000000000/conversations", json={}
    )
    assert unknown.status_code == 404


@pytest.mark.settings(answer_prepare_slots=1)
async def test_questions_are_prepared_a_few_at_a_time_and_all_answered(
    client: httpx.AsyncClient, app: FastAPI, widget: dict[str, Any]
) -> None:
    """A burst of questions waits for preparation slots (so replies already streaming keep
    flowing); every one is still stored and answered."""
    retriever = app.state.porch.retriever
    search, busy, most = retriever.search, 0, 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        try:
            await asyncio.sleep(0.01)  # hold the slot across a loop turn, as a database would
            return await search(*args, **kwargs)
        finally:
            busy -= 1

    retriever.search = counted
    visitors = [await start_conversation(client, widget["id"]) for _ in range(6)]
    replies = await asyncio.gather(
        *(
            send(client, v, "How do I reset my password?", stream=i % 2 == 0)
            for i, v in enumerate(visitors)
        )
    )
    assert [r.status_code for r in replies] == [200] * 6
    assert all("Forgot password" in r.text for r in replies)
    assert most == 1
    rows = await stored(app, "SELECT count(*) FROM messages WHERE role = 'user'")
    assert rows[0][0] == 6
