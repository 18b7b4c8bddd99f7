"""A widget's retrieval settings: the similarity threshold its owner chose (if any)."""

from __future__ import annotations

import uuid

from sqlalchemy import Float, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, TimestampMixin


class SearchSetting(TimestampMixin, Base):
    __tablename__ = "search_settings"

    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), primary_key=True
    )
    # None: the threshold follows the size of the knowledge base (decision.automatic_threshold).
    min_similarity: Mapped[float | None] = mapped_column(Float)
