"""Privacy: retention periods, redaction rules, requests from a person, erase tombstones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, utcnow


class RetentionPolicy(IdMixin, Base):
    """How long a workspace (widget_id None) or one widget keeps what visitors leave behind.

    A period left None falls back to the workspace's, and unset there means forever."""

    __tablename__ = "retention_policies"
    # `scope` is "workspace" or the widget id: NULLs are never equal in a unique index.
    __table_args__ = (UniqueConstraint("workspace_id", "scope", name="uq_retention_scope"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    widget_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(40))
    conversation_days: Mapped[int | None] = mapped_column(Integer)
    visitor_days: Mapped[int | None] = mapped_column(Integer)
    action_call_days: Mapped[int | None] = mapped_column(Integer)
    delivery_log_days: Mapped[int | None] = mapped_column(Integer)
    # delete | anonymize; None on a widget: the workspace's mode.
    mode: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RedactionRule(IdMixin, Base):
    __tablename__ = "redaction_rules"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # email | phone | card | iban | regex
    kind: Mapped[str] = mapped_column(String(20))
    pattern: Mapped[str | None] = mapped_column(Text)
    # any of store, model, webhook, export
    stages: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrivacyJob(IdMixin, Base):
    """An export or erase of one person's data. The subject is kept only while the job runs;
    afterwards only its HMAC remains, so the job log holds no personal data."""

    __tablename__ = "privacy_jobs"
    __table_args__ = (Index("ix_privacy_jobs_workspace", "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # export | erase
    # pending | running | done | failed | downloaded | expired
    status: Mapped[str] = mapped_column(String(20), default="pending")
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(320))
    subject_hmac: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(320))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The export's JSON until it is downloaded once (or expires), then gone.
    result: Mapped[str | None] = mapped_column(Text)
    download_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class PrivacyTombstone(IdMixin, Base):
    """An erase to re-apply after a backup is restored: the subject's HMAC, never the subject."""

    __tablename__ = "privacy_tombstones"
    __table_args__ = (
        UniqueConstraint("workspace_id", "subject_hmac", name="uq_privacy_tombstone"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SweepLease(Base):
    """Which process runs the retention sweep now: one at a time across processes."""

    __tablename__ = "sweep_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    lease_until: Mapped[datetime] = mapped_column()
    last_run_at: Mapped[datetime | None] = mapped_column()
