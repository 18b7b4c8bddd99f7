"""A widget's own similarity threshold: read with its context rules, set by its owner.

Setting it bumps the widget's knowledge version, so every process's cached copy (kept with the
context rules, keyed by that version) is replaced on its next search.
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit
from porch.knowledge.search.keyword import Executor
from porch.knowledge.search.store import bump_version, table_of
from porch.models import Conversation, Message, SearchSetting
from porch.models.base import utcnow
from porch.widgets import service as widgets

_SETTINGS = table_of(SearchSetting)
_MESSAGES = table_of(Message)
_CONVERSATIONS = table_of(Conversation)
_THRESHOLD_OF = select(_SETTINGS.c.min_similarity).where(
    _SETTINGS.c.widget_id == bindparam("widget")
)
RECENT_QUESTIONS = 200


async def load(conn: Executor, widget_id: uuid.UUID) -> float | None:
    value = await conn.scalar(_THRESHOLD_OF, {"widget": widget_id})
    return None if value is None else float(value)


async def set_threshold(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID, value: float | None
) -> None:
    """Save the widget's threshold (None: automatic again), in the caller's transaction."""
    await widgets.get(session, workspace_id, widget_id)
    bind = session.get_bind()
    make = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = make(_SETTINGS).values(
        widget_id=widget_id, min_similarity=value, created_at=now, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[_SETTINGS.c.widget_id],
        set_={"min_similarity": value, "updated_at": now},
    )
    await session.execute(stmt)
    await bump_version(session, widget_id)
    await audit.record(
        session,
        workspace_id,
        "search.threshold_set",
        widget_id,
        threshold="automatic" if value is None else f"{value:.4f}",
    )


async def recent_questions(
    session: AsyncSession, widget_id: uuid.UUID, limit: int = RECENT_QUESTIONS
) -> list[str]:
    """The widget's latest distinct visitor questions, newest first."""
    rows = await session.execute(
        select(_MESSAGES.c.content)
        .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id)
        .where(_CONVERSATIONS.c.widget_id == widget_id, _MESSAGES.c.role == "user")
        .order_by(_MESSAGES.c.created_at.desc())
        .limit(limit * 2)
    )
    seen: dict[str, None] = {}
    for (content,) in rows:
        text = str(content or "").strip()[:1000]
        if text:
            seen.setdefault(text, None)
    return list(seen)[:limit]
