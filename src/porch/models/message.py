"""One message of a conversation, with what it cost and where its answer came from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, utcnow


class Message(IdMixin, Base):
    __tablename__ = "messages"
    # ids are UUIDv7, so (conversation_id, id) orders a conversation and pages it.
    __table_args__ = (Index("ix_messages_conversation_id", "conversation_id", "id"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    # complete | failed (partial reply kept) | fallback (answered without the model)
    status: Mapped[str] = mapped_column(String(20), default="complete")
    sources: Mapped[list[Any]] = mapped_column(default=list)
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(120))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    first_token_ms: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(60))
    # Set when retrieval found nothing relevant: the basis of "unanswered questions".
    unanswered: Mapped[bool] = mapped_column(default=False)
    rating: Mapped[str | None] = mapped_column(String(10))
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Redactions applied before storing, counted per kind (never the original values).
    redactions: Mapped[dict[str, Any] | None] = mapped_column()
