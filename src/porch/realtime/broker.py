"""The realtime broker: fans events out to this process's sockets, across processes by pub/sub.

Publishing never blocks the caller (the answer pipeline calls it per token): events go on
a bounded outbound queue that one task drains into pub/sub, in order, merging consecutive
token deltas of one message into one publish. Every process (the publisher included)
receives each event once from pub/sub and hands it to the sockets subscribed here.

Ephemeral events (tokens, typing) are published only while some process has an agent's
socket on their workspace or conversation: each process announces what its agent sockets
watch (at once when a new one joins, then every few seconds), and the others remember it
for a while. Visitors' sockets do not count (see `wanted`).
Without this, every token of every reply crossed Redis to every process when no agent was
looking (a thousand streams of 50 tokens: 50,000 publishes, most of a core).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import orjson
import structlog

from porch.errors import is_database_unavailable
from porch.pubsub import PubSub
from porch.realtime import events as ev
from porch.realtime.events import Envelope

log = structlog.get_logger("porch.realtime")
CHANNEL = "realtime"
WATCH_CHANNEL = "realtime.watch"
ANNOUNCE_SECONDS = 5.0
# A process's announcement counts this long: three missed announcements and it is forgotten.
WATCH_TTL_SECONDS = 3 * ANNOUNCE_SECONDS


@dataclass(frozen=True, slots=True)
class Topic:
    """What a socket watches: one conversation, or a whole workspace (an agent's inbox)."""

    kind: Literal["conversation", "workspace"]
    id: uuid.UUID


class Subscriber(Protocol):
    @property
    def audience(self) -> str: ...  # "visitor" or "agent" (realtime/views.py)

    def offer(self, env: Envelope, cache: dict[str, str | None]) -> None: ...


Listener = Callable[[Envelope], Awaitable[None]]


class Broker:
    def __init__(self, pubsub: PubSub, *, outbound_max: int = 10_000) -> None:
        self._pubsub = pubsub
        self._conversations: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)
        self._workspaces: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)
        # Agent sockets per workspace (the inbox) or conversation: what `watched` means.
        # Visitors are left out: their widget shows neither tokens (it has its own stream)
        # nor visitor typing, and every open widget has a socket on its conversation.
        self._agents: dict[uuid.UUID, int] = {}
        self._outbound: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=outbound_max)
        self._task: asyncio.Task[None] | None = None
        self._announcer: asyncio.Task[None] | None = None
        self._busy = False
        # Called once per durable event by the process that published it (webhooks).
        self.listeners: list[Listener] = []
        # What other processes' sockets watch: origin -> (valid until, workspace and
        # conversation ids).
        self._origin = uuid.uuid4().hex
        self._remote: dict[str, tuple[float, frozenset[uuid.UUID]]] = {}
        self._announce_soon = asyncio.Event()
        pubsub.subscribe(CHANNEL, self._received)
        pubsub.subscribe(WATCH_CHANNEL, self._watch_received)

    # ---- subscriptions -------------------------------------------------------------------
    def join(self, topic: Topic, sub: Subscriber) -> None:
        """Subscribe `sub` to a conversation's or a workspace's events."""
        self._table(topic)[topic.id].add(sub)
        if sub.audience == "agent":
            seen = self._agents.get(topic.id, 0)
            if not seen:
                self._announce_soon.set()
            self._agents[topic.id] = seen + 1

    def leave(self, topic: Topic, sub: Subscriber) -> None:
        table = self._table(topic)
        subs = table.get(topic.id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del table[topic.id]
        if sub.audience == "agent":
            left = self._agents.get(topic.id, 1) - 1
            if left > 0:
                self._agents[topic.id] = left
            else:
                self._agents.pop(topic.id, None)

    def _table(self, topic: Topic) -> dict[uuid.UUID, set[Subscriber]]:
        return self._conversations if topic.kind == "conversation" else self._workspaces

    def wanted(self, type_: str, data: dict[str, object], ws: uuid.UUID, cid: uuid.UUID) -> bool:
        """Whether an ephemeral event would reach anyone: an agent's typing always may (the
        visitor's widget shows it; at most once a second per agent), the rest (tokens,
        `message.started`, the visitor's typing) only agents, and only where one watches."""
        return (type_ == ev.TYPING and data.get("who") == "agent") or self.watched(ws, cid)

    def watched(self, workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
        """Whether an agent's socket anywhere watches this conversation or its workspace."""
        if workspace_id in self._agents or conversation_id in self._agents:
            return True
        if not self._remote:
            return False
        now = time.monotonic()
        return any(
            until > now and (workspace_id in ids or conversation_id in ids)
            for until, ids in self._remote.values()
        )

    @property
    def sockets(self) -> int:
        return sum(len(s) for s in self._conversations.values()) + sum(
            len(s) for s in self._workspaces.values()
        )

    # ---- publishing ----------------------------------------------------------------------
    def publish(self, env: Envelope) -> None:
        """Queue an event for every process; never waits. Durable ones also reach listeners;
        ephemeral ones only where they would be shown (see `wanted`)."""
        if env.id is None and not self.wanted(
            env.type, env.data, env.workspace_id, env.conversation_id
        ):
            return
        try:
            self._outbound.put_nowait(env)
        except asyncio.QueueFull:
            # Pub/sub is far behind. A durable event is in the database and reaches sockets
            # on their next resume; a token or typing signal is not worth memory.
            log.warning("realtime_outbound_full", type=env.type, durable=env.id is not None)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name="porch-realtime")
        self._announcer = asyncio.create_task(self._announce(), name="porch-realtime-watch")

    async def aclose(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
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
            except Exception as exc:
                if is_database_unavailable(exc):
                    # A listener (webhooks) met a database that is away: expected during an
                    # outage, and the event is already stored; no traceback for it.
                    log.warning("realtime_listener_database_unavailable", type=env.type)
                else:
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

    async def _announce(self) -> None:
        """Tell the other processes what this one's agent sockets watch: at once when a
        workspace or conversation gains one, and every ANNOUNCE_SECONDS while any do."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._announce_soon.wait(), ANNOUNCE_SECONDS)
            self._announce_soon.clear()
            ids = list(self._agents)
            if not ids:
                continue
            payload = orjson.dumps({"origin": self._origin, "ids": [i.hex for i in ids]})
            try:
                await self._pubsub.publish(WATCH_CHANNEL, payload)
            except Exception:
                log.warning("realtime_announce_failed")

    async def _watch_received(self, raw: bytes) -> None:
        try:
            body = orjson.loads(raw)
            origin = str(body["origin"])
            ids = frozenset(uuid.UUID(hex=i) for i in body["ids"])
        except Exception:
            log.warning("realtime_bad_watch")
            return
        if origin != self._origin:
            self._remote[origin] = (time.monotonic() + WATCH_TTL_SECONDS, ids)
            now = time.monotonic()
            for gone in [o for o, (until, _) in self._remote.items() if until <= now]:
                del self._remote[gone]

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
