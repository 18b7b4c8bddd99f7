"""A passage of a source, the unit that retrieval finds and the assistant cites."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin


class Chunk(IdMixin, Base):
    __tablename__ = "chunks"
    __table_args__ = (
        Index("ix_chunks_widget_source", "widget_id", "source_id"),
        Index("ix_chunks_source_page", "source_id", "page_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    heading: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    text: Mapped[str] = mapped_column(Text)
    # The page this passage came from (pages.id); None for pasted text.
    page_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    # Written by a sync that has not finished yet: invisible to search until it publishes.
    staged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The vector (see embeddings/vectors.py) and the model that made it; a model change re-embeds.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(120))
