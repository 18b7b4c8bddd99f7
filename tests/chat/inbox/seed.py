"""Conversations written straight to the database, with the timestamps a test needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from porch.ids import uuid7
from porch.models import Conversation, Message


@dataclass
class Msg:
    role: str
    content: str
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


async def seed_conversation(
    app: FastAPI,
    widget: dict[str, Any],
    messages: list[Msg],
    *,
    status: str = "open",
    created_at: datetime | None = None,
    **fields: Any,
) -> str:
    """A conversation and its messages; the database trigger keeps its counters."""
    state = app.state.porch
    started = created_at or messages[0].at
    conversation_id = uuid7()
    async with state.sessionmaker() as session:
        session.add(
            Conversation(
                id=conversation_id,
                workspace_id=uuid.UUID(widget["workspace_id"]),
                widget_id=uuid.UUID(widget["id"]),
                visitor_token_hash=uuid.uuid4().hex * 2,
                status=status,
                message_count=0,
                created_at=started,
                last_message_at=started,
                **fields,
            )
        )
        await session.flush()
        for m in messages:
            session.add(
                Message(
                    id=uuid7(),
                    conversation_id=conversation_id,
                    workspace_id=uuid.UUID(widget["workspace_id"]),
                    widget_id=uuid.UUID(widget["id"]),
                    role=m.role,
                    content=m.content,
                    created_at=m.at,
                    sources=m.extra.pop("sources", []),
                    **m.extra,
                )
            )
            # One flush per message: the trigger sets last_message_at in insertion order.
            await session.flush()
        await session.commit()
    return str(conversation_id)
