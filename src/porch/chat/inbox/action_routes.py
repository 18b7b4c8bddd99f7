"""Inbox routes of actions: a conversation's calls, approving or declining one, running one.

Every member who reads the inbox (role agent and above, session or API key) may; a
conversation of another workspace is a 404, as everywhere in the inbox.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from porch.accounts.dependencies import AgentScope
from porch.actions.schemas import CallList, CallOut, ConfirmOut
from porch.chat.answer.dependencies import ChatDep
from porch.chat.inbox import actions
from porch.chat.inbox.schemas import AgentRunIn, ApprovalIn, OfferedActions
from porch.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/conversations/{conversation_id}/action-calls", response_model=CallList)
async def conversation_calls(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep
) -> CallList:
    """The conversation's action calls, newest first (arguments secret-masked)."""
    return CallList(calls=await actions.list_calls(session, owner.workspace_id, conversation_id))


@router.get("/conversations/{conversation_id}/actions", response_model=OfferedActions)
async def conversation_actions(
    conversation_id: uuid.UUID, owner: AgentScope, session: SessionDep, state: ChatDep
) -> OfferedActions:
    """The enabled actions an agent may run here, with the parameters they fill in."""
    found = await actions.offered(session, state, owner.workspace_id, conversation_id)
    return OfferedActions(actions=found)


@router.post(
    "/conversations/{conversation_id}/action-calls/{call_id}/approve", response_model=ConfirmOut
)
async def approve_call(
    conversation_id: uuid.UUID,
    call_id: uuid.UUID,
    owner: AgentScope,
    session: SessionDep,
    state: ChatDep,
    body: ApprovalIn | None = None,
) -> ConfirmOut:
    """Run a call that waits for a team member; 409 once answered or changed, 410 expired."""
    return await actions.decide(
        session,
        state,
        owner.workspace_id,
        owner.user_id,
        conversation_id,
        call_id,
        "confirm",
        body.arguments_hash if body else None,
    )


@router.post(
    "/conversations/{conversation_id}/action-calls/{call_id}/decline", response_model=ConfirmOut
)
async def decline_call(
    conversation_id: uuid.UUID,
    call_id: uuid.UUID,
    owner: AgentScope,
    session: SessionDep,
    state: ChatDep,
    body: ApprovalIn | None = None,
) -> ConfirmOut:
    """Cancel a call that waits for a team member: nothing is sent."""
    return await actions.decide(
        session,
        state,
        owner.workspace_id,
        owner.user_id,
        conversation_id,
        call_id,
        "decline",
        body.arguments_hash if body else None,
    )


@router.post(
    "/conversations/{conversation_id}/actions/{action_id}/run",
    status_code=status.HTTP_201_CREATED,
    response_model=CallOut,
)
async def run_action(
    conversation_id: uuid.UUID,
    action_id: uuid.UUID,
    body: AgentRunIn,
    owner: AgentScope,
    session: SessionDep,
    state: ChatDep,
) -> CallOut:
    """Run an action on the visitor's behalf (trigger `agent`); the result is posted to them."""
    return await actions.run(
        session,
        state,
        owner.workspace_id,
        owner.user_id,
        conversation_id,
        action_id,
        body.arguments,
    )
