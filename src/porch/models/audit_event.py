"""One owner action in a workspace: who did what to which thing, when and from where."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, utcnow


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_events"
    # Newest first within a workspace: ids are UUIDv7, so they sort by time.
    __table_args__ = (Index("ix_audit_events_workspace_recent", "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Kept after the account goes; the email is a copy so the entry still says who.
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    actor_email: Mapped[str | None] = mapped_column(String(320))
    # session, api_key or system (the CLI, a job)
    via: Mapped[str] = mapped_column(String(20))
    api_key_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[uuid.UUID | None]
    # Names of changed fields and similar small facts; never a value that could be a secret.
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
