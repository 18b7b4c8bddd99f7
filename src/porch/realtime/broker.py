"""The realtime broker: fans events out to this process's sockets, across processes by pub/sub.

Publishing never blocks the caller (the answer pipeline calls it per token): events go on
a bounded outbound queue that one task drains into pub/sub, in order, merging consecutive
token deltas of one message into one publish. Every process (the publisher included)
receives each event once from pub/sub and hands it to the sockets subscribed here.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from porch.pubsub import PubSub
from porch.realtime import events as ev
from porch.realtime.events import Envelope

log = structlog.get_logger("porch.realtime")
CHANNEL = "realtime"


class Subscriber(Protocol):
    def offer(self, env: Envelope, cache: dict[str, str | None]) -> None: ...


Listener = Callable[[Envelope], Awaitable[None]]


class Broker:
    def __init__(self, pubsub: PubSub, *, outbound_max: int = 10_000) -> None:
        self._pubsub = pubsub
        self._conversations: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)
        self._workspaces: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)
        self._outbound: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=outbound_max)
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        # Called once per durable event by the process that published it (webhooks).
        self.listeners: list[Listener] = []
        pubsub.subscribe(CHANNEL, self._received)

    # ---- subscriptions -------------------------------------------------------------------
    def join_conversation(self, conversation_id: uuid.UUID, sub: Subscriber) -> None:
        self._conversations[conversation_id].add(sub)

    def join_workspace(self, workspace_id: uuid.UUID, sub: Subscriber) -> None:
        self._workspaces[workspace_id].add(sub)

    def leave(self, sub: Subscriber) -> None:
        for table in (self._conversations, self._workspaces):
            for key in [k for k, subs in table.items() if sub in subs]:
                table[key].discard(sub)
                if not table[key]:
                    del table[key]

    @property
    def sockets(self) -> int:
        return sum(len(s) for s in self._conversations.values()) + sum(
            len(s) for s in self._workspaces.values()
        )

    # ---- publishing ----------------------------------------------------------------------
    def publish(self, env: Envelope) -> None:
        """Queue an event for every process; never waits. Durable ones also reach listeners."""
        try:
            self._outbound.put_nowait(env)
        except asyncio.QueueFull:
            # Pub/sub is far behind. A durable event is in the database and reaches sockets
            # on their next resume; a token or typing signal is not worth memory.
            log.warning("realtime_outbound_full", type=env.type, durable=env.id is not None)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name="porch-realtime")

    async def aclose(self) -> None:
        if self._task is None:
            return
        # Let what is queued go out first (for at most two seconds), then stop.
        for _ in range(200):
            if self._outbound.empty() and not self._busy:
                break
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _pump(self) -> None:
        pending: Envelope | None = None
        while True:
            self._busy = pending is not None
            env = pending if pending is not None else await self._outbound.get()
            self._busy, pending = True, None
            if env.type == ev.MESSAGE_DELTA:
                env, pending = self._merge_deltas(env)
            try:
                await self._pubsub.publish(CHANNEL, env.encode())
                if env.id is not None:
                    for listener in self.listeners:
                        await listener(env)
            except Exception:
                log.exception("realtime_publish_failed", type=env.type)

    def _merge_deltas(self, env: Envelope) -> tuple[Envelope, Envelope | None]:
        """The deltas already waiting for the same message, as one; and the next other event."""
        parts = [str(env.data.get("delta", ""))]
        message_id = env.data.get("message_id")
        other: Envelope | None = None
        while not self._outbound.empty():
            nxt = self._outbound.get_nowait()
            if nxt.type == ev.MESSAGE_DELTA and nxt.data.get("message_id") == message_id:
                parts.append(str(nxt.data.get("delta", "")))
            else:
                other = nxt
                break
        if len(parts) > 1:
            env = Envelope(
                None,
                env.type,
                env.workspace_id,
                env.conversation_id,
                {**env.data, "delta": "".join(parts)},
                env.at,
            )
        return env, other

    # ---- receiving -----------------------------------------------------------------------
    async def _received(self, raw: bytes) -> None:
        try:
            env = Envelope.decode(raw)
        except Exception:
            log.warning("realtime_bad_event")
            return
        self.deliver(env)

    def deliver(self, env: Envelope) -> None:
        cache: dict[str, str | None] = {}
        subs = self._conversations.get(env.conversation_id)
        if subs:
            for sub in list(subs):
                sub.offer(env, cache)
        subs = self._workspaces.get(env.workspace_id)
        if subs:
            for sub in list(subs):
                sub.offer(env, cache)
