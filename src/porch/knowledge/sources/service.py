"""Sources and their passages, scoped to a workspace; search as the assistant sees it."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from porch import audit
from porch.embeddings.base import Embedder, EmbeddingError
from porch.embeddings.vectors import encode_many
from porch.errors import Conflict, NotFound
from porch.knowledge.ingest.chunking import chunk, embedding_input
from porch.knowledge.ingest.leases import next_sync
from porch.knowledge.search.keyword import KeywordIndex
from porch.knowledge.search.store import (
    NewChunk,
    bump_version,
    delete_chunks,
    insert_chunks,
    live_chunk_ids,
)
from porch.models import Page, Source, SourceFile
from porch.models.base import utcnow
from porch.widgets import service as widgets

log = structlog.get_logger("porch.knowledge")
MAX_SOURCES_PER_WIDGET = 500
# A pasted text this small is embedded before the request returns (well under a second);
# a bigger one is keyword-searchable at once and gains vectors from a background job.
SYNC_EMBED_MAX_CHUNKS = 64


async def _check_capacity(session: AsyncSession, widget_id: uuid.UUID) -> None:
    count = await session.scalar(
        select(func.count()).select_from(Source).where(Source.widget_id == widget_id)
    )
    if (count or 0) >= MAX_SOURCES_PER_WIDGET:
        raise Conflict(
            f"A widget holds at most {MAX_SOURCES_PER_WIDGET} sources.", code="too_many_sources"
        )


async def add_text(
    session: AsyncSession,
    index: KeywordIndex,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    title: str,
    body: str,
    url: str | None = None,
    embedder: Embedder | None = None,
) -> Source:
    """A pasted text or FAQ: chunked and searchable as soon as the transaction commits."""
    await widgets.get(session, workspace_id, widget_id)
    await _check_capacity(session, widget_id)
    pieces = chunk(body)
    vectors: list[bytes] | None = None
    if embedder is not None and embedder.enabled and 0 < len(pieces) <= SYNC_EMBED_MAX_CHUNKS:
        # Embed before writing anything, so no write lock is held while the model runs.
        try:
            matrix = await embedder.embed_passages(
                [embedding_input(title, p.heading, p.text) for p in pieces]
            )
            vectors = encode_many(matrix)
        except EmbeddingError:
            log.warning("text_embedding_deferred", widget_id=str(widget_id))
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
    rows = [
        NewChunk(
            title,
            p.heading,
            f"{url}#{p.anchor}" if url and p.anchor else url,
            p.text,
            None,
            vectors[i] if vectors else None,
        )
        for i, p in enumerate(pieces)
    ]
    ids = await insert_chunks(
        session,
        workspace_id=workspace_id,
        widget_id=widget_id,
        source_id=source.id,
        rows=rows,
        model=embedder.name if embedder is not None else None,
        staged=False,
    )
    await index.add(session, ids)
    await bump_version(session, widget_id)
    missing = 0 if vectors is not None or embedder is None or not embedder.enabled else len(rows)
    source.status, source.pages, source.chunks, source.progress = "ready", 1, len(rows), 1.0
    source.stats = {"seen": 1, "stored": 1, "vectors_missing": missing}
    source.last_synced_at = utcnow()
    await session.flush()
    await audit.record(session, workspace_id, "source.created", source.id, type="text")
    return source


async def add_remote(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    kind: str,
    url: str,
    title: str,
    config: dict[str, Any],
    schedule: str,
) -> Source:
    """A site to crawl or a sitemap: stored as pending; a job does the fetching."""
    await widgets.get(session, workspace_id, widget_id)
    await _check_capacity(session, widget_id)
    source = Source(
        workspace_id=workspace_id,
        widget_id=widget_id,
        type=kind,
        title=title,
        url=url,
        config=config,
        schedule=schedule,
        status="pending",
        generation=1,
    )
    session.add(source)
    await session.flush()
    await audit.record(session, workspace_id, "source.created", source.id, type=kind)
    return source


async def add_file(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    *,
    filename: str,
    kind: str,
    content: bytes,
    title: str,
) -> Source:
    """An uploaded document: its bytes kept in the database, converted by a job."""
    await widgets.get(session, workspace_id, widget_id)
    await _check_capacity(session, widget_id)
    source = Source(
        workspace_id=workspace_id,
        widget_id=widget_id,
        type="file",
        title=title,
        config={"filename": filename, "kind": kind, "size": len(content)},
        status="pending",
        generation=1,
    )
    session.add(source)
    await session.flush()
    session.add(
        SourceFile(
            source_id=source.id, filename=filename, kind=kind, size=len(content), content=content
        )
    )
    await session.flush()
    await audit.record(session, workspace_id, "source.created", source.id, type="file")
    return source


async def request_sync(
    session: AsyncSession, workspace_id: uuid.UUID, source_id: uuid.UUID
) -> Source:
    """Ask for a re-sync; a no-op while one is already pending or running."""
    source = await get(session, workspace_id, source_id)
    if source.type == "text":
        return source  # nothing outside porch to fetch again
    if source.status not in ("pending", "running"):
        source.status = "pending"
        source.generation += 1
        source.error = None
        await session.flush()
        await audit.record(session, workspace_id, "source.resynced", source_id)
    return source


async def update(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    source_id: uuid.UUID,
    *,
    title: str | None,
    schedule: str | None,
) -> Source:
    source = await get(session, workspace_id, source_id)
    changed = [name for name, value in (("title", title), ("schedule", schedule)) if value]
    await audit.record(session, workspace_id, "source.updated", source_id, fields=changed)
    if title is not None:
        source.title = title
    if schedule is not None and schedule != source.schedule:
        if source.type not in ("url", "sitemap"):
            raise Conflict(
                "Only crawled sources can be re-synced on a schedule.", code="not_schedulable"
            )
        source.schedule = schedule
        source.next_sync_at = next_sync(schedule, source.last_synced_at or utcnow())
    await session.flush()
    return source


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


async def list_pages(
    session: AsyncSession, workspace_id: uuid.UUID, source_id: uuid.UUID, *, limit: int, offset: int
) -> list[Page]:
    await get(session, workspace_id, source_id)
    result = await session.execute(
        select(Page)
        .where(Page.source_id == source_id)
        .order_by(Page.url)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars())


async def delete_source(
    session: AsyncSession, index: KeywordIndex, workspace_id: uuid.UUID, source_id: uuid.UUID
) -> None:
    """The source, its pages, passages and vectors, gone in one transaction."""
    source = await get(session, workspace_id, source_id)
    await delete_chunks(session, index, await live_chunk_ids(session, source.id))
    widget_id = source.widget_id
    await session.delete(source)
    await session.flush()
    await bump_version(session, widget_id)
    await audit.record(session, workspace_id, "source.deleted", source_id)
