"""Publish/subscribe between processes: in-process queues embedded, Redis pub/sub at scale."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import structlog

log = structlog.get_logger("porch.pubsub")

Handler = Callable[[bytes], Awaitable[None]]


class PubSub(Protocol):
    async def publish(self, channel: str, data: bytes) -> None: ...

    def subscribe(self, channel: str, handler: Handler) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class LocalPubSub:
    """Delivers to handlers in this process; what one process publishes only it receives."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    async def publish(self, channel: str, data: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                await handler(data)
            except Exception:
                log.exception("pubsub_handler_failed", channel=channel)

    def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self._handlers.clear()


class RedisPubSub(LocalPubSub):
    """Publishes through Redis so every process's handlers run; reconnects when Redis returns."""

    def __init__(self, redis: Any) -> None:
        super().__init__()
        self._redis = redis
        self._task: asyncio.Task[None] | None = None
        self._closing = False

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
            first = self._redis.pubsub()
            await first.psubscribe("porch:*")
        except Exception:
            log.warning("pubsub_unavailable_at_start")
            first = None
        self._task = asyncio.create_task(self._listen(first), name="porch-pubsub")

    async def _listen(self, pubsub: Any) -> None:
        delay = 0.5
        while not self._closing:
            try:
                if pubsub is None:
                    pubsub = self._redis.pubsub()
                    await pubsub.psubscribe("porch:*")
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
                log.warning("pubsub_listen_failed", retry_in=delay)
                pubsub = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

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
