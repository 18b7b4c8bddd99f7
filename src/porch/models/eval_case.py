"""Saved tests of a widget's assistant (cases), and each run of them with its results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, utcnow


class EvalCase(IdMixin, Base):
    __tablename__ = "eval_cases"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # [{content, visitor?:{user_id?, verified?, attributes?}}]
    turns: Mapped[list[Any]] = mapped_column(default=list)
    # [{type, ...}]: see evals/assertions.py
    assertions: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # manual | conversation | curated | import
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EvalRun(IdMixin, Base):
    __tablename__ = "eval_runs"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), index=True
    )
    # running | done | failed (the run itself broke, not a case)
    status: Mapped[str] = mapped_column(String(20), default="running")
    # manual | api | cli | change
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    case_ids: Mapped[list[Any] | None] = mapped_column()
    # What it ran against: knowledge version, curated answers' stamp, model, prompt hash.
    against: Mapped[dict[str, Any]] = mapped_column(default=dict)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    regressions: Mapped[list[Any]] = mapped_column(default=list)
    # [{case_id, name, passed, assertions:[...], transcript:[...], latency_ms}]
    results: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class EvalWatch(Base):
    """The fingerprint of what a widget's answers depend on, as last run (or seen changing)."""

    __tablename__ = "eval_watch"

    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    # When the fingerprint last changed: a run starts once it has been still for a while.
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    ran_fingerprint: Mapped[str | None] = mapped_column(String(64))
