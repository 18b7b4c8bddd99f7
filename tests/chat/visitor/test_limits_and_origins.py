"""Rate limits per visitor and widget, allowed origins, and handoff, on both storage modes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def _send(
    client: httpx.AsyncClient, v: Any, content: str = "Pro plan price?", **headers: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers={**v.auth, **headers},
    )


async def _user_messages(app: FastAPI) -> int:
    async with app.state.porch.engine.connect() as conn:
        return int(
            await conn.scalar(text("SELECT count(*) FROM messages WHERE role = 'user'")) or 0
        )


async def test_visitor_limit_429_with_headers_and_nothing_stored(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner, limits={"visitor_messages_per_minute": 2})
    v = await start_conversation(client, w["id"])
    first = await _send(client, v)
    assert first.status_code == 200
    assert (await _send(client, v)).status_code == 200
    refused = await _send(client, v)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "2"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert await _user_messages(app) == 2
    # Another visitor of the same widget is unaffected.
    other = await start_conversation(client, w["id"])
    assert (await _send(client, other)).status_code == 200


async def test_widget_daily_limit_covers_all_visitors(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner, limits={"widget_messages_per_day": 2})
    visitors = [await start_conversation(client, w["id"]) for _ in range(3)]
    assert (await _send(client, visitors[0])).status_code == 200
    assert (await _send(client, visitors[1])).status_code == 200
    # A widget's daily messages are a budget: once spent, the fallback answers (not an error).
    spent = await _send(client, visitors[2])
    assert spent.status_code == 200
    assert spent.json()["message"]["status"] == "fallback"


async def test_sse_refusal_is_a_plain_429(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    w = await make_widget(owner, limits={"visitor_messages_per_minute": 1})
    v = await start_conversation(client, w["id"])
    assert (await _send(client, v, Accept="text/event-stream")).status_code == 200
    refused = await _send(client, v, Accept="text/event-stream")
    assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_conversations_per_ip_limited(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    w = await make_widget(owner, limits={"conversations_per_ip_per_hour": 2})
    url = f"/api/v1/widgets/{w['id']}/conversations"
    assert (await client.post(url, json={})).status_code == 201
    assert (await client.post(url, json={})).status_code == 201
    refused = await client.post(url, json={})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


async def test_disallowed_origin_refused(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    w = await make_widget(owner, allowed_origins=["https://shop.example"])
    url = f"/api/v1/widgets/{w['id']}/conversations"
    evil = await client.post(url, json={}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert evil.json()["error"]["code"] == "origin_not_allowed"
    good = await client.post(url, json={}, headers={"Origin": "https://shop.example"})
    assert good.status_code == 201
    v = await start_conversation(client, w["id"])  # no Origin: a server-side client
    moved = await _send(client, v, Origin="https://evil.example")
    assert moved.status_code == 403


async def test_handoff_quiets_the_assistant(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    off = await make_widget(owner)
    v_off = await start_conversation(client, off["id"])
    refused = await client.post(
        f"/api/v1/conversations/{v_off.conversation_id}/handoff", json={}, headers=v_off.auth
    )
    assert refused.status_code == 409

    on = await make_widget(owner, features={"handoff": True})
    v = await start_conversation(client, on["id"])
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/handoff",
        json={"reason": "billing question"},
        headers=v.auth,
    )
    assert resp.status_code == 202 and resp.json()["status"] == "waiting_for_agent"
    reply = await _send(client, v, "Hello, anyone there?")
    assert reply.status_code == 200
    assert reply.json()["message"] is None
    history = (
        await client.get(f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth)
    ).json()["messages"]
    assert [m["role"] for m in history] == ["system", "user"]
    assert history[1]["content"] == "Hello, anyone there?"


async def test_public_config_refuses_disallowed_sites_but_not_porch_itself(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner, allowed_origins=["https://shop.example"])
    url = f"/api/v1/widgets/{w['id']}/public"
    for _ in range(2):  # the second time from the cache, before routing
        evil = await client.get(url, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403
        assert evil.json()["error"]["code"] == "origin_not_allowed"
        assert (
            await client.get(url, headers={"Origin": "https://shop.example"})
        ).status_code == 200
    # The chat iframe is served by porch: its own origin always passes.
    own = await client.post(
        f"/api/v1/widgets/{w['id']}/conversations", json={}, headers={"Origin": "http://porch.test"}
    )
    assert own.status_code == 201
