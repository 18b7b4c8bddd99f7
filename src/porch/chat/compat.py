"""Thin aliases for clients written against the chat backends porch replaces.

`sessionId` is the conversation's visitor token, so it is as secret as that token.
Where no widget is named, the oldest widget on the server answers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from porch import __version__
from porch.accounts import tokens
from porch.chat import intake, pipeline, service
from porch.chat import repository as repo
from porch.chat.dependencies import Visitor, visitor_for, widget_for_visitor
from porch.chat.events import SSE_HEADERS, Done, Failed, Started, sse
from porch.chat.routes import client_ip, message_out
from porch.chat.schemas import ConversationIn
from porch.deps import StateDep
from porch.errors import NotFound, Unavailable
from porch.schemas import Line, Text
from porch.state import State
from porch.widgets import service as widgets

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


class CompatMessage(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    message: Text = Field(min_length=1, max_length=4000)
    session_id: Line | None = Field(default=None, alias="sessionId", max_length=200)
    widget_id: uuid.UUID | None = Field(default=None, alias="widgetId")
    agent_id: uuid.UUID | None = Field(default=None, alias="agentId")


async def _widget_id(state: State, named: uuid.UUID | None) -> uuid.UUID:
    if named is not None:
        return named
    async with state.sessionmaker() as session:
        found = await widgets.default_widget_id(session)
    if found is None:
        raise NotFound("No widget exists yet.", code="widget_not_found")
    return found


async def _visitor(state: State, request: Request, body: CompatMessage) -> tuple[Visitor, str]:
    """The conversation named by sessionId, or a new one in the named or default widget."""
    if body.session_id:
        async with state.autocommit.connect() as conn:
            conversation_id = await repo.conversation_by_token(
                conn, tokens.token_hash(body.session_id)
            )
        if conversation_id is None:
            raise NotFound("No such session.", code="session_not_found")
        return await visitor_for(state, request, conversation_id, body.session_id), body.session_id
    widget = await widget_for_visitor(
        state, request, await _widget_id(state, body.widget_id or body.agent_id)
    )
    # The same door as the widget's: per-IP limit, identity requirement, inbox event.
    started = await intake.open_conversation(
        state, widget, ConversationIn(), client_ip=client_ip(request)
    )
    visitor = await visitor_for(state, request, started.conversation_id, started.visitor_token)
    return visitor, started.visitor_token


@router.post("/chat/message")
async def chat_message(body: CompatMessage, request: Request, state: StateDep) -> dict[str, Any]:
    visitor, session_id = await _visitor(state, request, body)
    accepted = await pipeline.accept(
        state,
        visitor.conversation,
        visitor.widget,
        body.message,
        visitor_key=str(visitor.conversation.id),
    )
    reply = ""
    async for event in pipeline.events(pipeline.start(state, accepted)):
        if isinstance(event, Failed):
            raise Unavailable(event.message, code=event.code, retry_after=1)
        if isinstance(event, Done):
            reply = event.content
    return {"reply": reply, "sessionId": session_id}


@router.post("/api/chat")
async def chat_stream(body: CompatMessage, request: Request, state: StateDep) -> Response:
    visitor, session_id = await _visitor(state, request, body)
    accepted = await pipeline.accept(
        state,
        visitor.conversation,
        visitor.widget,
        body.message,
        visitor_key=str(visitor.conversation.id),
    )
    queue = pipeline.start(state, accepted)

    async def stream() -> AsyncIterator[bytes]:
        async for event in pipeline.events(queue):
            if isinstance(event, Started):
                yield (
                    b"event: start\ndata: "
                    + orjson.dumps(
                        {
                            "user_message_id": event.user_message_id,
                            "message_id": event.message_id,
                            "sessionId": session_id,
                        }
                    )
                    + b"\n\n"
                )
            else:
                yield sse(event)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/chat/history/{session_id}")
async def chat_history(session_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    async with state.autocommit.connect() as conn:
        conversation_id = await repo.conversation_by_token(conn, tokens.token_hash(session_id))
    if conversation_id is None:
        raise NotFound("No such session.", code="session_not_found")
    visitor = await visitor_for(state, request, conversation_id, session_id)
    async with state.autocommit.connect() as conn:
        items, _ = await service.history(
            conn, visitor.conversation.id, before=None, limit=service.HISTORY_PAGE_MAX
        )
    return {
        "sessionId": session_id,
        "messages": [message_out(m).model_dump(mode="json") for m in items],
    }


@router.get("/api/config")
@router.get("/api/widget-config")
async def widget_config(
    state: StateDep,
    request: Request,
    agent_id: Annotated[uuid.UUID | None, Query(alias="agentId")] = None,
) -> Response:
    config = await widget_for_visitor(state, request, await _widget_id(state, agent_id))
    return Response(
        config.public_json, media_type="application/json", headers={"ETag": config.etag}
    )


@router.get("/api/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/environment")
async def environment(state: StateDep) -> dict[str, Any]:
    s = state.settings
    return {
        "version": __version__,
        "database": "sqlite" if s.is_sqlite else "postgresql",
        "redis": s.redis_url is not None,
        "llm_provider": s.llm_provider,
        "llm_model": s.llm_model,
        "public_url": s.public_url,
    }
