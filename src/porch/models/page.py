"""A fetched page (or document) of a source, with what the next re-sync needs to skip it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, TimestampMixin


class Page(IdMixin, TimestampMixin, Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("source_id", "url"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(300), default="")
    # stored, skipped or failed; reason says why for the last two.
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # SHA-256 of the extracted text: an unchanged hash keeps the page's chunks and vectors.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    # Outgoing links, so a 304 Not Modified page still leads the crawl to its neighbours.
    links: Mapped[list[Any]] = mapped_column(default=list)
    fetched_at: Mapped[datetime | None]
