"""A widget change made while Redis is away reaches the other processes once it returns.

Two apps share one database and one Redis (through a cuttable proxy), as two processes
behind a load balancer. The change's `widget.changed` message is lost in the outage, so
when pub/sub subscribes again every process drops its cached configs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from porch.app import create_app
from porch.pubsub import RedisPubSub
from porch.settings import Settings
from tests.conftest import REDIS_URL, OwnerClient, make_widget
from tests.faults.conftest import eventually, through, until
from tests.faults.proxy import CuttableProxy

pytestmark = [pytest.mark.redis]


@pytest.fixture
def settings(redis_cut_settings: Settings) -> Settings:
    return redis_cut_settings


@pytest.fixture
async def other_process(settings: Settings, app: FastAPI) -> AsyncIterator[FastAPI]:
    """A second app on the same database and Redis: process B."""
    b = create_app(settings)
    async with LifespanManager(b, startup_timeout=30, shutdown_timeout=30):
        yield b


async def test_change_during_outage_reaches_other_process(
    owner: OwnerClient, other_process: FastAPI, redis_proxy: CuttableProxy
) -> None:
    w = await make_widget(owner, title="Before")
    widget_id = uuid.UUID(w["id"])
    transport = httpx.ASGITransport(app=other_process, client=("203.0.113.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.test") as b:

        async def title_on_b() -> str:
            resp = await b.get(f"/api/v1/widgets/{widget_id}/public")
            assert resp.status_code == 200, resp.text
            return str(resp.json()["title"])

        async def cached_on_b() -> bool:
            assert await title_on_b() == "Before"
            return other_process.state.porch.widgets.peek(widget_id) is not None

        # B caches it (once the creation's own invalidation has gone by: it may land late).
        await eventually(cached_on_b, "B caching the config")

        await redis_proxy.cut()
        resp = await owner.patch(f"/api/v1/widgets/{widget_id}", json={"title": "After"})
        assert resp.status_code == 200, resp.text
        # A's invalidation was lost on the way: B still serves its copy while Redis is away.
        assert await title_on_b() == "Before"

        await redis_proxy.restore()

        async def b_has_the_change() -> bool:
            return await title_on_b() == "After"

        # The timeout only stops a broken test from hanging: B reconnects within seconds.
        await eventually(b_has_the_change, "B serving the change made during the outage", 30)


async def test_reconnect_hooks_run_when_redis_was_away_at_start(
    redis_proxy: CuttableProxy,
) -> None:
    """The listener's own retry path: no subscription at start, one once Redis is there."""
    await redis_proxy.cut()
    client = Redis.from_url(through(REDIS_URL, redis_proxy), socket_connect_timeout=2)
    bus = RedisPubSub(client)
    reconnects: list[bool] = []
    received: list[bytes] = []

    async def reconnected() -> None:
        reconnects.append(bus.listening)

    async def got(data: bytes) -> None:
        received.append(data)

    bus.on_reconnect(reconnected)
    bus.subscribe("probe", got)
    try:
        await bus.start()
        assert not bus.listening and reconnects == []
        await redis_proxy.restore()
        await until(lambda: reconnects == [True], "the reconnect hook, once subscribed")
        # Subscribed indeed: a message published elsewhere arrives.
        other = Redis.from_url(REDIS_URL)

        async def delivered() -> bool:
            await other.publish("porch:probe", b"hello")
            return b"hello" in received

        try:
            await eventually(delivered, "a message through the new subscription")
        finally:
            await other.aclose()
    finally:
        await bus.aclose()
        await client.aclose()


async def test_reconnect_hooks_run_when_redis_py_reconnects_by_itself(
    redis_proxy: CuttableProxy,
) -> None:
    """A client with a retry policy reconnects and subscribes again inside redis-py, without
    an error ever reaching the listener: the hooks run all the same."""
    client = Redis.from_url(
        through(REDIS_URL, redis_proxy),
        retry=Retry(ConstantBackoff(0.1), 100),
        retry_on_error=[RedisConnectionError],
    )
    bus = RedisPubSub(client)
    reconnects: list[bool] = []

    async def reconnected() -> None:
        reconnects.append(bus.listening)

    bus.on_reconnect(reconnected)
    try:
        await bus.start()
        assert bus.listening
        await redis_proxy.cut()
        await asyncio.sleep(0.3)  # an outage that the client's own retries outlast
        assert reconnects == []
        await redis_proxy.restore()
        await until(lambda: reconnects != [], "the reconnect hook")
        # redis-py handled it: the listener never lost its subscription object.
        assert reconnects == [True]
    finally:
        await bus.aclose()
        await client.aclose()
