"""A visitor's conversation with a widget."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, JSONType, utcnow


class Conversation(IdMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_widget_last", "widget_id", "last_message_at"),
        Index("ix_conversations_widget_user", "widget_id", "user_external_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    # sha256 of the visitor token; the token itself is only ever in the visitor's hands.
    visitor_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(30), default="open")
    page_url: Mapped[str | None] = mapped_column(String(2048))
    page_title: Mapped[str | None] = mapped_column(String(300))
    locale: Mapped[str | None] = mapped_column(String(20))
    user_external_id: Mapped[str | None] = mapped_column(String(200))
    user_name: Mapped[str | None] = mapped_column(String(200))
    user_email: Mapped[str | None] = mapped_column(String(320))
    # The site signed user_external_id with the widget's identity secret.
    user_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The custom claims of the site's signed identity token (email, plan…): verified
    # attributes that actions read as `identity.<claim>`. None when verified by hash only.
    user_claims: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Handoff: who has it, and since when a person was last active on it (the timeout's start).
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    handoff_requested_at: Mapped[datetime | None] = mapped_column()
    agent_active_at: Mapped[datetime | None] = mapped_column()
    first_agent_reply_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    # Visitor messages no agent has read yet (the messages trigger counts them).
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    # Privacy: a legal hold keeps it out of sweeps and erasures; anonymized: content gone.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    anonymized_at: Mapped[datetime | None] = mapped_column()
