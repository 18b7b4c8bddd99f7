"""Sources and their passages, scoped to a workspace; search as the assistant sees it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.errors import Conflict, NotFound
from porch.knowledge.chunking import chunk
from porch.knowledge.keyword import Executor, Hit, KeywordIndex
from porch.models import Chunk, Source
from porch.models.base import utcnow
from porch.widgets import service as widgets

MAX_SOURCES_PER_WIDGET = 500


async def add_text(
    session: AsyncSession,
    index: KeywordIndex,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    title: str,
    body: str,
    url: str | None = None,
) -> Source:
    """A pasted text or FAQ: chunked and searchable as soon as the transaction commits."""
    await widgets.get(session, workspace_id, widget_id)
    count = await session.scalar(
        select(func.count()).select_from(Source).where(Source.widget_id == widget_id)
    )
    if (count or 0) >= MAX_SOURCES_PER_WIDGET:
        raise Conflict(
            f"A widget holds at most {MAX_SOURCES_PER_WIDGET} sources.", code="too_many_sources"
        )
    source = Source(
        workspace_id=workspace_id,
        widget_id=widget_id,
        type="text",
        title=title,
        url=url,
        status="running",
    )
    session.add(source)
    await session.flush()
    chunks = await replace_chunks(session, index, source, body, title=title, url=url)
    source.status, source.pages, source.chunks, source.progress = "ready", 1, len(chunks), 1.0
    source.last_synced_at = utcnow()
    await session.flush()
    return source


async def replace_chunks(
    session: AsyncSession,
    index: KeywordIndex,
    source: Source,
    body: str,
    *,
    title: str,
    url: str | None,
) -> list[Chunk]:
    """Swap a source's passages for new ones inside the caller's transaction."""
    old = list(
        (await session.execute(select(Chunk.id).where(Chunk.source_id == source.id))).scalars()
    )
    await index.remove(session, old)
    await session.execute(delete(Chunk).where(Chunk.source_id == source.id))
    chunks = [
        Chunk(
            workspace_id=source.workspace_id,
            widget_id=source.widget_id,
            source_id=source.id,
            position=i,
            title=title,
            heading=piece.heading[:500],
            url=url,
            text=piece.text,
        )
        for i, piece in enumerate(chunk(body))
    ]
    session.add_all(chunks)
    await session.flush()
    await index.add(session, chunks)
    return chunks


async def get(session: AsyncSession, workspace_id: uuid.UUID, source_id: uuid.UUID) -> Source:
    source = await session.get(Source, source_id)
    if source is None or source.workspace_id != workspace_id:
        raise NotFound("No such source.", code="source_not_found")
    return source


async def list_for_widget(
    session: AsyncSession, workspace_id: uuid.UUID, widget_id: uuid.UUID
) -> list[Source]:
    await widgets.get(session, workspace_id, widget_id)
    result = await session.execute(
        select(Source).where(Source.widget_id == widget_id).order_by(Source.created_at)
    )
    return list(result.scalars())


async def delete_source(
    session: AsyncSession, index: KeywordIndex, workspace_id: uuid.UUID, source_id: uuid.UUID
) -> None:
    source = await get(session, workspace_id, source_id)
    ids = list(
        (await session.execute(select(Chunk.id).where(Chunk.source_id == source.id))).scalars()
    )
    await index.remove(session, ids)
    await session.delete(source)
    await session.flush()


async def search(
    session: Executor, index: KeywordIndex, widget_id: uuid.UUID, question: str, k: int
) -> Sequence[Hit]:
    """The passages the assistant would be given for `question` (widget already authorized)."""
    return await index.search(session, widget_id, question, k)
