"""Publish/subscribe between processes: in-process queues embedded, Redis pub/sub at scale."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import structlog

log = structlog.get_logger("porch.pubsub")

Handler = Callable[[bytes], Awaitable[None]]
# Runs after the subscription comes back from an outage: messages published meanwhile are lost.
ReconnectHandler = Callable[[], Awaitable[None]]


class PubSub(Protocol):
    async def publish(self, channel: str, data: bytes) -> None: ...

    def subscribe(self, channel: str, handler: Handler) -> None: ...

    def on_reconnect(self, handler: ReconnectHandler) -> None:
        """Call `handler` whenever delivery resumes after a gap in which messages were lost."""
        ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class LocalPubSub:
    """Delivers to handlers in this process; what one process publishes only it receives."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._reconnect: list[ReconnectHandler] = []

    async def publish(self, channel: str, data: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                await handler(data)
            except Exception:
                log.exception("pubsub_handler_failed", channel=channel)

    def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    def on_reconnect(self, handler: ReconnectHandler) -> None:
        # In one process nothing is ever lost, so these never run here; RedisPubSub runs them.
        self._reconnect.append(handler)

    async def _reconnected(self) -> None:
        for handler in list(self._reconnect):
            try:
                await handler()
            except Exception:
                log.exception("pubsub_reconnect_handler_failed")

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self._handlers.clear()
        self._reconnect.clear()


def redis_client(url: str) -> Any:
    """The Redis client every part of a process shares (imported only when Redis is used)."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=15)


class RedisPubSub(LocalPubSub):
    """Publishes through Redis so every process's handlers run; reconnects when Redis returns.

    Whenever the subscription comes back after its connection dropped, the reconnect hooks
    run: messages published in the gap are gone, and caches fed by them must not trust
    themselves. A client with a retry policy reconnects and subscribes again inside redis-py,
    without raising to us, so the hooks ride on its connect callback as well as on our loop.
    """

    def __init__(self, redis: Any) -> None:
        super().__init__()
        self._redis = redis
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # False from when the listener gives up on its connection (after redis-py's own
        # retries) until it has subscribed anew.
        self.listening = False

    async def publish(self, channel: str, data: bytes) -> None:
        try:
            await self._redis.publish(f"porch:{channel}", data)
        except Exception:
            # Redis away: deliver locally at least, so this process stays consistent.
            log.warning("pubsub_publish_failed", channel=channel)
            await super().publish(channel, data)

    async def start(self) -> None:
        # Subscribe before the listener task exists: cancelling redis-py mid-connect can
        # swallow the cancellation, so the connect is awaited here, not inside the task.
        first = None
        try:
            first = await self._subscribe()
        except Exception:
            log.warning("pubsub_unavailable_at_start")
            first = None
        self._task = asyncio.create_task(self._listen(first), name="porch-pubsub")

    async def _subscribe(self) -> Any:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe("porch:*")
        except Exception:
            await self._abandon(pubsub)
            raise
        # From now on every reconnect of this connection (redis-py's own retries included)
        # runs the hooks; the callback runs after redis-py's own, which subscribes again.
        pubsub.connection.register_connect_callback(self._connection_made)
        self.listening = True
        return pubsub

    async def _connection_made(self, connection: Any) -> None:
        log.info("pubsub_resubscribed")
        await self._reconnected()

    async def _listen(self, pubsub: Any) -> None:
        delay = 0.5
        while not self._closing:
            try:
                if pubsub is None:
                    pubsub = await self._subscribe()
                    # Subscribed anew (or for the first time after starting without Redis).
                    # After subscribing, so nothing published from here on is missed.
                    await self._connection_made(pubsub.connection)
                delay = 0.5
                async for msg in _messages(pubsub):
                    channel = msg["channel"].decode()[len("porch:") :]
                    await LocalPubSub.publish(self, channel, msg["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                # redis-py may turn a cancellation during connect into an error; hence _closing.
                if self._closing:
                    return
                self.listening = False
                log.warning("pubsub_listen_failed", retry_in=delay)
                await self._abandon(pubsub)
                pubsub = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _abandon(self, pubsub: Any) -> None:
        """Let go of a broken subscription: its connection back to the pool, without our hook."""
        if pubsub is None:
            return
        connection = getattr(pubsub, "connection", None)
        if connection is not None:
            connection.deregister_connect_callback(self._connection_made)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pubsub.aclose(), timeout=2)

    async def aclose(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=2)
        await super().aclose()


async def _messages(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
    async for msg in pubsub.listen():
        if msg.get("type") == "pmessage":
            yield msg
