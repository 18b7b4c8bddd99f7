"""What running actions in a conversation reads: of the process (the lifespan's state is one),
and of the conversation (who the visitor is, where the conversation happens)."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from porch.actions.arguments import Visitor, Where
from porch.actions.index import ActionIndex
from porch.models import Conversation
from porch.observability.metrics import Metrics
from porch.settings import Settings


class ActionsState(Protocol):
    settings: Settings
    metrics: Metrics

    @property
    def autocommit(self) -> AsyncEngine: ...
    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def actions(self) -> ActionIndex: ...


async def who(session: AsyncSession, conversation_id: uuid.UUID | None) -> tuple[Visitor, Where]:
    """The conversation's visitor (its signed claims only when verified) and its page."""
    if conversation_id is None:
        return Visitor(), Where()
    c = Conversation
    row = (
        await session.execute(
            select(c.user_external_id, c.user_verified, c.user_claims, c.page_url, c.locale).where(
                c.id == conversation_id
            )
        )
    ).first()
    if row is None:
        return Visitor(), Where()
    verified = bool(row.user_verified)
    claims = dict(row.user_claims or {}) if verified else {}
    visitor = Visitor(user_id=row.user_external_id, verified=verified, claims=claims)
    return visitor, Where(conversation_id, row.page_url, row.locale)
