"""Verified visitors: the site signs its user ids, and a verified user finds their conversations.

The site's server computes hash = hex HMAC-SHA256(identity_secret, user_id) and passes
`user: {id, hash}` to the widget. A widget with `require_identity` refuses visitors
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
from sqlalchemy import select

from porch import crypto
from porch.accounts import tokens
from porch.chat import repository as repo
from porch.chat.dependencies import visitor_tokens, widget_for_visitor
from porch.chat.schemas import VisitorUser
from porch.deps import StateDep
from porch.errors import Forbidden, NotFound, Unauthorized
from porch.models.base import utcnow
from porch.schemas import Line
from porch.state import State
from porch.widgets.cache import WidgetConfig

router = APIRouter(prefix="/api/v1", tags=["visitor"])
LIST_MAX = 50


def verify(state: State, widget: WidgetConfig, user: VisitorUser | None) -> bool:
    """Whether `user` is signed with the widget's identity secret.

    A wrong signature is refused (403 identity_invalid) rather than treated as anonymous,
    so a site with a bug in its signing code finds out at once. A missing one is refused
    only when the widget requires identities (start_conversation checks that).
    """
    if user is None or not user.hash:
        return False
    secret = crypto.box(state.settings.secret).decrypt_or_none(widget.identity_secret_encrypted)
    if secret is None:
        return False  # no secret set: nothing to verify against, the id stays unverified
    if not crypto.identity_ok(secret, user.id, user.hash):
        raise Forbidden(
            "The user's hash does not match HMAC-SHA256(identity secret, user id).",
            code="identity_invalid",
        )
    return True


def _require_verified(state: State, widget: WidgetConfig, user: VisitorUser | None) -> str:
    if widget.identity_secret_encrypted is None:
        raise NotFound(
            "This widget does not verify visitors' identities.", code="identity_not_enabled"
        )
    if user is None or not user.hash:
        raise Unauthorized("Send the user's id and hash.", code="identity_required")
    if not verify(state, widget, user):
        raise Unauthorized("The identity could not be verified.", code="identity_required")
    return user.id


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

    user: VisitorUser


class Resumed(BaseModel):
    conversation_id: uuid.UUID
    visitor_token: str


_c = repo.conversations.c


@router.get("/widgets/{widget_id}/visitor/conversations", response_model=PastConversations)
async def past_conversations(
    widget_id: uuid.UUID,
    request: Request,
    state: StateDep,
    x_porch_user_id: Annotated[Line | None, Header(max_length=200)] = None,
    x_porch_user_hash: Annotated[Line | None, Header(max_length=128)] = None,
) -> PastConversations:
    """A verified visitor's conversations with this widget, newest first."""
    widget = await widget_for_visitor(state, request, widget_id)
    user = (
        VisitorUser(id=x_porch_user_id, hash=x_porch_user_hash)
        if x_porch_user_id and x_porch_user_hash
        else None
    )
    user_id = _require_verified(state, widget, user)
    query = (
        select(
            _c.id,
            _c.status,
            _c.created_at,
            _c.last_message_at,
            _c.message_count,
            _c.page_title,
        )
        .where(
            _c.widget_id == widget.id,
            _c.user_external_id == user_id,
            _c.user_verified.is_(True),
        )
        .order_by(_c.last_message_at.desc())
        .limit(LIST_MAX)
    )
    async with state.autocommit.connect() as conn:
        rows = (await conn.execute(query)).all()
    return PastConversations(
        conversations=[
            PastConversation(
                conversation_id=r.id,
                status=r.status,
                created_at=r.created_at,
                last_message_at=r.last_message_at,
                message_count=r.message_count,
                page_title=r.page_title,
            )
            for r in rows
        ]
    )


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
    state: StateDep,
) -> Resumed:
    """A visitor token for one of the verified user's conversations, on this device."""
    widget = await widget_for_visitor(state, request, widget_id)
    user_id = _require_verified(state, widget, body.user)
    token = tokens.new_token(tokens.VISITOR_TOKEN_PREFIX)
    async with state.engine.begin() as conn:
        found = await conn.scalar(
            select(_c.id).where(
                _c.id == conversation_id,
                _c.widget_id == widget.id,
                _c.user_external_id == user_id,
                _c.user_verified.is_(True),
            )
        )
        if found is None:
            raise NotFound("No such conversation for this user.", code="conversation_not_found")
        await conn.execute(
            visitor_tokens.insert().values(
                token_hash=tokens.token_hash(token),
                conversation_id=conversation_id,
                created_at=utcnow(),
            )
        )
    return Resumed(conversation_id=conversation_id, visitor_token=token)
