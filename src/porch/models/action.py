"""An owner's action: an HTTP call to their own API the assistant may make, and its secrets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, JSONType, utcnow


class Action(IdMixin, Base):
    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("widget_id", "slug", name="uq_actions_widget_slug"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    examples: Mapped[list[Any]] = mapped_column(default=list)
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(2048))
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[Any] = mapped_column(JSONType, nullable=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # How the offline answerer finds each model-sourced parameter in a visitor's words.
    extract: Mapped[dict[str, Any]] = mapped_column(default=dict)
    auth: Mapped[dict[str, Any]] = mapped_column(default=dict)
    risk: Mapped[str] = mapped_column(String(20), default="read")
    requires_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who approves a write or destructive call: the visitor on the card, or an agent in the inbox.
    approval: Mapped[str] = mapped_column(String(10), default="visitor", server_default="visitor")
    timeout_ms: Mapped[int] = mapped_column(Integer, default=8000)
    # Extra attempts after a timeout, network error or 5xx: GET only (a write is never repeated).
    retries: Mapped[int] = mapped_column(Integer, default=0)
    max_response_bytes: Mapped[int] = mapped_column(Integer, default=65536)
    calls_per_conversation: Mapped[int] = mapped_column(Integer, default=10)
    calls_per_day: Mapped[int] = mapped_column(Integer, default=1000)
    response_fields: Mapped[list[Any] | None] = mapped_column()
    result_template: Mapped[str] = mapped_column(Text, default="")
    error_texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    allowed_hosts: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on every change: each call records the version it ran.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionSecret(IdMixin, Base):
    """A named secret of a widget's actions, encrypted at rest (porch.crypto), write-only."""

    __tablename__ = "action_secrets"
    __table_args__ = (UniqueConstraint("widget_id", "name", name="uq_action_secrets_widget_name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    value_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
