"""What a person does in the inbox: reply, take or give a conversation, release it, mark read.

Each change is stored with its realtime event in the request's transaction; the event is
published once that commits, so the visitor and other agents see it at once.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.chat import handoff
from porch.chat.inbox.schemas import InboxMessage, Member
from porch.chat.inbox.service import _message, agent_names, get_owned, public_names
from porch.errors import NotFound
from porch.ids import uuid7
from porch.models import Conversation, Membership, Message, User
from porch.models.base import utcnow
from porch.realtime import events as ev
from porch.realtime.hub import Realtime


def _status_data(
    c: Conversation, names: dict[uuid.UUID, str], public: dict[uuid.UUID, str]
) -> dict[str, object]:
    who = c.assigned_user_id
    return {
        "status": c.status,
        "widget_id": c.widget_id,
        "assigned_user_id": who,
        "agent_name": names.get(who) if who else None,
        # What the visitor's socket shows (realtime/views.py): never an email's local part.
        "agent_public_name": public.get(who) if who else None,
        "unread_count": c.unread_count,
    }


async def _updated(
    session: AsyncSession, realtime: Realtime, c: Conversation, **extra: object
) -> dict[uuid.UUID, str]:
    """Tell sockets (once committed) the conversation's status, assignee and unread count;
    returns the assignee's display name by id."""
    names = await agent_names(session, {c.assigned_user_id})
    public = await public_names(session, {c.assigned_user_id})
    await realtime.emit_after_commit(
        session,
        c.workspace_id,
        c.id,
        ev.CONVERSATION_UPDATED,
        {**_status_data(c, names, public), **extra},
    )
    return names


async def reply(
    session: AsyncSession,
    realtime: Realtime,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    content: str,
) -> tuple[InboxMessage, Conversation]:
    """Store a person's reply (role `agent`, with their name); the person now has it."""
    conversation = await get_owned(session, workspace_id, conversation_id)
    names = await public_names(session, {user_id})
    now = utcnow()
    message = Message(
        id=uuid7(),
        conversation_id=conversation.id,
        workspace_id=workspace_id,
        widget_id=conversation.widget_id,
        role="agent",
        content=content,
        status="complete",
        sources=[],
        author_name=names.get(user_id),
        created_at=now,
    )
    session.add(message)
    await session.flush()
    before = (conversation.status, conversation.assigned_user_id)
    conversation.status = "agent"
    conversation.agent_active_at = now
    conversation.first_agent_reply_at = conversation.first_agent_reply_at or now
    conversation.assigned_user_id = conversation.assigned_user_id or user_id
    conversation.closed_at = None
    conversation.unread_count = 0  # replying means having read it
    await session.flush()
    await realtime.emit_after_commit(
        session,
        workspace_id,
        conversation.id,
        ev.MESSAGE_CREATED,
        {
            "message": handoff.message_json(
                {
                    "id": message.id,
                    "role": "agent",
                    "content": content,
                    "author_name": message.author_name,
                },
                now,
            )
        },
    )
    if before != (conversation.status, conversation.assigned_user_id):
        await _updated(session, realtime, conversation)
    return _message(message), conversation


async def assign(
    session: AsyncSession,
    realtime: Realtime,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    to_user: uuid.UUID | None,
) -> tuple[Conversation, str | None]:
    """Give the conversation to a member (the assistant goes quiet), or to nobody."""
    conversation = await get_owned(session, workspace_id, conversation_id)
    if to_user is not None:
        member = await session.scalar(
            select(Membership.id).where(
                Membership.workspace_id == workspace_id, Membership.user_id == to_user
            )
        )
        if member is None:
            raise NotFound("No such member in this workspace.", code="member_not_found")
        conversation.assigned_user_id = to_user
        conversation.agent_active_at = utcnow()
        if conversation.status != "closed":
            conversation.status = "agent"
    else:
        conversation.assigned_user_id = None
    await session.flush()
    names = await _updated(session, realtime, conversation)
    return conversation, names.get(to_user) if to_user else None


async def release(
    session: AsyncSession, realtime: Realtime, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    """Hand the conversation back to the assistant: it answers the next message again."""
    conversation = await get_owned(session, workspace_id, conversation_id)
    if conversation.status in handoff.HANDED_OFF:
        conversation.status = "open"
        conversation.agent_active_at = None
        await session.flush()
        await _updated(session, realtime, conversation, reason="released")
    return conversation


async def mark_read(
    session: AsyncSession, realtime: Realtime, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    conversation = await get_owned(session, workspace_id, conversation_id)
    if conversation.unread_count:
        conversation.unread_count = 0
        await session.flush()
        await _updated(session, realtime, conversation)
    return conversation


async def members(session: AsyncSession, workspace_id: uuid.UUID) -> list[Member]:
    rows = await session.execute(
        select(User.id, User.email, User.display_name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(User.email)
    )
    return [
        Member(user_id=uid, email=email, name=name or email.split("@")[0], role=role)
        for uid, email, name, role in rows.all()
    ]
