"""Which conversations of an inbox page have an action call waiting for a team member."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.chat.inbox.schemas import ConversationSummary
from porch.models import ActionCall


async def mark_waiting(session: AsyncSession, items: Sequence[ConversationSummary]) -> None:
    """Set `awaiting_approval` on the page's summaries: one query for the whole page."""
    if not items:
        return
    rows = await session.execute(
        select(ActionCall.conversation_id)
        .where(
            ActionCall.conversation_id.in_([s.id for s in items]),
            ActionCall.status == "confirm",
            ActionCall.confirmation == "agent",
        )
        .distinct()
    )
    waiting = set(rows.scalars())
    for item in items:
        item.awaiting_approval = item.id in waiting
