"""Visitor routes: start a conversation, send a message (JSON or SSE), history, feedback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from porch.chat import intake, live, pipeline, service
from porch.chat import repository as repo
from porch.chat.dependencies import CurrentVisitor, VisitorBearer, visitor_for, widget_for_visitor
from porch.chat.events import SSE_HEADERS, Done, Event, Failed, SourcesFound, sse
from porch.chat.repository import StoredMessage
from porch.chat.schemas import (
    ConversationCreated,
    ConversationIn,
    FeedbackIn,
    HandoffIn,
    HandoffOut,
    History,
    MessageIn,
    MessageOut,
    ReplyOut,
    SourceRef,
    Usage,
)
from porch.deps import StateDep
from porch.errors import NotFound, Unavailable
from porch.state import State

router = APIRouter(prefix="/api/v1", tags=["visitor"])


def message_out(m: StoredMessage) -> MessageOut:
    return MessageOut(
        id=m.id,
        role=m.role,
        content=m.content,
        created_at=m.created_at,
        status=m.status,
        author_name=m.author_name,
        sources=[
            SourceRef(title=s.get("title", ""), url=s.get("url"), snippet=s.get("snippet", ""))
            for s in (m.sources or [])
        ],
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/widgets/{widget_id}/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationCreated,
)
async def start_conversation(
    widget_id: uuid.UUID,
    body: ConversationIn,
    request: Request,
    state: StateDep,
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
    body: MessageIn,
    visitor: CurrentVisitor,
    request: Request,
    state: StateDep,
) -> Response:
    accepted = await pipeline.accept(
        state,
        visitor.conversation,
        visitor.widget,
        body.content,
        visitor_key=str(visitor.conversation.id),
    )
    queue = pipeline.start(state, accepted)
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(pipeline.batches(queue, state.settings.stream_flush_ms)),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    return await _collect(pipeline.events(queue), accepted.user_message_id)


async def _stream(groups: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
    async for group in groups:
        yield b"".join(sse(event) for event in group)


async def _collect(events: AsyncIterator[Event], user_message_id: uuid.UUID) -> Response:
    sources: list[dict[str, object]] = []
    async for event in events:
        if isinstance(event, SourcesFound):
            sources = event.sources
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
                    )
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
    state: StateDep,
    before: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.HISTORY_PAGE_MAX)] = 50,
) -> History:
    async with state.autocommit.connect() as conn:
        items, has_more = await service.history(
            conn, visitor.conversation.id, before=before, limit=limit
        )
    return History(messages=[message_out(m) for m in items], has_more=has_more)


@router.post("/messages/{message_id}/feedback", status_code=status.HTTP_204_NO_CONTENT)
async def feedback(
    message_id: uuid.UUID,
    body: FeedbackIn,
    request: Request,
    state: StateDep,
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
async def handoff(body: HandoffIn, visitor: CurrentVisitor, state: StateDep) -> HandoffOut:
    async with state.engine.begin() as conn:
        requested = await service.request_handoff(
            conn, visitor.conversation, visitor.widget, reason=body.reason
        )
    for event in requested.events:
        state.realtime.broker.publish(event)
    return HandoffOut(
        status=requested.status,
        message=requested.message,
        online=requested.online,
        reply_expected_at=requested.reply_expected_at,
    )
