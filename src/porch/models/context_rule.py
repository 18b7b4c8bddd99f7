"""A per-page rule: on pages matching a URL glob, add instructions and favour some sources."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, utcnow


class ContextRule(IdMixin, Base):
    __tablename__ = "context_rules"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), index=True
    )
    match: Mapped[str] = mapped_column(String(500))
    instructions: Mapped[str] = mapped_column(Text, default="")
    source_ids: Mapped[list[Any]] = mapped_column(default=list)
    # prefer: rank these sources first; only: search nothing else on matching pages.
    mode: Mapped[str] = mapped_column(String(10), default="prefer")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
