"""Owner routes of the inbox: list a widget's conversations, read one, close or reopen it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from porch.accounts.dependencies import AgentScope
from porch.chat.inbox import service as inbox
from porch.chat.inbox.schemas import (
    ConversationDetail,
    ConversationStatus,
    InboxPage,
    Rating,
    StatusOut,
)
from porch.deps import SessionDep
from porch.realtime.dependencies import RealtimeDep
from porch.schemas import Day, Line

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/widgets/{widget_id}/conversations", response_model=InboxPage)
async def list_conversations(
    widget_id: uuid.UUID,
    owner: AgentScope,
    session: SessionDep,
    status: Annotated[ConversationStatus | None, Query()] = None,
    rating: Annotated[Rating | None, Query(description="Has a reply rated up or down")] = None,
    date_from: Annotated[Day | None, Query(alias="from")] = None,
    date_to: Annotated[Day | None, Query(alias="to")] = None,
    q: Annotated[Line | None, Query(max_length=200, description="Text in any message")] = None,
    cursor: Annotated[Line | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=inbox.PAGE_MAX)] = inbox.PAGE_DEFAULT,
) -> InboxPage:
    filters = inbox.InboxFilter(status, rating, date_from, date_to, q)
    return await inbox.list_conversations(
        session, owner.workspace_id, widget_id, filters, cursor=cursor, limit=limit
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep
) -> ConversationDetail:
    return await inbox.get_conversation(session, owner.workspace_id, conversation_id)


@router.post("/conversations/{conversation_id}/close", response_model=StatusOut)
async def close_conversation(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, realtime: RealtimeDep
) -> StatusOut:
    conversation = await inbox.set_status(
        session, owner.workspace_id, conversation_id, "closed", realtime
    )
    return StatusOut(id=conversation.id, status=conversation.status)


@router.post("/conversations/{conversation_id}/reopen", response_model=StatusOut)
async def reopen_conversation(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, realtime: RealtimeDep
) -> StatusOut:
    conversation = await inbox.set_status(
        session, owner.workspace_id, conversation_id, "open", realtime
    )
    return StatusOut(id=conversation.id, status=conversation.status)
