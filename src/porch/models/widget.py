"""A chat widget: its look, its assistant, its limits and where it may be embedded."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, TimestampMixin


class Widget(IdMixin, TimestampMixin, Base):
    __tablename__ = "widgets"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    greeting: Mapped[str] = mapped_column(Text, default="")
    theme: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[str] = mapped_column(String(20), default="bottom-right")
    suggested_questions: Mapped[list[Any]] = mapped_column(default=list)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    allowed_origins: Mapped[list[Any]] = mapped_column(default=lambda: ["*"])
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    # None means "the server's default" (PORCH_LLM_PROVIDER / PORCH_LLM_MODEL).
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(120))
    temperature: Mapped[float] = mapped_column(Float, default=0.2)
    max_tokens: Mapped[int] = mapped_column(Integer, default=512)
    history_limit: Mapped[int] = mapped_column(Integer, default=12)
    fallback_message: Mapped[str] = mapped_column(Text, default="")
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Secrets at rest are Fernet tokens (porch.crypto), never plain text; never returned.
    identity_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # Refuse visitors whose user id is not signed with the identity secret.
    require_identity: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The widget's own API key for its provider, instead of the server's.
    provider_api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # All the API ever shows of that key.
    provider_api_key_last4: Mapped[str | None] = mapped_column(String(4))
    # Human handoff: mode, timeout, office hours, offline message (widgets.schemas.Handoff).
    handoff: Mapped[dict[str, Any]] = mapped_column(default=dict)
