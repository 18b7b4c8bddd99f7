"""Visitor routes: start a conversation, send a message (JSON or SSE), history, feedback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from porch.actions.events import ActionEvent
from porch.chat.answer import live, pipeline, stream
from porch.chat.answer.context import State
from porch.chat.answer.dependencies import ChatDep
from porch.chat.answer.events import SSE_HEADERS, Done, Event, Failed, SourcesFound, sse
from porch.chat.inbox import agent
from porch.chat.inbox.schemas import AgentMessageOut
from porch.chat.visitor import calls as shown_calls
from porch.chat.visitor import intake, service
from porch.chat.visitor.dependencies import (
    Agent,
    CurrentVisitor,
    VisitorBearer,
    VisitorOrAgent,
    visitor_for,
    widget_for_visitor,
)
from porch.chat.visitor.mapping import client_ip, message_out
from porch.chat.visitor.schemas import (
    ActionOut,
    ConversationCreated,
    ConversationIn,
    FeedbackIn,
    HandoffIn,
    HandoffOut,
    History,
    MessageIn,
    ReplyOut,
    Usage,
)
from porch.conversations import repository as repo
from porch.conversations.repository import StoredMessage
from porch.deps import EngineDep
from porch.errors import NotFound, Unavailable
from porch.realtime.dependencies import RealtimeDep

router = APIRouter(prefix="/api/v1", tags=["visitor"])


@router.post(
    "/widgets/{widget_id}/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationCreated,
)
async def start_conversation(
    widget_id: uuid.UUID,
    body: ConversationIn,
    request: Request,
    state: ChatDep,
) -> ConversationCreated:
    widget = await widget_for_visitor(state, request, widget_id)
    started = await intake.open_conversation(state, widget, body, client_ip=client_ip(request))
    return ConversationCreated(
        conversation_id=started.conversation_id,
        visitor_token=started.visitor_token,
        messages=[message_out(m) for m in started.messages],
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=ReplyOut,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "JSON, or an SSE stream with Accept: text/event-stream",
        }
    },
)
async def send_message(
    conversation_id: uuid.UUID,
    body: MessageIn,
    sender: VisitorOrAgent,
    request: Request,
    state: ChatDep,
) -> Response:
    if isinstance(sender, Agent):
        # A person's message: the inbox's reply (POST /conversations/{id}/reply).
        return await _as_agent(sender, conversation_id, body.content, state)
    accepted = await pipeline.accept(
        state, sender.conversation, sender.widget, body.content, visitor_key=str(conversation_id)
    )
    queue = pipeline.start(state, accepted)
    if "text/event-stream" in request.headers.get("accept", ""):
        groups = stream.batches(queue, state.settings.stream_flush_ms)
        return StreamingResponse(
            _stream(groups), media_type="text/event-stream", headers=SSE_HEADERS
        )
    return await _collect(stream.events(queue), accepted.user_message_id)


async def _as_agent(
    sender: Agent, conversation_id: uuid.UUID, content: str, state: State
) -> Response:
    message, conversation = await agent.reply(
        sender.session,
        state.realtime,
        sender.owner.workspace_id,
        conversation_id,
        user_id=sender.owner.user_id,
        content=content,
    )
    out = AgentMessageOut(message=message, status=conversation.status)
    return Response(out.model_dump_json(), status_code=201, media_type="application/json")


async def _stream(groups: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
    async for group in groups:
        yield b"".join(sse(event) for event in group)


async def _collect(events: AsyncIterator[Event], user_message_id: uuid.UUID) -> Response:
    sources: list[dict[str, object]] = []
    # A call's latest state, as the history will show it.
    acted: dict[uuid.UUID, ActionOut] = {}
    async for event in events:
        if isinstance(event, SourcesFound):
            sources = event.sources
        elif isinstance(event, ActionEvent):
            acted[event.call_id] = shown_calls.from_event(event)
        elif isinstance(event, Failed):
            raise Unavailable(event.message, code=event.code, retry_after=1)
        elif isinstance(event, Done):
            message = None
            if event.message_id is not None:
                message = message_out(
                    StoredMessage(
                        event.message_id,
                        "assistant",
                        event.content,
                        sources,
                        event.created_at,
                        event.status,
                        None,
                    ),
                    list(acted.values()),
                )
            reply = ReplyOut(
                message=message,
                user_message_id=user_message_id,
                usage=Usage(
                    prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens
                ),
            )
            return Response(reply.model_dump_json(), media_type="application/json")
    raise Unavailable("The answer ended early.", code="answer_incomplete", retry_after=1)


@router.get("/conversations/{conversation_id}/messages", response_model=History)
async def history(
    visitor: CurrentVisitor,
    state: ChatDep,
    before: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.HISTORY_PAGE_MAX)] = 50,
) -> History:
    async with state.autocommit.connect() as conn:
        page = await service.history_page(
            conn, state.actions, visitor.conversation, before=before, limit=limit
        )
    return History(
        messages=[message_out(m, page.actions.get(m.id, ())) for m in page.messages],
        has_more=page.has_more,
        status=visitor.conversation.status,
    )


@router.post("/messages/{message_id}/feedback", status_code=status.HTTP_204_NO_CONTENT)
async def feedback(
    message_id: uuid.UUID,
    body: FeedbackIn,
    request: Request,
    state: ChatDep,
    bearer: VisitorBearer,
) -> None:
    conversation_id = await _conversation_of(state, message_id)
    visitor = await visitor_for(
        state, request, conversation_id, bearer.credentials if bearer else None
    )
    async with state.engine.begin() as conn:
        await service.rate(
            conn, visitor.conversation.id, message_id, rating=body.rating, comment=body.comment
        )
    await live.feedback(state, visitor.conversation, message_id, body.rating, body.comment)


async def _conversation_of(state: State, message_id: uuid.UUID) -> uuid.UUID:
    async with state.autocommit.connect() as conn:
        conversation_id = await repo.message_conversation(conn, message_id)
    if conversation_id is None:
        raise NotFound("No such message.", code="message_not_found")
    return conversation_id


@router.post(
    "/conversations/{conversation_id}/handoff",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=HandoffOut,
)
async def handoff(
    body: HandoffIn, visitor: CurrentVisitor, engine: EngineDep, realtime: RealtimeDep
) -> HandoffOut:
    async with engine.begin() as conn:
        requested = await service.request_handoff(
            conn, visitor.conversation, visitor.widget, reason=body.reason
        )
    for event in requested.events:
        realtime.broker.publish(event)
    return HandoffOut(
        status=requested.status,
        message=requested.message,
        online=requested.online,
        reply_expected_at=requested.reply_expected_at,
    )
