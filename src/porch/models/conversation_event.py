"""One durable realtime event; its integer id orders a conversation's and a workspace's events.

Sockets resume from the last id they saw: what happened while they were away is read back
from here. Ephemeral events (streamed tokens, typing) are never stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, utcnow

# BIGINT identity on PostgreSQL; SQLite's rowid alias must be spelled INTEGER.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class ConversationEvent(Base):
    __tablename__ = "conversation_events"
    __table_args__ = (
        Index("ix_conversation_events_conversation", "conversation_id", "id"),
        Index("ix_conversation_events_workspace", "workspace_id", "id"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
