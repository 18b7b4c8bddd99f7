"""One WebSocket: a bounded outbox, resume from the last event id, heartbeats, slow-client drop.

Most sockets are idle most of the time (a visitor between messages), so an idle one holds as
little as it can: the handler's coroutine, waiting for the client's next frame, and a small
list for the outbox. Nothing else runs for it: a sender task exists only while there are
frames to write, and ends when the outbox is empty. (The obvious shape, a receiving task
plus an asyncio.Queue as the outbox, held several KB more per socket by tracemalloc's
count: a Queue alone is three deques and an Event's fourth, about 600 bytes each.)

A client that cannot keep up fills its outbox and is closed (code 4008); it reconnects with
`last_event_id` and is sent what it missed from the database, so dropping it loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from porch.realtime.events import Envelope, dumps
from porch.realtime.views import Audience, render
from porch.revocation import Grant

log = structlog.get_logger("porch.realtime")

CLOSE_SLOW = 4008
CLOSE_HEARTBEAT = 4000
CLOSE_GOING_AWAY = 1001
MAX_CLIENT_FRAME = 8 * 1024
# After the close frame, how long the client has to answer before the socket is dropped.
CLOSE_WAIT_SECONDS = 2.0

FrameHandler = Callable[["Connection", dict[str, Any]], Awaitable[None]]
_GONE = (WebSocketDisconnect, RuntimeError, OSError)


class Connection:
    __slots__ = (
        "_held",
        "_limit",
        "_outbox",
        "_reader",
        "_sender",
        "allowed",
        "audience",
        "closing",
        "deadline",
        "grant",
        "last_seen",
        "last_typing",
        "replayed_upto",
        "ws",
    )

    def __init__(
        self,
        ws: WebSocket,
        audience: Audience,
        *,
        queue_size: int,
        grant: Grant,
        deadline: float = math.inf,
    ) -> None:
        self.ws = ws
        self.audience = audience
        # What it was let in with (closed when that is revoked: realtime/revoker.py), and
        # when (time.monotonic) it must be checked again: a session's or visitor token's end.
        self.grant = grant
        self.deadline = deadline
        self._outbox: list[str] = []
        self._limit = queue_size
        self._sender: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[Any] | None = None
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
            if len(self._held) > self._limit:
                self.close(CLOSE_SLOW, "too far behind")
            return
        if env.id is not None and env.id <= self.replayed_upto:
            return
        text = render(env, self.audience, cache)
        if text is not None:
            self.push(text)

    def push(self, text: str) -> None:
        if self.closing is not None:
            return
        if len(self._outbox) >= self._limit:
            self.close(CLOSE_SLOW, "client too slow")
            return
        self._outbox.append(text)
        self._wake()

    def send_json(self, obj: dict[str, Any]) -> None:
        self.push(dumps(obj).decode())

    def close(self, code: int, reason: str) -> None:
        """Close from this side: what is unsent is dropped, the close frame goes out next."""
        if self.closing is not None:
            return
        self.closing = (code, reason)
        self._outbox.clear()
        self._wake()

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
        """Read the client's frames until either side closes; the caller's task is the reader."""
        self._reader = asyncio.current_task()
        try:
            # Read here, not in a helper coroutine: an idle socket keeps this frame only.
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                self.last_seen = time.monotonic()
                await self._received(message.get("text"), on_frame)
        except _GONE:
            pass  # the client left mid-frame
        except asyncio.CancelledError:
            # Our own cancel (see _close_socket) ends a reader the client left hanging;
            # any other cancellation is the server's and goes on.
            task = self._reader
            if task is None or self.closing is None or task.cancelling() > 1:
                raise
            task.uncancel()
        finally:
            self._reader = None
            self.closing = self.closing or (CLOSE_GOING_AWAY, "gone")
            sender = self._sender
            if sender is not None and sender is not asyncio.current_task():
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender
            await self._close_socket()

    async def _received(self, raw: str | None, on_frame: FrameHandler) -> None:
        if raw is None:
            self.close(1003, "text frames only")
            return
        if len(raw) > MAX_CLIENT_FRAME:
            self.close(1009, "frame too large")
            return
        if self.closing is not None:
            return  # closing: read on until the client's close arrives
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if not isinstance(frame, dict):
            return
        try:
            await on_frame(self, frame)
        except _GONE:
            raise
        except Exception:
            log.exception("ws_frame_failed")
            self.close(1011, "server error")

    def _wake(self) -> None:
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(
                self._send_all(), name="porch-ws-send"
            )

    async def _send_all(self) -> None:
        """Write the outbox until it is empty; on close, then send the close frame."""
        try:
            while self._outbox:
                await self.ws.send_text(self._outbox.pop(0))
        except _GONE:
            self.closing = self.closing or (CLOSE_GOING_AWAY, "gone")
        except Exception:
            log.exception("ws_send_failed")
            self.closing = self.closing or (1011, "server error")
        finally:
            self._sender = None
        # Frames pushed while one was being written were sent by the loop above.
        if self.closing is not None:
            await self._close_socket()

    async def _close_socket(self) -> None:
        code, reason = self.closing or (1000, "")
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(code, reason), timeout=CLOSE_WAIT_SECONDS)
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task():
            # uvicorn hands the reader a disconnect as soon as the close frame is sent; a
            # server that waits for the client's answer gets CLOSE_WAIT_SECONDS of it.
            asyncio.get_running_loop().call_later(CLOSE_WAIT_SECONDS, _cancel_if_reading, self)


def _cancel_if_reading(conn: Connection) -> None:
    if conn._reader is not None:
        conn._reader.cancel()


class Heartbeat:
    """One task per process pings every socket and drops those that stopped answering.

    Browsers cannot send protocol pings, so the ping is a frame (`{"type":"ping"}`) and any
    frame back counts; a socket silent for `missed` intervals is closed.

    The sockets are spread over `SLICES` groups pinged one after another through the
    interval, `PER_TURN` per event-loop turn. Pinging all 5,000 sockets of a process at once
    stalled it: a request probing it waited up to 147-174 ms (bench/stalls.py), and so did
    every token of every reply streaming in that process; spread, 7.5-8.0 ms.
    """

    SLICES = 20
    PER_TURN = 16

    def __init__(self, interval: float, missed: int) -> None:
        self.interval = interval
        self.missed = missed
        # Called at a socket's `deadline` (realtime/revoker.py re-checks its grant then).
        self.on_deadline: Callable[[Connection], None] | None = None
        # Every socket's handler discards itself on the way out (routes._serve, finally).
        # A socket's group comes from its address, so nothing per socket is stored to find
        # it again; the address is mixed first (objects of one size sit at a fixed stride,
        # and a plain modulo of it would use a few groups only).
        self._groups: list[set[Connection]] = [set() for _ in range(self.SLICES)]
        self._task: asyncio.Task[None] | None = None
        self._ping = orjson.dumps({"type": "ping"}).decode()

    def _group(self, conn: Connection) -> set[Connection]:
        mixed = (id(conn) * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF
        return self._groups[(mixed >> 32) % self.SLICES]

    def add(self, conn: Connection) -> None:
        self._group(conn).add(conn)

    def discard(self, conn: Connection) -> None:
        self._group(conn).discard(conn)

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="porch-ws-heartbeat")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def close_all(self) -> None:
        for group in self._groups:
            for conn in list(group):
                conn.close(CLOSE_GOING_AWAY, "server shutting down")

    async def _beat(self) -> None:
        step = self.interval / self.SLICES
        due = time.monotonic()
        for n in itertools.count():
            await self._ping_group(self._groups[n % self.SLICES])
            due += step
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def _ping_group(self, group: set[Connection]) -> None:
        now = time.monotonic()
        limit = now - self.interval * (self.missed + 0.5)
        soon = now + self.interval
        for i, conn in enumerate(list(group)):
            if i and i % self.PER_TURN == 0:
                await asyncio.sleep(0)  # let the sends just queued, and everything else, run
            if conn.last_seen < limit:
                conn.close(CLOSE_HEARTBEAT, "no answer to pings")
            else:
                conn.push(self._ping)
                if conn.deadline < soon:
                    self._time(conn)

    def watch_deadline(self, conn: Connection) -> None:
        """`conn.deadline` was just set: time it now if it falls before the socket's next ping.

        Deadlines are hours away for almost every socket, so no timer is kept for them: the
        heartbeat, which visits each socket once per interval anyway, starts one when a
        deadline comes within the interval; the deadline passes to the timer (inf meanwhile)."""
        if conn.deadline < time.monotonic() + self.interval:
            self._time(conn)

    def _time(self, conn: Connection) -> None:
        delay = max(0.0, conn.deadline - time.monotonic())
        conn.deadline = math.inf
        asyncio.get_running_loop().call_later(delay, self._due, conn)

    def _due(self, conn: Connection) -> None:
        if conn.closing is None and self.on_deadline is not None:
            self.on_deadline(conn)
