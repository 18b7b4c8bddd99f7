"""How a widget's actions went: finished calls per action, by outcome, failure class and
trigger, declined and expired confirmations, and the median time of a call.

Counting is SQL (one GROUP BY on both databases); the median is taken in Python from the
durations, since SQLite has no percentile function.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.analytics.schemas import ActionsSummary, ActionStats
from porch.models import Action, ActionCall
from porch.models.base import utcnow

# Pending rows (collecting, confirm, running) have no outcome yet, but for lapsed confirmations.
FINISHED = ("succeeded", "failed")


async def action_stats(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    start: datetime,
    end: datetime,
    include_tests: bool = False,
) -> ActionsSummary:
    """Calls begun in [start, end) that have finished; owners' test runs only when asked."""
    c = ActionCall
    # A confirmation nobody answered stays pending after it expired: it counts as expired.
    lapsed = and_(c.status == "confirm", c.expires_at < utcnow())
    where = [
        c.workspace_id == workspace_id,
        c.widget_id == widget_id,
        c.created_at >= start,
        c.created_at < end,
        or_(c.status.in_(FINISHED), lapsed),
    ]
    if not include_tests:
        where.append(c.trigger != "test")
    grouped = await session.execute(
        select(
            c.action_id, c.slug, c.trigger, c.status, c.error_class, c.confirmation, func.count()
        )
        .where(*where)
        .group_by(c.action_id, c.slug, c.trigger, c.status, c.error_class, c.confirmation)
    )
    stats: dict[uuid.UUID, ActionStats] = {}
    for action_id, slug, trigger, state, error_class, confirmation, n in grouped.all():
        row = stats.setdefault(action_id, ActionStats(action_id=action_id, slug=slug, title=None))
        _count(row, trigger, state, error_class, confirmation, int(n))
    durations = await session.execute(
        select(c.action_id, c.duration_ms).where(*where, c.duration_ms.is_not(None))
    )
    per_action: dict[uuid.UUID, list[int]] = defaultdict(list)
    for action_id, ms in durations.all():
        if ms is not None:
            per_action[action_id].append(ms)
    titles = await _titles(session, widget_id)
    for action_id, row in stats.items():
        row.title = titles.get(action_id)
        if per_action[action_id]:
            row.median_duration_ms = float(statistics.median(per_action[action_id]))
    rows = sorted(stats.values(), key=lambda r: (-r.calls, r.slug))
    return ActionsSummary(
        includes_tests=include_tests,
        calls=sum(r.calls for r in rows),
        succeeded=sum(r.succeeded for r in rows),
        failed=sum(r.failed for r in rows),
        declined=sum(r.declined for r in rows),
        expired=sum(r.expired for r in rows),
        per_action=rows,
    )


def _count(
    row: ActionStats,
    trigger: str,
    state: str,
    error_class: str | None,
    confirmation: str,
    n: int,
) -> None:
    if state == "confirm":  # lapsed unanswered (the query reads no other pending row)
        state, error_class, confirmation = "failed", "expired", "expired"
    row.calls += n
    row.triggers[trigger] = row.triggers.get(trigger, 0) + n
    if state == "succeeded":
        row.succeeded += n
        return
    row.failed += n
    key = error_class or "unknown"
    row.failure_classes[key] = row.failure_classes.get(key, 0) + n
    if confirmation == "declined":
        row.declined += n
    elif confirmation == "expired":
        row.expired += n


async def _titles(session: AsyncSession, widget_id: uuid.UUID) -> dict[uuid.UUID, str]:
    found = await session.execute(
        select(Action.id, Action.title).where(Action.widget_id == widget_id)
    )
    return {aid: str(title) for aid, title in found.all()}


@dataclass(frozen=True, slots=True)
class LastCall:
    state: str
    error_class: str | None
    at: datetime


async def last_calls(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> dict[uuid.UUID, LastCall]:
    """Each action's newest call, whatever triggered it (tests too: the owner just ran one)."""
    c = ActionCall
    newest: Any = func.row_number().over(partition_by=c.action_id, order_by=c.id.desc()).label("n")
    ranked = (
        select(c.action_id, c.status, c.error_class, c.created_at, newest)
        .where(c.workspace_id == workspace_id, c.widget_id == widget_id)
        .subquery()
    )
    found = await session.execute(
        select(
            ranked.c.action_id, ranked.c.status, ranked.c.error_class, ranked.c.created_at
        ).where(ranked.c.n == 1)
    )
    return {aid: LastCall(state, error, at) for aid, state, error, at in found.all()}
