"""CSV export of a widget's conversations, streamed row by row from a server-side cursor."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from porch.models import Conversation, Message

COLUMNS = [
    "conversation_id",
    "created_at",
    "last_message_at",
    "status",
    "message_count",
    "page_url",
    "page_title",
    "locale",
    "user_id",
    "user_name",
    "user_email",
    "first_question",
    "handoff_requested_at",
    "first_agent_reply_at",
    "closed_at",
    "assigned_user_id",
]
# Spreadsheets run cells that start like a formula; visitors write these texts.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


async def rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> AsyncIterator[bytes]:
    """The header, then one CSV line per conversation begun in [start, end), oldest first."""
    c = Conversation
    asked = aliased(Message)
    first_question = (
        select(asked.content)
        .where(asked.conversation_id == c.id, asked.role == "user")
        .order_by(asked.id)
        .limit(1)
        .correlate(c)
        .scalar_subquery()
    )
    stmt = (
        select(
            c.id,
            c.created_at,
            c.last_message_at,
            c.status,
            c.message_count,
            c.page_url,
            c.page_title,
            c.locale,
            c.user_external_id,
            c.user_name,
            c.user_email,
            first_question,
            c.handoff_requested_at,
            c.first_agent_reply_at,
            c.closed_at,
            c.assigned_user_id,
        )
        .where(
            c.workspace_id == workspace_id,
            c.widget_id == widget_id,
            c.created_at >= start,
            c.created_at < end,
        )
        .order_by(c.created_at, c.id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode()
    async with sessionmaker() as session:
        result = await session.stream(stmt.execution_options(yield_per=500))
        async for part in result.partitions(500):
            buffer.seek(0)
            buffer.truncate()
            for row in part:
                writer.writerow([cell(v) for v in row])
            yield buffer.getvalue().encode()
