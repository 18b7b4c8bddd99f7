"""Handed-off conversations: how fast a person first answered, and how many were resolved."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.analytics.schemas import HandoffStats
from porch.models import Conversation


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


async def handoff_stats(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> HandoffStats:
    """Over conversations handed off in [start, end): first response and resolution times."""
    c = Conversation
    rows = (
        await session.execute(
            select(c.handoff_requested_at, c.first_agent_reply_at, c.closed_at, c.status).where(
                c.workspace_id == workspace_id,
                c.widget_id == widget_id,
                c.handoff_requested_at >= start,
                c.handoff_requested_at < end,
            )
        )
    ).all()
    first: list[float] = []
    resolution: list[float] = []
    resolved = 0
    for requested, replied, closed, status in rows:
        requested, replied, closed = _aware(requested), _aware(replied), _aware(closed)
        assert requested is not None
        if replied is not None:
            first.append(max(0.0, (replied - requested).total_seconds()))
        if status == "closed" and closed is not None:
            resolved += 1
            resolution.append(max(0.0, (closed - requested).total_seconds()))
    handed = len(rows)
    return HandoffStats(
        handed_off=handed,
        answered_by_person=len(first),
        resolved=resolved,
        resolution_rate=round(resolved / handed, 4) if handed else None,
        first_response_median_seconds=statistics.median(first) if first else None,
        first_response_p90_seconds=_p90(first),
        resolution_median_seconds=statistics.median(resolution) if resolution else None,
    )
