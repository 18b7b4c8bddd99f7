"""Verified visitors: the site signs its user ids, and a verified user finds their conversations.

The site's server computes hash = hex HMAC-SHA256(identity_secret, user_id) and passes
`user: {id, hash}` to the widget, or signs an identity token (a JWT with the user id and
attributes, identity_token.py). A widget with `require_identity` refuses visitors
without a valid signature; a verified user can list their conversations on any device and
resume one, which issues another visitor token for it (the first device keeps its own).
See docs/security.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from pydantic import BaseModel, ConfigDict

from porch.chat.answer.dependencies import ChatDep
from porch.chat.visitor import verified
from porch.chat.visitor.dependencies import widget_for_visitor
from porch.chat.visitor.schemas import IdentityToken, VisitorUser
from porch.schemas import Line

router = APIRouter(prefix="/api/v1", tags=["visitor"])
LIST_MAX = 50


class PastConversation(BaseModel):
    conversation_id: uuid.UUID
    status: str
    created_at: datetime
    last_message_at: datetime
    message_count: int
    page_title: str | None


class PastConversations(BaseModel):
    conversations: list[PastConversation]


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: VisitorUser | None = None
    identity_token: IdentityToken | None = None


class Resumed(BaseModel):
    conversation_id: uuid.UUID
    visitor_token: str


@router.get("/widgets/{widget_id}/visitor/conversations", response_model=PastConversations)
async def past_conversations(
    widget_id: uuid.UUID,
    request: Request,
    state: ChatDep,
    x_porch_user_id: Annotated[Line | None, Header(max_length=200)] = None,
    x_porch_user_hash: Annotated[Line | None, Header(max_length=128)] = None,
    x_porch_identity_token: Annotated[Line | None, Header(max_length=8192)] = None,
) -> PastConversations:
    """A verified visitor's conversations with this widget, newest first."""
    widget = await widget_for_visitor(state, request, widget_id)
    user = (
        VisitorUser(id=x_porch_user_id, hash=x_porch_user_hash)
        if x_porch_user_id and x_porch_user_hash
        else None
    )
    rows = await verified.conversations(
        state, widget, user, limit=LIST_MAX, token=x_porch_identity_token
    )
    return PastConversations(conversations=[PastConversation(**r) for r in rows])


@router.post(
    "/widgets/{widget_id}/visitor/conversations/{conversation_id}/resume",
    status_code=status.HTTP_201_CREATED,
    response_model=Resumed,
)
async def resume(
    widget_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: ResumeIn,
    request: Request,
    state: ChatDep,
) -> Resumed:
    """A visitor token for one of the verified user's conversations, on this device."""
    widget = await widget_for_visitor(state, request, widget_id)
    token = await verified.resume(
        state, widget, body.user, conversation_id, token=body.identity_token
    )
    return Resumed(conversation_id=conversation_id, visitor_token=token)
