"""Visitor tokens: which conversation a token opens, and until when.

Shared by the visitor routes (chat/visitor/dependencies.py) and the visitor's socket
(realtime/auth.py, realtime/grants.py): admitted at the handshake and re-checked later.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from porch.conversations import repository as repo
from porch.conversations.repository import ConversationRef
from porch.models import VisitorToken
from porch.settings import Settings

visitor_tokens = cast(Table, VisitorToken.__table__)
_c = repo.conversations.c
# Built once, with bound parameters (see conversations/repository.py for why).
_CONVERSATION = select(
    _c.id,
    _c.widget_id,
    _c.workspace_id,
    _c.status,
    _c.visitor_token_hash,
    _c.last_message_at,
).where(_c.id == bindparam("id"))
_OWN_TOKEN = select(
    _c.id,
    _c.widget_id,
    _c.workspace_id,
    _c.status,
    _c.visitor_token_hash,
    _c.last_message_at,
).where(_c.visitor_token_hash == bindparam("h"))
_EXTRA_TOKEN = select(visitor_tokens.c.conversation_id, visitor_tokens.c.created_at).where(
    visitor_tokens.c.token_hash == bindparam("h")
)


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


async def own_token_state(conn: AsyncConnection, token_hash: str) -> TokenState | None:
    """The conversation whose own token this is, in one read: the compatibility routes,
    whose session id is the token and names no conversation id to check it against."""
    row = (await conn.execute(_OWN_TOKEN, {"h": token_hash})).first()
    if row is None:
        return None
    ref = ConversationRef(
        row.id, row.widget_id, row.workspace_id, row.status, row.visitor_token_hash
    )
    return TokenState(ref, row.last_message_at)


def token_expires(settings: Settings, active: datetime) -> datetime:
    return active + timedelta(hours=settings.visitor_token_idle_hours)
