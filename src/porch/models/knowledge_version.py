"""A counter per widget, bumped in the same transaction as any change to its passages."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base


class KnowledgeVersion(Base):
    __tablename__ = "knowledge_versions"

    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), primary_key=True
    )
    # In-memory search indexes compare this with the version they were built from.
    version: Mapped[int] = mapped_column(BigInteger, default=0)
