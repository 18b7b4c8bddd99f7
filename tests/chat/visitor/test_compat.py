"""The compatibility routes, against the shapes the seeds document, not porch's own.

Spur (seed 003): `POST /chat/message {message, sessionId?}` → `{reply, sessionId}`;
`GET /chat/history/:sessionId` → `{messages: [{id, conversationId, sender: "user"|"ai",
text, createdAt}], sessionId}`, errors `{error: "<string>"}`. The AI Widget Server (seed 000):
`/api/config`, `/api/widget-config`, `/api/environment`, `/api/health`. Extra fields are
allowed; missing, renamed or retyped ones are not.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from porch.conversations import repository as repo
from porch.models.base import utcnow
from tests.conftest import BOTH, OwnerClient, make_widget, parse_sse

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

# What JavaScript's Date.toJSON() writes and `new Date(...)` reads back exactly.
JS_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
MARKER = re.compile(r"\[\d+\]")


def assert_spur_message(m: dict[str, Any]) -> None:
    assert isinstance(m["id"], str) and m["id"]
    assert isinstance(m["conversationId"], str) and m["conversationId"]
    assert m["sender"] in ("user", "ai")
    assert isinstance(m["text"], str) and m["text"]
    assert isinstance(m["createdAt"], str) and JS_DATE.match(m["createdAt"]), m["createdAt"]


def assert_spur_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body["error"], str) and body["error"], body
    assert body["code"] == code


async def send(client: httpx.AsyncClient, message: Any, session: str | None = None) -> Any:
    body = {"message": message} if session is None else {"message": message, "sessionId": session}
    return await client.post("/chat/message", json=body)


async def test_message_then_history_in_spurs_shape(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    first = await send(client, "Pro plan price?")
    assert first.status_code == 200, first.text
    body = first.json()
    assert isinstance(body["reply"], str) and "$12" in body["reply"]
    assert isinstance(body["sessionId"], str) and body["sessionId"]
    again = await send(client, "How do I reset my password?", body["sessionId"])
    assert again.json()["sessionId"] == body["sessionId"]

    resp = await client.get(f"/chat/history/{body['sessionId']}")
    assert resp.status_code == 200
    history = resp.json()
    assert history["sessionId"] == body["sessionId"]
    for m in history["messages"]:
        assert_spur_message(m)
    # Only what was said: no greeting first (the client shows its own welcome).
    assert [m["sender"] for m in history["messages"]] == ["user", "ai", "user", "ai"]
    assert history["messages"][0]["text"] == "Pro plan price?"
    assert history["messages"][1]["text"] == body["reply"]
    assert len({m["conversationId"] for m in history["messages"]}) == 1
    stamps = [datetime.fromisoformat(m["createdAt"]) for m in history["messages"]]
    assert stamps == sorted(stamps)


async def test_replies_carry_no_citation_markers(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    # The extractive answerer cites "[1]"; Spur's client has no sources to point them at.
    native = await client.post(f"/api/v1/widgets/{widget['id']}/conversations", json={})
    v = native.json()
    cited = await client.post(
        f"/api/v1/conversations/{v['conversation_id']}/messages",
        json={"content": "Pro plan price?"},
        headers={"Authorization": f"Bearer {v['visitor_token']}"},
    )
    assert MARKER.search(cited.json()["message"]["content"])  # the native reply keeps them
    reply = (await send(client, "Pro plan price?")).json()
    assert not MARKER.search(reply["reply"]) and "$12" in reply["reply"]
    assert "Sources:" not in reply["reply"]
    history = (await client.get(f"/chat/history/{reply['sessionId']}")).json()
    assert not any(MARKER.search(m["text"]) for m in history["messages"])


@pytest.mark.settings(compat_sources="titles")
async def test_titles_mode_appends_the_sources_as_plain_text(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    reply = (await send(client, "Pro plan price?")).json()
    assert not MARKER.search(reply["reply"])
    assert reply["reply"].endswith("\n\nSources: Help center")
    history = (await client.get(f"/chat/history/{reply['sessionId']}")).json()
    assert history["messages"][1]["text"] == reply["reply"]


async def test_a_persons_reply_is_ai_to_spurs_client(
    client: httpx.AsyncClient, owner: OwnerClient, widget: dict[str, Any]
) -> None:
    session = (await send(client, "Can a person help?")).json()["sessionId"]
    cid = (await client.get(f"/chat/history/{session}")).json()["messages"][0]["conversationId"]
    resp = await owner.post(f"/api/v1/conversations/{cid}/reply", json={"content": "Ann here."})
    assert resp.status_code < 300, resp.text
    messages = (await client.get(f"/chat/history/{session}")).json()["messages"]
    last = messages[-1]
    assert_spur_message(last)
    assert last["sender"] == "ai" and last["text"] == "Ann here." and last["role"] == "agent"
    # The team's note that a person took over was never said to the visitor.
    assert all(m["role"] in ("user", "assistant", "agent") for m in messages)


# A fixed unknown id: test ids must be the same in every test process (pytest-xdist).
@pytest.mark.parametrize("stale", ["pv_gone", "7c9e6679-7425-40de-944b-e07fc1f90ae7"])
async def test_a_session_porch_does_not_know_starts_a_new_one(
    client: httpx.AsyncClient, widget: dict[str, Any], stale: str
) -> None:
    # A visitor coming from a Spur backend (a UUID) or after a data reset (an old token).
    missing = await client.get(f"/chat/history/{stale}")
    assert_spur_error(missing, 404, "session_not_found")
    resp = await send(client, "Pro plan price?", stale)
    assert resp.status_code == 200, resp.text
    fresh = resp.json()["sessionId"]
    assert fresh != stale and "$12" in resp.json()["reply"]
    history = (await client.get(f"/chat/history/{fresh}")).json()["messages"]
    assert [m["sender"] for m in history] == ["user", "ai"]


async def test_an_expired_session_starts_a_new_one(
    app: FastAPI, client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    old = (await send(client, "Pro plan price?")).json()["sessionId"]
    cid = (await client.get(f"/chat/history/{old}")).json()["messages"][0]["conversationId"]
    async with app.state.porch.engine.begin() as conn:
        await conn.execute(
            update(repo.conversations)
            .where(repo.conversations.c.id == uuid.UUID(cid))
            .values(last_message_at=utcnow() - timedelta(days=365))
        )
    assert_spur_error(await client.get(f"/chat/history/{old}"), 401, "visitor_token_expired")
    resp = await send(client, "How do I reset my password?", old)
    assert resp.status_code == 200 and resp.json()["sessionId"] != old


async def test_errors_read_as_spurs_and_name_porchs_code(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    empty = await send(client, "   ")
    assert_spur_error(empty, 400, "validation_error")
    assert empty.json()["error"] == "Message cannot be empty"
    assert_spur_error(await send(client, 42), 400, "validation_error")
    assert_spur_error(await client.post("/chat/message", json={}), 400, "validation_error")
    long = await send(client, "x" * 4001)
    assert_spur_error(long, 400, "validation_error")
    assert "4000" in long.json()["error"]
    broken = await client.post(
        "/chat/message", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_spur_error(broken, 400, "malformed_json")
    assert_spur_error(
        await client.get("/api/config", params={"agentId": "agent_123"}), 400, "validation_error"
    )
    # None of those started a conversation; the native routes keep API.md's nested shape.
    native = await client.get(f"/api/v1/conversations/{uuid.uuid4()}/messages")
    assert native.status_code == 401 and native.json()["error"]["code"] == "visitor_token_required"


async def test_api_config_contract(client: httpx.AsyncClient, widget: dict[str, Any]) -> None:
    named = await client.get("/api/config", params={"agentId": widget["id"]})
    assert named.status_code == 200
    body = named.json()
    assert isinstance(body["title"], str) and isinstance(body["subtitle"], str)
    assert body["agentId"] == widget["id"]
    assert isinstance(body["cached"], bool)
    assert isinstance(body["timestamp"], str) and JS_DATE.match(body["timestamp"])
    assert body["widget_id"] == widget["id"]  # porch's own public config stays beside them
    again = (await client.get("/api/config")).json()  # no agentId: the default widget
    assert again["agentId"] == widget["id"] and again["cached"] is True
    missing = await client.get("/api/config", params={"agentId": str(uuid.uuid4())})
    assert_spur_error(missing, 404, "widget_not_found")


async def test_api_widget_config_contract(
    client: httpx.AsyncClient, owner: OwnerClient, widget: dict[str, Any]
) -> None:
    await owner.patch(
        f"/api/v1/widgets/{widget['id']}",
        json={"theme": {"primary_color": "#667eea", "border_radius": 8}},
    )
    body = (await client.get("/api/widget-config", params={"agentId": widget["id"]})).json()
    for key in ("primaryColor", "secondaryColor", "buttonColor", "textColor", "backgroundColor"):
        assert isinstance(body[key], str) and HEX.match(body[key]), (key, body)
    assert body["primaryColor"] == "#667eea"
    assert body["borderRadius"] == "8px"
    assert isinstance(body["cached"], bool)


@pytest.mark.settings(PORCH_LLM_API_KEY="sk-very-secret")
async def test_api_environment_contract_and_no_secrets(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/environment")
    body = resp.json()
    assert body["environment"] in ("development", "production")
    assert body["debugMode"] is False  # the tests log at "warning"
    assert body["serverUrl"] == "http://127.0.0.1:8000" and isinstance(body["version"], str)
    assert all(isinstance(v, bool) for v in body["features"].values())
    for secret in ("sk-very-secret", "secret", "database", "sqlite", "postgres", "redis"):
        assert secret not in resp.text.lower()


async def test_api_health_contract(client: httpx.AsyncClient, widget: dict[str, Any]) -> None:
    await client.get("/api/config")
    body = (await client.get("/api/health")).json()
    assert body["status"] == "healthy"
    assert JS_DATE.match(body["timestamp"]) and isinstance(body["uptime"], int)
    assert re.match(r"^\d+\.\d MB$", body["memory"]["used"])
    assert re.match(r"^\d+\.\d MB$", body["memory"]["total"])
    assert all(isinstance(body["cache"][k], int) for k in ("keys", "hits", "misses"))
    assert body["cache"]["keys"] >= 1
    breaker = body["circuitBreaker"]
    assert breaker["state"] in ("closed", "open", "half-open")
    assert isinstance(breaker["failures"], int) and breaker["lastFailure"] is None


async def test_api_chat_streams_and_recovers(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    resp = await client.post(
        "/api/chat", json={"message": "Pro plan price?", "widgetId": widget["id"]}
    )
    events = parse_sse(resp.text)
    assert events[0][0] == "start" and events[0][1]["sessionId"].startswith("pv_")
    assert events[-1][0] == "done"
    stale = await client.post("/api/chat", json={"message": "hi", "sessionId": "pv_gone"})
    assert parse_sse(stale.text)[0][1]["sessionId"] != "pv_gone"


async def test_owner_alias(owner: OwnerClient, widget: dict[str, Any]) -> None:
    listed = (await owner.get("/api/widgets")).json()["widgets"]
    assert [w["id"] for w in listed] == [widget["id"]]


async def test_no_widget_yet(client: httpx.AsyncClient) -> None:
    assert_spur_error(await send(client, "hi"), 404, "widget_not_found")
    assert_spur_error(await client.get("/chat/history/pv_any"), 404, "session_not_found")


async def test_refused_origins_and_bad_messages_start_nothing(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    await make_widget(owner, allowed_origins=["https://shop.example"])
    evil = {"Origin": "https://evil.example"}
    # The origin is asked before the message: 403, not 400, and no conversation either way.
    for message in ("", "hi"):
        resp = await client.post("/chat/message", json={"message": message}, headers=evil)
        assert_spur_error(resp, 403, "origin_not_allowed")
    assert_spur_error(
        await client.get("/chat/history/pv_x", headers=evil), 403, "origin_not_allowed"
    )
    assert_spur_error(await send(client, ""), 400, "validation_error")
    async with app.state.porch.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(repo.conversations)) == 0
