"""Which unanswered questions of the analytics page have been answered since.

"Add an answer" stores a text source titled with the question; the group stays in the
analytics (it happened) but shows as answered, with no second form to fill in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from porch.analytics.schemas import UnansweredGroup
from porch.knowledge.sources import service as sources


async def answered_questions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    groups: list[UnansweredGroup],
) -> set[str]:
    """The groups' questions that a text source added after they were last asked answers."""
    if not groups:
        return set()
    added = {
        s.title: s.created_at
        for s in await sources.list_for_widget(session, workspace_id, widget_id)
        if s.type == "text"
    }
    out: set[str] = set()
    for g in groups:
        at = added.get(g.question[:200])
        if at is not None and _aware(at) >= _aware(g.last_asked_at):
            out.add(g.question)
    return out


def _aware(value: datetime) -> float:
    """Seconds since the epoch of a stored time, with or without its time zone (SQLite)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
