"""Usage of a widget or a workspace over one day or one month: what budgets are checked against."""

from __future__ import annotations

import uuid

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base


class UsageCounter(Base):
    """One row per (scope, scope id, period), bumped by atomic upserts.

    `period` is `YYYY-MM-DD` (a UTC day) or `YYYY-MM` (a UTC month); each message bumps both,
    so a day's row answers "messages today" and a month's row "tokens and cost this month".
    Counting in the database keeps budgets exact across processes and across restarts.
    """

    __tablename__ = "usage_counters"

    # "widget" or "workspace"
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
