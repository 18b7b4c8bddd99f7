"""The visitor's answer to an action's confirmation card (the visitor token authorizes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from porch.actions.schemas import ConfirmIn, ConfirmOut
from porch.chat.answer.dependencies import ChatDep
from porch.chat.visitor import service
from porch.chat.visitor.dependencies import CurrentVisitor

router = APIRouter(prefix="/api/v1", tags=["visitor"])


@router.post(
    "/conversations/{conversation_id}/confirmations/{call_id}",
    response_model=ConfirmOut,
    responses={409: {"description": "answered already, or other arguments"}, 410: {}},
)
async def answer_confirmation(
    conversation_id: uuid.UUID,
    call_id: uuid.UUID,
    body: ConfirmIn,
    visitor: CurrentVisitor,
    state: ChatDep,
) -> ConfirmOut:
    """Confirm or decline a write action the assistant proposed; confirming runs it now."""
    return await service.answer_confirmation(state, visitor.conversation, call_id, body)
