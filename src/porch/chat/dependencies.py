"""Who is calling a visitor route: the conversation their token opens, and its widget.

A visitor token is random, stored only as its SHA-256, bound to one conversation (and so to
that conversation's widget), and expires after `PORCH_VISITOR_TOKEN_IDLE_HOURS` without a
message. Activity is read from the conversation's `last_message_at`, which the message
insert trigger keeps current: keeping a token alive costs no write of its own.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from porch.accounts import tokens
from porch.chat import repository as repo
from porch.chat.repository import ConversationRef
from porch.deps import StateDep
from porch.errors import Forbidden, NotFound, Unauthorized
from porch.models import VisitorToken
from porch.models.base import utcnow
from porch.security import cors
from porch.settings import Settings
from porch.state import State
from porch.widgets.cache import WidgetConfig

_bearer = HTTPBearer(auto_error=False, description="The visitor_token of the conversation")
visitor_tokens = cast(Table, VisitorToken.__table__)

_c = repo.conversations.c
# Built once, with bound parameters (see chat/repository.py for why).
_CONVERSATION = select(
    _c.id,
    _c.widget_id,
    _c.workspace_id,
    _c.status,
    _c.visitor_token_hash,
    _c.last_message_at,
).where(_c.id == bindparam("id"))
_EXTRA_TOKEN = select(visitor_tokens.c.conversation_id, visitor_tokens.c.created_at).where(
    visitor_tokens.c.token_hash == bindparam("h")
)


@dataclass(frozen=True, slots=True)
class Visitor:
    conversation: ConversationRef
    widget: WidgetConfig


def allowed_origin(request: Request, widget: WidgetConfig) -> str | None:
    """The browser's Origin when the widget allows it, else None (no Origin: None too).

    Raises 403 `origin_not_allowed` for an Origin the widget does not allow. An allowed
    Origin is noted on the request so the CORS layer echoes exactly it (security/cors.py).
    """
    origin = request.headers.get("origin")
    if not origin:
        return None
    if not widget.allows_origin(origin, request.headers.get("host")):
        raise Forbidden(
            "This website is not allowed to use this widget.", code="origin_not_allowed"
        )
    cors.allow(request.scope, origin)
    return origin


def check_origin(request: Request, widget: WidgetConfig) -> None:
    """Browsers send Origin on cross-site requests; refuse sites the owner has not allowed."""
    allowed_origin(request, widget)


async def widget_for_visitor(state: State, request: Request, widget_id: uuid.UUID) -> WidgetConfig:
    widget = await state.widgets.get(widget_id)
    if widget is None:
        origin = request.headers.get("origin")
        if origin:
            cors.allow(request.scope, origin)  # no widget, so no origin list to keep it from
        raise NotFound("No such widget.", code="widget_not_found")
    check_origin(request, widget)
    return widget


def _not_found() -> NotFound:
    # A wrong token and an unknown conversation look alike: ids reveal nothing.
    return NotFound("No such conversation for this visitor token.", code="conversation_not_found")


@dataclass(frozen=True, slots=True)
class TokenState:
    conversation: ConversationRef
    # The latest activity keeping the token alive; it expires `visitor_token_idle_hours` on.
    active: datetime


async def token_state(
    conn: AsyncConnection, conversation_id: uuid.UUID, token_hash: str
) -> TokenState | None:
    """The conversation this token (by its hash) opens, or None: no such conversation for it.
    Shared by the visitor routes and the visitor's socket (admitted and re-checked)."""
    row = (await conn.execute(_CONVERSATION, {"id": conversation_id})).first()
    if row is None:
        return None
    active = row.last_message_at
    if not hmac.compare_digest(token_hash, row.visitor_token_hash):
        # Tokens issued when a verified visitor resumed the conversation on another
        # device: looked up only when the conversation's own token does not match.
        extra = (await conn.execute(_EXTRA_TOKEN, {"h": token_hash})).first()
        if extra is None or extra.conversation_id != conversation_id:
            return None
        active = max(active, extra.created_at)  # resuming counts as activity
    ref = ConversationRef(
        row.id, row.widget_id, row.workspace_id, row.status, row.visitor_token_hash
    )
    return TokenState(ref, active)


def token_expires(settings: Settings, active: datetime) -> datetime:
    return active + timedelta(hours=settings.visitor_token_idle_hours)


async def visitor_for(
    state: State, request: Request, conversation_id: uuid.UUID, token: str | None
) -> Visitor:
    if not token:
        raise Unauthorized(
            "Send the conversation's visitor_token as a Bearer token.",
            code="visitor_token_required",
        )
    async with state.autocommit.connect() as conn:
        found = await token_state(conn, conversation_id, tokens.token_hash(token))
    if found is None:
        raise _not_found()
    if token_expires(state.settings, found.active) < utcnow():
        raise Unauthorized(
            "This conversation's visitor token has expired; start a new conversation.",
            code="visitor_token_expired",
        )
    widget = await widget_for_visitor(state, request, found.conversation.widget_id)
    return Visitor(found.conversation, widget)


async def current_visitor(
    conversation_id: uuid.UUID,
    request: Request,
    state: StateDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Visitor:
    return await visitor_for(
        state, request, conversation_id, bearer.credentials if bearer else None
    )


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]
VisitorBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
