"""Redis goes away: porch keeps answering with per-process limits, /ready says degraded, and
everything (limits, readiness, cache invalidation) is shared again once Redis returns."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from porch.settings import Settings
from tests.conftest import REDIS_URL, OwnerClient, make_widget, start_conversation
from tests.faults.conftest import eventually, until
from tests.faults.proxy import CuttableProxy

pytestmark = [pytest.mark.redis]


@pytest.fixture
def settings(redis_cut_settings: Settings) -> Settings:
    return redis_cut_settings


async def _send(client: httpx.AsyncClient, v: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "How do I reset my password?"},
        headers=v.auth,
    )


async def test_redis_away_then_back(
    owner: OwnerClient,
    client: httpx.AsyncClient,
    app: FastAPI,
    redis_proxy: CuttableProxy,
) -> None:
    state = app.state.porch
    w = await make_widget(owner, title="Before", limits={"visitor_messages_per_minute": 3})
    assert (await client.get("/ready")).json()["status"] == "ready"

    await redis_proxy.cut()
    v = await start_conversation(client, w["id"])  # the per-IP limit falls back too
    for _ in range(3):
        resp = await _send(client, v)
        assert resp.status_code == 200, resp.text
    refused = await _send(client, v)
    assert refused.status_code == 429  # still limited, now per process
    assert state.limits.degraded
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache"].startswith("error")
    # A change while Redis is away still reaches this process's cache.
    await owner.patch(f"/api/v1/widgets/{w['id']}", json={"title": "During"})
    public = await client.get(f"/api/v1/widgets/{w['id']}/public")
    assert public.json()["title"] == "During"

    await redis_proxy.restore()

    async def ready() -> bool:
        return bool((await client.get("/ready")).json()["status"] == "ready")

    await eventually(ready, "/ready says ready again")
    other = await start_conversation(client, w["id"])
    assert (await _send(client, other)).status_code == 200
    await until(lambda: not state.limits.degraded, "limits shared again")
    # Pub/sub listens again: a change published by another process reaches this one.
    widget_id = uuid.UUID(w["id"])
    assert state.widgets.peek(widget_id) is not None
    redis = Redis.from_url(REDIS_URL)

    async def dropped() -> bool:
        await redis.publish("porch:widget.changed", widget_id.bytes)
        await asyncio.sleep(0.05)
        return state.widgets.peek(widget_id) is None

    try:
        await eventually(dropped, "an invalidation from another process")
    finally:
        await redis.aclose()
