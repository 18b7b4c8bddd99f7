"""WebSockets: a conversation's (visitor or agent) and the workspace inbox's (agents).

Frames are JSON text. The server sends `ready` first (with the newest event id), then any
stored events after `?last_event_id=`, then live ones; a `ping` every PORCH_WS_PING_SECONDS
that any frame answers. Clients send `{"type":"typing","on":true}` and `{"type":"pong"}`;
agents on the inbox socket add `"conversation_id"` to typing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from porch.conversations import repository as repo
from porch.errors import DATABASE_RETRY_AFTER, error_response, is_database_unavailable
from porch.realtime import auth
from porch.realtime import events as ev
from porch.realtime.broker import Topic
from porch.realtime.connection import Connection
from porch.realtime.context import State

router = APIRouter(prefix="/api/v1", tags=["realtime"])
log = structlog.get_logger("porch.realtime")
# A socket open without credentials gets this long to send them in its first frame.
AUTH_WAIT_SECONDS = 5.0
TYPING_EVERY = 1.0
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
CLOSE_UNAUTHORIZED = 4401


class DatabaseGuard:
    """A database that is away answers a socket as it answers HTTP: 503 with Retry-After at
    the handshake (close 1013, "try again later", once open), never a 500.

    A context manager rather than a wrapping coroutine: an open socket keeps every frame it
    awaits through, and this one needs none."""

    __slots__ = ("websocket",)

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if not isinstance(exc, Exception) or not is_database_unavailable(exc):
            return False
        log.warning("database_unavailable", error=type(exc).__name__, socket=True)
        with contextlib.suppress(WebSocketDisconnect, OSError):  # the client may be gone too
            await self._refuse()
        return True

    async def _refuse(self) -> None:
        websocket = self.websocket
        if websocket.application_state == WebSocketState.CONNECTING:
            denial = error_response(
                503,
                "database_unavailable",
                "The database is unreachable for a moment; please retry shortly.",
                str(websocket.scope.get("state", {}).get("request_id", "")),
                {"Retry-After": str(DATABASE_RETRY_AFTER)},
            )
            try:
                await websocket.send_denial_response(denial)
                return
            except RuntimeError:
                pass  # a server without denial responses: a close code says it instead
        if websocket.application_state != WebSocketState.DISCONNECTED:
            await websocket.close(CLOSE_TRY_AGAIN, "database unavailable, retry shortly")


LastEventId = Annotated[
    int | None, Query(ge=0, description="Resume: send stored events after this id first")
]


async def conversation_socket(
    websocket: WebSocket,
    state: State,
    conversation_id: uuid.UUID,
    token: str | None,
    last_event_id: int | None,
) -> None:
    """A visitor (visitor token) or an agent (session cookie, API key) on one conversation.

    Served by `ConversationSockets` (realtime/fastpath.py) before the middleware stack:
    thousands of visitors hold this socket open, and every layer it passed through would
    stay on each one's stack."""
    since = time.monotonic()
    async with DatabaseGuard(websocket):
        admitted = await _admit(websocket, state, conversation_id, token)
        if admitted is not None:
            conn, topic, on_frame = admitted
            await _serve(state, conn, topic, last_event_id, on_frame, since)


async def _admit(
    websocket: WebSocket, state: State, conversation_id: uuid.UUID, token: str | None
) -> tuple[Connection, Topic, FrameHandler] | None:
    """Who may watch this conversation, or None once the socket has been refused."""
    try:
        agent = None if token else await auth.agent(state, websocket)
    except auth.Refused as exc:
        await websocket.close(CLOSE_POLICY, str(exc))
        return None
    size = state.settings.ws_queue_size
    if agent is not None:
        async with state.autocommit.connect() as db:
            ref = await repo.conversation(db, conversation_id)
        if ref is None or ref.workspace_id != agent.owner.workspace_id:
            await websocket.close(CLOSE_POLICY, "no such conversation")
            return None
        grant = agent.grant(ref)
        conn = Connection(websocket, "agent", queue_size=size, grant=grant, deadline=agent.deadline)
        conn.allowed.add(ref.id)
        frames = _agent_frames(state, agent, ref.workspace_id, default=ref.id)
        return conn, Topic("conversation", ref.id), frames
    if token is None:
        # No credentials offered: the first frame must bring the visitor token, soon.
        await websocket.accept(auth.subprotocol(websocket))
        token = await _first_frame_token(websocket)
        if token is None:
            await websocket.close(CLOSE_UNAUTHORIZED, "send {type: auth, token} first")
            return None
    try:
        visitor = await auth.visitor(state, websocket, conversation_id, token)
    except auth.Refused as exc:
        # Refused at the handshake (before accept) the browser sees a failed connect, and
        # backs off, instead of an open-then-closed socket it would retry at once.
        await websocket.close(
            CLOSE_POLICY
            if websocket.application_state == WebSocketState.CONNECTING
            else CLOSE_UNAUTHORIZED,
            str(exc),
        )
        return None
    conn = Connection(
        websocket, "visitor", queue_size=size, grant=visitor.grant, deadline=visitor.deadline
    )
    ref = visitor.conversation
    return conn, Topic("conversation", ref.id), _visitor_frames(state, ref.workspace_id, ref.id)


