"""Visitor tokens: random, stored hashed, bound to one conversation, expiring when idle."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from porch.conversations.repository import conversations
from porch.models.base import utcnow
from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def _history(client: httpx.AsyncClient, cid: str, token: str) -> httpx.Response:
    return await client.get(
        f"/api/v1/conversations/{cid}/messages", headers={"Authorization": f"Bearer {token}"}
    )


async def _age(app: FastAPI, cid: str, hours: float) -> None:
    """Pretend the conversation's last message was `hours` ago."""
    async with app.state.porch.engine.begin() as conn:
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == uuid.UUID(cid))
            .values(last_message_at=utcnow() - timedelta(hours=hours))
        )


async def test_tokens_are_random_and_stored_only_as_hashes(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner)
    a = await start_conversation(client, w["id"])
    b = await start_conversation(client, w["id"])
    assert a.token != b.token and len(a.token) >= 40
    async with app.state.porch.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT visitor_token_hash FROM conversations"))).all()
    hashes = {row[0] for row in stored}
    assert hashlib.sha256(a.token.encode()).hexdigest() in hashes
    assert a.token not in hashes and b.token not in hashes


async def test_a_token_opens_only_its_own_conversation(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w1, w2 = await make_widget(owner), await make_widget(owner)
    a = await start_conversation(client, w1["id"])
    b = await start_conversation(client, w2["id"])
    assert (await _history(client, a.conversation_id, a.token)).status_code == 200
    # b's token on a's conversation, a garbage token, no token: refused alike.
    foreign = await _history(client, a.conversation_id, b.token)
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "conversation_not_found"
    assert (await _history(client, a.conversation_id, "pv_" + "x" * 43)).status_code == 404
    missing = await client.get(f"/api/v1/conversations/{a.conversation_id}/messages")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "visitor_token_required"
    # Sending a message or feedback with a foreign token is refused too.
    sent = await client.post(
        f"/api/v1/conversations/{a.conversation_id}/messages",
        json={"content": "hello"},
        headers=b.auth,
    )
    assert sent.status_code == 404


@pytest.mark.settings(visitor_token_idle_hours=2)
async def test_idle_tokens_expire_and_messages_keep_them_alive(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner)
    v = await start_conversation(client, w["id"])
    await _age(app, v.conversation_id, 1.5)
    assert (await _history(client, v.conversation_id, v.token)).status_code == 200
    # A message is activity: the insert trigger moves last_message_at, no extra write.
    sent = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "Still there?"},
        headers=v.auth,
    )
    assert sent.status_code == 200
    async with app.state.porch.engine.connect() as conn:
        last = await conn.scalar(
            select(conversations.c.last_message_at).where(
                conversations.c.id == uuid.UUID(v.conversation_id)
            )
        )
    assert last is not None and utcnow() - last < timedelta(hours=1)
    assert (await _history(client, v.conversation_id, v.token)).status_code == 200
    await _age(app, v.conversation_id, 2.5)
    expired = await _history(client, v.conversation_id, v.token)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "visitor_token_expired"
    refused = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "Hello?"},
        headers=v.auth,
    )
    assert refused.status_code == 401
    # A wrong token on an expired conversation still says "not found": no oracle.
    other = await start_conversation(client, w["id"])
    assert (await _history(client, v.conversation_id, other.token)).status_code == 404
