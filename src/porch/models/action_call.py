"""One run (or pending run) of an action: the audit record of what was asked, sent and got."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, JSONType, utcnow


class ActionCall(IdMixin, Base):
    __tablename__ = "action_calls"
    __table_args__ = (
        Index("ix_action_calls_widget", "widget_id", "id"),
        Index("ix_action_calls_conversation", "conversation_id", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    action_version: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column()
    # model | offline | test | agent
    trigger: Mapped[str] = mapped_column(String(20))
    # collecting | confirm | running | succeeded | failed
    status: Mapped[str] = mapped_column(String(20))
    # none | pending | confirmed | declined | expired
    confirmation: Mapped[str] = mapped_column(String(20), default="none")
    # The person (user id) who approved or declined it in the inbox, or ran it from there.
    decided_by: Mapped[str | None] = mapped_column(String(80))
    # The parameter the offline answerer asked the visitor for (status collecting).
    asking: Mapped[str | None] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    argument_sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    arguments_hash: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column()
    request_method: Mapped[str | None] = mapped_column(String(10))
    request_url: Mapped[str | None] = mapped_column(String(2048))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSONType, nullable=True)
    visitor_text: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(30))
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