@router.websocket("/inbox/ws")
async def inbox_socket(websocket: WebSocket, last_event_id: LastEventId = None) -> None:
    """Every event of the agent's workspace: new conversations, messages, tokens, typing."""
    since = time.monotonic()
    async with DatabaseGuard(websocket):
        state: State = websocket.app.state.porch
        agent = await _signed_in(websocket, state)
        if agent is None:
            return
        workspace_id = agent.owner.workspace_id
        conn = _agent_connection(websocket, state, agent)
        frames = _agent_frames(state, agent, workspace_id, default=None)
        await _serve(state, conn, Topic("workspace", workspace_id), last_event_id, frames, since)


def _agent_connection(websocket: WebSocket, state: State, agent: auth.Agent) -> Connection:
    """The agent's socket, closed when the access it was admitted with ends."""
    return Connection(
        websocket,
        "agent",
        queue_size=state.settings.ws_queue_size,
        grant=agent.grant(),
        deadline=agent.deadline,
    )


async def _signed_in(websocket: WebSocket, state: State) -> auth.Agent | None:
    """The agent on the inbox socket, or None once the socket has been refused."""
    try:
        agent = await auth.agent(state, websocket)
    except auth.Refused as exc:
        await websocket.close(CLOSE_POLICY, str(exc))
        return None
    if agent is None:
        await websocket.close(CLOSE_POLICY, "sign in first")
    return agent


async def _first_frame_token(websocket: WebSocket) -> str | None:
    try:
        async with asyncio.timeout(AUTH_WAIT_SECONDS):
            frame = await websocket.receive_json()
    except Exception:
        return None
    if isinstance(frame, dict) and frame.get("type") == "auth":
        value = frame.get("token")
        return value if isinstance(value, str) and len(value) <= 200 else None
    return None


FrameHandler = Callable[[Connection, dict[str, Any]], Awaitable[None]]


async def _serve(
    state: State,
    conn: Connection,
    topic: Topic,
    last_event_id: int | None,
    on_frame: FrameHandler,
    admitted_since: float,
) -> None:
    """Subscribe, replay what was missed, then stream live events until either side leaves."""
    if conn.ws.application_state == WebSocketState.CONNECTING:
        await conn.ws.accept(auth.subprotocol(conn.ws))
    auth.forget_credentials(conn.ws)
    realtime = state.realtime
    broker, heartbeat = realtime.broker, realtime.heartbeat
    # Subscribed before reading the database: nothing published in between is missed;
    # what arrives meanwhile is held and sent after the stored events, without duplicates.
    conn.hold()
    realtime.revoker.add(conn, admitted_since)
    broker.join(topic, conn)
    try:
        cid = topic.id if topic.kind == "conversation" else None
        wid = topic.id if topic.kind == "workspace" else None
        async with state.autocommit.connect() as db:
            stored = (
                await ev.since(db, last_event_id, conversation_id=cid, workspace_id=wid)
                if last_event_id is not None
                else []
            )
            latest = await ev.latest_id(db, conversation_id=cid, workspace_id=wid)
        conn.send_json(
            {
                "type": "ready",
                "last_event_id": latest,
                "resumed": last_event_id is not None,
                # Too far behind to replay: the client reloads what it shows instead.
                "reset": len(stored) >= ev.REPLAY_MAX,
                "ping_seconds": state.settings.ws_ping_seconds,
            }
        )
        # Pinged from here on, not before: `ready` is always the first frame.
        heartbeat.add(conn)
        conn.resume(stored, last_event_id or 0)
        await conn.run(on_frame)
    finally:
        broker.leave(topic, conn)
        heartbeat.discard(conn)
        realtime.revoker.discard(conn)


def _pong(conn: Connection, frame: dict[str, Any]) -> bool:
    if frame.get("type") == "ping":
        conn.send_json({"type": "pong"})
        return True
    return frame.get("type") == "pong"


def _typing_allowed(conn: Connection) -> bool:
    now = time.monotonic()
    if now - conn.last_typing < TYPING_EVERY:
        return False
    conn.last_typing = now
    return True


def _visitor_frames(
    state: State, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> FrameHandler:
    async def on_frame(conn: Connection, frame: dict[str, Any]) -> None:
        if _pong(conn, frame):
            return
        if frame.get("type") == "typing" and _typing_allowed(conn):
            state.realtime.signal(
                workspace_id,
                conversation_id,
                ev.TYPING,
                {"who": "visitor", "on": frame.get("on", True) is not False},
            )

    return on_frame


def _agent_frames(
    state: State, agent: auth.Agent, workspace_id: uuid.UUID, *, default: uuid.UUID | None
) -> FrameHandler:
    async def on_frame(conn: Connection, frame: dict[str, Any]) -> None:
        if _pong(conn, frame) or frame.get("type") != "typing":
            return
        try:
            cid = (
                uuid.UUID(str(frame["conversation_id"]))
                if frame.get("conversation_id")
                else default
            )
        except ValueError:
            return
        if cid is None:
            return
        if cid not in conn.allowed:
            async with state.autocommit.connect() as db:
                ref = await repo.conversation(db, cid)
            if ref is None or ref.workspace_id != workspace_id:
                return
            conn.allowed.add(cid)
        on = frame.get("on", True) is not False
        if on and not _typing_allowed(conn):
            return
        state.realtime.signal(
            workspace_id,
            cid,
            ev.TYPING,
            {
                "who": "agent",
                "on": on,
                "name": agent.name,
                "public_name": agent.public_name,
                "user_id": agent.owner.user_id,
            },
        )

    return on_frame
