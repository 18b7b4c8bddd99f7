"""Actions in the inbox: a conversation's calls, an agent's approval, an agent's own run.

Approving or declining goes through `confirm.decide`, exactly as a visitor's answer to a
card (bound to the arguments and the action's version, 409 once answered, 410 expired),
recorded with the person who decided. Its outcome, and an agent's run's, is posted into
the conversation as a message from that person, so the visitor's socket shows it at once
(visitors' sockets get people's messages; the assistant's reach them on their own stream).
Posting it does not take the conversation over: the assistant keeps answering.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from porch.actions import agent_run, calls, confirm
from porch.actions.schemas import CallOut, ConfirmIn, ConfirmOut
from porch.chat import handoff
from porch.chat.answer.context import State
from porch.chat.inbox.schemas import OfferedAction
from porch.chat.inbox.service import get_owned, public_names
from porch.ids import uuid7
from porch.models import ActionCall, Conversation, Message
from porch.models.base import utcnow
from porch.realtime import events as ev

# An agent's typo is theirs to fix, not the visitor's to read about.
_NOT_POSTED = frozenset({"invalid_arguments"})


async def list_calls(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> list[CallOut]:
    """The conversation's calls, newest first (every member who reads the inbox may)."""
    c = await get_owned(session, workspace_id, conversation_id)
    return await calls.list_calls(session, workspace_id, c.widget_id, conversation_id=c.id)


async def offered(
    session: AsyncSession, state: State, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> list[OfferedAction]:
    c = await get_owned(session, workspace_id, conversation_id)
    return [
        OfferedAction(
            id=a.id,
            slug=a.slug,
            title=a.title,
            risk=a.risk,
            requires_verified=a.requires_verified,
            parameters=agent_run.fields(a),
        )
        for a in await agent_run.offered(state, c.widget_id)
    ]


async def _post(
    state: State, session: AsyncSession, c: Conversation, user_id: uuid.UUID, text: str
) -> None:
    """The outcome as a message from the person, for the visitor and the inbox (on commit)."""
    names = await public_names(session, {user_id})
    now = utcnow()
    message = Message(
        id=uuid7(),
        conversation_id=c.id,
        workspace_id=c.workspace_id,
        widget_id=c.widget_id,
        role="agent",
        content=text,
        status="complete",
        sources=[],
        author_name=names.get(user_id),
        created_at=now,
    )
    session.add(message)
    await session.flush()
    shown = {"id": message.id, "role": "agent", "content": text, "author_name": message.author_name}
    await state.realtime.emit_after_commit(
        session,
        c.workspace_id,
        c.id,
        ev.MESSAGE_CREATED,
        {"message": handoff.message_json(shown, now)},
    )


async def decide(
    session: AsyncSession,
    state: State,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    call_id: uuid.UUID,
    decision: str,
    arguments_hash: str | None,
) -> ConfirmOut:
    """Approve (`confirm`) or decline a call that waits for a team member."""
    c = await get_owned(session, workspace_id, conversation_id)

    async def reply(own: AsyncSession, _call: ActionCall, text: str) -> None:
        await _post(state, own, c, user_id, text)

    body = ConfirmIn(decision="confirm" if decision == "confirm" else "decline")
    body.arguments_hash = arguments_hash
    return await confirm.decide(state, c.id, c.widget_id, call_id, body, reply, by=str(user_id))


async def run(
    session: AsyncSession,
    state: State,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    action_id: uuid.UUID,
    arguments: Mapping[str, object],
) -> CallOut:
    """Run an action for the visitor now; the result is posted into the conversation."""
    c = await get_owned(session, workspace_id, conversation_id)
    call = await agent_run.run(session, state, c, action_id, dict(arguments), by=str(user_id))
    if call.visitor_text and call.error_class not in _NOT_POSTED:
        await _post(state, session, c, user_id, call.visitor_text)
    return calls.to_out(call)
