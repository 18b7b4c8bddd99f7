"""A knowledge source of a widget: pasted text, a site to crawl, a sitemap or a file."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, TimestampMixin


class Source(IdMixin, TimestampMixin, Base):
    __tablename__ = "sources"
    __table_args__ = (Index("ix_sources_status_next_sync", "status", "next_sync_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(default=0.0)
    last_synced_at: Mapped[datetime | None]
    # off, daily or weekly; the scheduler enqueues a re-sync once next_sync_at has passed.
    schedule: Mapped[str] = mapped_column(String(10), default="off", server_default="off")
    next_sync_at: Mapped[datetime | None]
    # Bumped by every sync request: a job runs only for the generation it was queued for,
    # so duplicate deliveries and re-queued jobs are no-ops.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A running job renews this; once it lapses, the job's process is presumed dead.
    lease_until: Mapped[datetime | None]
    # Which job holds the lease: a job that lost it (taken over) stops at its next write.
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    # Counters of the last sync: seen, stored, unchanged, skipped, failed, removed, reasons.
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
