"""The chat path's queries, in SQLAlchemy Core: a fixed, small number per message, no ORM units."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from porch.models import Conversation, Message

conversations = cast(Table, Conversation.__table__)
messages = cast(Table, Message.__table__)


@dataclass(frozen=True, slots=True)
class ConversationRef:
    id: uuid.UUID
    widget_id: uuid.UUID
    workspace_id: uuid.UUID
    status: str
    token_hash: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: uuid.UUID
    role: str
    content: str
    sources: list[Any]
    created_at: datetime
    status: str
    author_name: str | None


_MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.role,
    messages.c.content,
    messages.c.sources,
    messages.c.created_at,
    messages.c.status,
    messages.c.author_name,
)


# Statements are built once, with bound parameters: building them per call cost more CPU
# (cache-key generation over the values) than sending them.
_CONVERSATION = select(
    conversations.c.id,
    conversations.c.widget_id,
    conversations.c.workspace_id,
    conversations.c.status,
    conversations.c.visitor_token_hash,
).where(conversations.c.id == bindparam("id"))
_MESSAGE_CONVERSATION = select(messages.c.conversation_id).where(messages.c.id == bindparam("id"))
_INSERT_MESSAGE = messages.insert()
_RECENT = (
    select(*_MESSAGE_COLUMNS)
    .where(messages.c.conversation_id == bindparam("cid"))
    .order_by(messages.c.id.desc())
    .limit(bindparam("n"))
)
_RECENT_BEFORE = (
    select(*_MESSAGE_COLUMNS)
    .where(messages.c.conversation_id == bindparam("cid"), messages.c.id < bindparam("before"))
    .order_by(messages.c.id.desc())
    .limit(bindparam("n"))
)


async def conversation(conn: AsyncConnection, conversation_id: uuid.UUID) -> ConversationRef | None:
    row = (await conn.execute(_CONVERSATION, {"id": conversation_id})).first()
    return ConversationRef(*row) if row else None


async def message_conversation(conn: AsyncConnection, message_id: uuid.UUID) -> uuid.UUID | None:
    return await conn.scalar(_MESSAGE_CONVERSATION, {"id": message_id})


async def insert_message(conn: AsyncConnection, values: dict[str, Any], *, now: datetime) -> None:
    """Insert one message; a trigger bumps the conversation's count and last_message_at."""
    await conn.execute(_INSERT_MESSAGE, {**values, "created_at": now})


async def recent(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    *,
    limit: int,
    before: uuid.UUID | None = None,
) -> list[StoredMessage]:
    """The newest `limit` messages before `before`, oldest first; trimmed in SQL, not Python."""
    if limit <= 0:
        return []
    if before is None:
        result = await conn.execute(_RECENT, {"cid": conversation_id, "n": limit})
    else:
        result = await conn.execute(
            _RECENT_BEFORE, {"cid": conversation_id, "n": limit, "before": before}
        )
    return [StoredMessage(*row) for row in reversed(result.all())]
