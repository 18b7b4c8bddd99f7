"""Owner and agent routes of the live inbox: reply, assign, release, read, typing, members.

`POST /conversations/{id}/messages` from a signed-in owner or agent (session cookie or API
key, no visitor token) is a reply as a person too: that route's authenticator lets agents
in (chat/visitor/dependencies.py) and it calls the same `agent.reply`.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from porch.accounts.dependencies import AgentScope
from porch.chat.inbox import agent
from porch.chat.inbox.schemas import (
    AgentMessageOut,
    AgentReplyIn,
    AssignIn,
    MemberList,
    StatusOut,
    TypingIn,
)
from porch.chat.inbox.service import agent_names, get_owned, public_names
from porch.deps import SessionDep
from porch.realtime import events as ev
from porch.realtime.dependencies import RealtimeDep

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.post(
    "/conversations/{conversation_id}/reply",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentMessageOut,
)
async def reply(
    conversation_id: uuid.UUID,
    body: AgentReplyIn,
    owner: AgentScope,
    session: SessionDep,
    realtime: RealtimeDep,
) -> AgentMessageOut:
    """Reply as a person: the visitor sees it at once; the assistant stays quiet after it."""
    message, conversation = await agent.reply(
        session,
        realtime,
        owner.workspace_id,
        conversation_id,
        user_id=owner.user_id,
        content=body.content,
    )
    return AgentMessageOut(message=message, status=conversation.status)


@router.post("/conversations/{conversation_id}/assign", response_model=StatusOut)
async def assign(
    conversation_id: uuid.UUID,
    body: AssignIn,
    owner: AgentScope,
    session: SessionDep,
    realtime: RealtimeDep,
) -> StatusOut:
    """Assign to a teammate (`user_id`), to yourself (no body), or to nobody (`unassign`)."""
    to_user = None if body.unassign else (body.user_id or owner.user_id)
    conversation, name = await agent.assign(
        session, realtime, owner.workspace_id, conversation_id, to_user=to_user
    )
    return StatusOut(
        id=conversation.id,
        status=conversation.status,
        assigned_user_id=conversation.assigned_user_id,
        assigned_name=name,
    )


@router.post("/conversations/{conversation_id}/release", response_model=StatusOut)
async def release(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, realtime: RealtimeDep
) -> StatusOut:
    """Hand the conversation back to the assistant."""
    conversation = await agent.release(session, realtime, owner.workspace_id, conversation_id)
    return StatusOut(
        id=conversation.id,
        status=conversation.status,
        assigned_user_id=conversation.assigned_user_id,
    )


@router.post("/conversations/{conversation_id}/read", response_model=StatusOut)
async def mark_read(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, realtime: RealtimeDep
) -> StatusOut:
    """Everything the visitor wrote so far has been read: the unread count goes to 0."""
    conversation = await agent.mark_read(session, realtime, owner.workspace_id, conversation_id)
    return StatusOut(
        id=conversation.id,
        status=conversation.status,
        assigned_user_id=conversation.assigned_user_id,
    )


@router.post("/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def typing(
    conversation_id: uuid.UUID,
    body: TypingIn,
    owner: AgentScope,
    session: SessionDep,
    realtime: RealtimeDep,
) -> Response:
    """Show the visitor that a person is typing (the inbox socket does the same)."""
    conversation = await get_owned(session, owner.workspace_id, conversation_id)
    signal = await _typing_signal(session, owner.user_id, body.on)
    realtime.signal(owner.workspace_id, conversation.id, ev.TYPING, signal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _typing_signal(session: AsyncSession, user_id: uuid.UUID, on: bool) -> dict[str, object]:
    # `name` is for agents; visitors get `public_name` only (realtime/views.py).
    names = await agent_names(session, {user_id})
    public = await public_names(session, {user_id})
    return {
        "who": "agent",
        "on": on,
        "name": names.get(user_id),
        "public_name": public.get(user_id),
        "user_id": user_id,
    }


@router.get("/inbox/members", response_model=MemberList)
async def members(owner: AgentScope, session: SessionDep) -> MemberList:
    """The workspace's people, to assign conversations to."""
    return MemberList(members=await agent.members(session, owner.workspace_id))
