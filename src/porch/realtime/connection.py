"""One WebSocket: a bounded outbox, resume from the last event id, heartbeats, slow-client drop.

Memory per socket stays small and fixed: one receiving task, the handler's coroutine as
the sender, and an outbox of at most `queue_size` frames. A client that cannot keep up
fills its outbox and is closed (code 4008); it reconnects with `last_event_id` and is
sent what it missed from the database, so dropping it loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from porch.realtime.events import Envelope, dumps
from porch.realtime.views import Audience, render

log = structlog.get_logger("porch.realtime")

CLOSE_SLOW = 4008
CLOSE_HEARTBEAT = 4000
CLOSE_GOING_AWAY = 1001
MAX_CLIENT_FRAME = 8 * 1024

FrameHandler = Callable[["Connection", dict[str, Any]], Awaitable[None]]


class Connection:
    def __init__(self, ws: WebSocket, audience: Audience, *, queue_size: int) -> None:
        self.ws = ws
        self.audience = audience
        self.id = uuid.uuid4().hex[:12]
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_size)
        self._held: list[tuple[Envelope, dict[str, str | None]]] | None = None
        self.replayed_upto = 0
        self.last_seen = time.monotonic()
        self.closing: tuple[int, str] | None = None
        # Conversations this agent socket was shown to own (typing is checked against it).
        self.allowed: set[uuid.UUID] = set()
        self.last_typing = 0.0

    # ---- what the broker calls -----------------------------------------------------------
    def offer(self, env: Envelope, cache: dict[str, str | None]) -> None:
        if self.closing is not None:
            return
        if self._held is not None:
            # Resuming: live events wait until the stored ones have gone out.
            self._held.append((env, cache))
            if len(self._held) > self._outbox.maxsize:
                self.close(CLOSE_SLOW, "too far behind")
            return
        if env.id is not None and env.id <= self.replayed_upto:
            return
        text = render(env, self.audience, cache)
        if text is not None:
            self.push(text)

    def push(self, text: str) -> None:
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW, "client too slow")

    def send_json(self, obj: dict[str, Any]) -> None:
        self.push(dumps(obj).decode())

    def close(self, code: int, reason: str) -> None:
        if self.closing is not None:
            return
        self.closing = (code, reason)
        # Wake the sender even when the outbox is full: make room for the stop mark.
        while True:
            try:
                self._outbox.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._outbox.get_nowait()

    # ---- resume --------------------------------------------------------------------------
    def hold(self) -> None:
        self._held = []

    def resume(self, stored: list[Envelope], after: int) -> None:
        """Send stored events after `after`, then the live ones held meanwhile, no duplicates."""
        self.replayed_upto = after
        held, self._held = self._held or [], None
        for env in stored:
            self.replayed_upto = max(self.replayed_upto, env.id or 0)
            text = render(env, self.audience, {})
            if text is not None:
                self.push(text)
        for env, cache in held:
            self.offer(env, cache)

    # ---- the socket's life ---------------------------------------------------------------
    async def run(self, on_frame: FrameHandler) -> None:
        receiver = asyncio.create_task(self._receive(on_frame), name="porch-ws-receive")
        try:
            while True:
                text = await self._outbox.get()
                if text is None:
                    break
                await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closing = self.closing or (CLOSE_GOING_AWAY, "gone")
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
            await self._close_socket()

    async def _receive(self, on_frame: FrameHandler) -> None:
        try:
            while True:
                raw = await self.ws.receive_text()
                self.last_seen = time.monotonic()
                if len(raw) > MAX_CLIENT_FRAME:
                    self.close(1009, "frame too large")
                    return
                try:
                    frame = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(frame, dict):
                    await on_frame(self, frame)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            self.close(CLOSE_GOING_AWAY, "client left")
        except Exception:
            log.exception("ws_receive_failed")
            self.close(1011, "server error")

    async def _close_socket(self) -> None:
        code, reason = self.closing or (1000, "")
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code, reason), timeout=2)


class Heartbeat:
    """One task per process pings every socket and drops those that stopped answering.

    Browsers cannot send protocol pings, so the ping is a frame (`{"type":"ping"}`) and any
    frame back counts; a socket silent for `missed` intervals is closed.
    """

    def __init__(self, interval: float, missed: int) -> None:
        self.interval = interval
        self.missed = missed
        self._sockets: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._task: asyncio.Task[None] | None = None
        self._ping = orjson.dumps({"type": "ping"}).decode()

    def add(self, conn: Connection) -> None:
        self._sockets.add(conn)

    def discard(self, conn: Connection) -> None:
        self._sockets.discard(conn)

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="porch-ws-heartbeat")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def close_all(self) -> None:
        for conn in list(self._sockets):
            conn.close(CLOSE_GOING_AWAY, "server shutting down")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            limit = time.monotonic() - self.interval * (self.missed + 0.5)
            for conn in list(self._sockets):
                if conn.last_seen < limit:
                    conn.close(CLOSE_HEARTBEAT, "no answer to pings")
                else:
                    conn.push(self._ping)
