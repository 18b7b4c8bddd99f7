"""The visitor's own erasure, from the widget's menu: DELETE their conversation(s)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from porch.chat.visitor.dependencies import CurrentVisitor
from porch.deps import SessionDep
from porch.privacy import subjects

router = APIRouter(prefix="/api/v1", tags=["chat"])


class Erased(BaseModel):
    deleted: int


@router.delete("/conversations/{conversation_id}", response_model=Erased)
async def erase_mine(visitor: CurrentVisitor, session: SessionDep) -> Erased:
    """Delete this conversation, or, for a visitor the site verified, all of theirs."""
    conv = visitor.conversation
    return Erased(deleted=await subjects.visitor_erase(session, conv.workspace_id, conv.id))
