"""Owner and agent routes of the live inbox: reply, assign, release, read, typing, members.

`POST /conversations/{id}/messages` from a signed-in owner or agent (session cookie or API
key, no visitor token) is a reply as a person too: `AgentMessages` sends it here.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Response, status
from starlette.types import ASGIApp, Receive, Scope, Send

from porch.accounts import tokens
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
from porch.chat.inbox.service import agent_names, get_owned
from porch.deps import SessionDep, StateDep
from porch.realtime import events as ev

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
    state: StateDep,
) -> AgentMessageOut:
    """Reply as a person: the visitor sees it at once; the assistant stays quiet after it."""
    message, conversation = await agent.reply(
        session,
        state.realtime,
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
    state: StateDep,
) -> StatusOut:
    """Assign to a teammate (`user_id`), to yourself (no body), or to nobody (`unassign`)."""
    to_user = None if body.unassign else (body.user_id or owner.user_id)
    conversation, name = await agent.assign(
        session, state.realtime, owner.workspace_id, conversation_id, to_user=to_user
    )
    return StatusOut(
        id=conversation.id,
        status=conversation.status,
        assigned_user_id=conversation.assigned_user_id,
        assigned_name=name,
    )


@router.post("/conversations/{conversation_id}/release", response_model=StatusOut)
async def release(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, state: StateDep
) -> StatusOut:
    """Hand the conversation back to the assistant."""
    conversation = await agent.release(session, state.realtime, owner.workspace_id, conversation_id)
    return StatusOut(
        id=conversation.id,
        status=conversation.status,
        assigned_user_id=conversation.assigned_user_id,
    )


@router.post("/conversations/{conversation_id}/read", response_model=StatusOut)
async def mark_read(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, state: StateDep
) -> StatusOut:
    """Everything the visitor wrote so far has been read: the unread count goes to 0."""
    conversation = await agent.mark_read(
        session, state.realtime, owner.workspace_id, conversation_id
    )
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
    state: StateDep,
) -> Response:
    """Show the visitor that a person is typing (the inbox socket does the same)."""
    conversation = await get_owned(session, owner.workspace_id, conversation_id)
    names = await agent_names(session, {owner.user_id})
    state.realtime.signal(
        owner.workspace_id,
        conversation.id,
        ev.TYPING,
        {"who": "agent", "on": body.on, "name": names.get(owner.user_id), "user_id": owner.user_id},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/inbox/members", response_model=MemberList)
async def members(owner: AgentScope, session: SessionDep) -> MemberList:
    """The workspace's people, to assign conversations to."""
    return MemberList(members=await agent.members(session, owner.workspace_id))


_MESSAGES = re.compile(r"^/api/v1/conversations/([0-9a-fA-F-]{32,36})/messages$")


class AgentMessages:
    """Routes a person's `POST /conversations/{id}/messages` to `/reply`.

    The visitor route authenticates by visitor token; a request that carries none but an
    owner's session cookie or API key is a person replying. Rewritten in place, before
    routing, so both keep one handler each and the same authentication as ever.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            found = _MESSAGES.match(scope.get("path", ""))
            if found and _from_owner(scope):
                scope["path"] = f"/api/v1/conversations/{found.group(1)}/reply"
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def _from_owner(scope: Scope) -> bool:
    auth, cookie = b"", b""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            auth = value
        elif name == b"cookie":
            cookie = value
    bearer = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
    if bearer:
        return bearer.startswith(tokens.API_KEY_PREFIX.encode())
    return b"porch_session=" in cookie
