"""Spur's chat API (seed 003) and `/api/chat`, for clients written against the backends
porch replaces; the shapes are in compat_shapes.py, docs/compatibility.md maps the fields.

`sessionId` is the conversation's visitor token, so it is as secret as that token. A
sessionId porch cannot continue starts a new conversation, as Spur does. Where no widget is
named, the oldest widget on the server answers. Errors here read `{"error": "…", "code": …}`
(errors.py) and carry CORS headers for every origin the widget allows (security/cors.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from porch.accounts import tokens
from porch.chat.answer import pipeline
from porch.chat.answer.context import State
from porch.chat.answer.dependencies import ChatDep
from porch.chat.answer.events import SSE_HEADERS, Done, Event, Failed, SourcesFound, Started, sse
from porch.chat.answer.stream import batches
from porch.chat.answer.stream import events as reply_events
from porch.chat.visitor import compat_shapes as shapes
from porch.chat.visitor import intake, service
from porch.chat.visitor.compat_shapes import CompatMessage
from porch.chat.visitor.dependencies import Visitor, admitted, visitor_for, widget_for_visitor
from porch.chat.visitor.mapping import client_ip
from porch.chat.visitor.schemas import ConversationIn
from porch.conversations.tokens import own_token_state
from porch.errors import NotFound, Unauthorized, Unavailable
from porch.widgets import service as widgets
from porch.widgets.cache import WidgetConfig

router = APIRouter(include_in_schema=False)
_OWNER_ALIAS = "/api/widgets"


class LegacyPaths:
    """Serves `/api/widgets…` as `/api/v1/widgets…`: same handlers, same auth, no copies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (
            path == _OWNER_ALIAS or path.startswith(_OWNER_ALIAS + "/")
        ):
            # In place, so the metrics middleware outside sees which route served it.
            scope["path"] = "/api/v1" + path[4:]
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


async def _known(state: State, request: Request, session_id: str | None) -> Visitor | None:
    """The conversation a sessionId names, origin checked; None when porch cannot continue it.

    Unknown (a visitor coming from a Spur backend, or after a data reset) and expired alike:
    Spur's client keeps its saved id for good, so an error here would leave the visitor stuck.
    """
    if not session_id:
        return None
    async with state.autocommit.connect() as conn:
        found = await own_token_state(conn, tokens.token_hash(session_id))
    if found is None:
        return None
    try:
        return await admitted(state, request, found)
    except Unauthorized as exc:
        if exc.code != "visitor_token_expired":
            raise
        return None


async def _start(state: State, request: Request, widget: WidgetConfig) -> tuple[Visitor, str]:
    # The same door as the widget's: per-IP limit, identity requirement, inbox event.
    started = await intake.open_conversation(
        state, widget, ConversationIn(), client_ip=client_ip(request), greet=False
    )  # the client shows its own welcome
    visitor = await visitor_for(state, request, started.conversation_id, started.visitor_token)
    return visitor, started.visitor_token


async def _prepare(state: State, request: Request, body: CompatMessage) -> tuple[Visitor, str, str]:
    """(visitor, sessionId, question): the conversation sessionId names, or a new one.

    In this order: the origin (403 before anything else), the message (400), and only then
    a new conversation, so a refused or empty message starts none."""
    known = await _known(state, request, body.session_id)
    if known is not None and body.session_id:
        return known, body.session_id, shapes.question(body.message)
    widget = await widget_for_visitor(
        state, request, await service.widget_or_default(state, body.widget_id or body.agent_id)
    )
    text = shapes.question(body.message)
    visitor, session_id = await _start(state, request, widget)
    return visitor, session_id, text


@router.post("/chat/message")
async def chat_message(body: CompatMessage, request: Request, state: ChatDep) -> dict[str, Any]:
    visitor, session_id, text = await _prepare(state, request, body)
    accepted = await pipeline.accept(
        state, visitor.conversation, visitor.widget, text, visitor_key=str(visitor.conversation.id)
    )
    reply, sources = await _collect(reply_events(pipeline.start(state, accepted)))
    return {
        "reply": shapes.plain(reply, sources, state.settings.compat_sources),
        "sessionId": session_id,
    }


async def _collect(events: AsyncIterator[Event]) -> tuple[str, list[dict[str, Any]]]:
    reply, sources = "", []
    async for event in events:
        if isinstance(event, Failed):
            raise Unavailable(event.message, code=event.code, retry_after=1)
        if isinstance(event, SourcesFound):
            sources = event.sources
        elif isinstance(event, Done):
            reply = event.content
    return reply, sources


@router.post("/api/chat")
async def chat_stream(body: CompatMessage, request: Request, state: ChatDep) -> Response:
    visitor, session_id, text = await _prepare(state, request, body)
    accepted = await pipeline.accept(
        state, visitor.conversation, visitor.widget, text, visitor_key=str(visitor.conversation.id)
    )
    groups = batches(pipeline.start(state, accepted), state.settings.stream_flush_ms)
    return StreamingResponse(
        _stream(groups, session_id), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _stream(groups: AsyncIterator[list[Event]], session_id: str) -> AsyncIterator[bytes]:
    """porch's SSE events, with the sessionId in `start` (the client has no other way to it).

    Events already queued together go out in one write, as on the native route: one send per
    token cost a system call each (docs/performance.md)."""
    async for group in groups:
        yield b"".join(_frame(event, session_id) for event in group)


def _frame(event: Event, session_id: str) -> bytes:
    if isinstance(event, Started):
        data = {
            "user_message_id": event.user_message_id,
            "message_id": event.message_id,
            "sessionId": session_id,
        }
        return b"event: start\ndata: " + orjson.dumps(data) + b"\n\n"
    return sse(event)


async def _session(state: State, request: Request, session_id: str) -> Visitor:
    """The conversation a sessionId names. Unknown: the origin is asked of the default widget
    (the one a new conversation would start in) first, then a readable 404."""
    async with state.autocommit.connect() as conn:
        found = await own_token_state(conn, tokens.token_hash(session_id))
    if found is not None:
        return await admitted(state, request, found)
    async with state.sessionmaker() as session:
        default = await widgets.default_widget_id(session)
    if default is not None:
        await widget_for_visitor(state, request, default)
    raise NotFound(
        "Conversation not found; send a message without this sessionId to start a new one.",
        code="session_not_found",
    )


@router.get("/chat/history/{session_id}")
async def chat_history(session_id: str, request: Request, state: ChatDep) -> dict[str, Any]:
    visitor = await _session(state, request, session_id)
    async with state.autocommit.connect() as conn:
        items, _ = await service.history(
            conn, visitor.conversation.id, before=None, limit=service.HISTORY_PAGE_MAX
        )
    mode = state.settings.compat_sources
    return shapes.history(items, session_id, visitor.conversation.id, mode)
