"""Adding a source of any kind, and queueing its sync (or its vectors) once that commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from porch.db import after_commit
from porch.errors import BadRequest
from porch.knowledge.ingest.tasks import Ingest
from porch.knowledge.search.retriever import Retriever
from porch.knowledge.sources import service
from porch.knowledge.sources.intake import NewSource, Upload
from porch.knowledge.sources.schemas import TextSourceIn, UrlSourceIn
from porch.models import Source
from porch.security.ssrf import BlockedURL, check_resolves_public, check_url


async def add(
    session: AsyncSession,
    ingest: Ingest,
    retriever: Retriever,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    body: NewSource,
    *,
    allow_private: bool,
) -> Source:
    """A text is searchable once committed (its vectors may follow from a job); the other
    kinds are stored pending and synced by a job queued after the commit."""
    if isinstance(body, TextSourceIn):
        source = await service.add_text(
            session,
            retriever.keywords,
            workspace_id,
            widget_id,
            title=body.title,
            body=body.text,
            url=body.url,
            embedder=retriever.embedder,
        )
        if source.stats.get("vectors_missing"):
            wid = source.widget_id

            async def embed() -> None:
                await ingest.embed(wid)

            after_commit(session, embed)
        return source
    if isinstance(body, Upload):
        source = await service.add_file(
            session,
            workspace_id,
            widget_id,
            filename=body.filename,
            kind=body.kind,
            content=body.content,
            title=body.title,
        )
    else:
        url = await checked_url(body.url.strip(), allow_private=allow_private)
        config: dict[str, Any] = (
            {"crawl": body.crawl.model_dump()}
            if isinstance(body, UrlSourceIn)
            else {"crawl": {"max_pages": body.max_pages}}
        )
        source = await service.add_remote(
            session,
            workspace_id,
            widget_id,
            kind=body.type,
            url=url,
            title=body.title or url,
            config=config,
            schedule=body.schedule,
        )
    queue_sync(session, ingest, source)
    return source


async def checked_url(url: str, *, allow_private: bool) -> str:
    try:
        check_url(url, allow_private=allow_private)
        await check_resolves_public(url, allow_private=allow_private)
    except BlockedURL as exc:
        raise BadRequest(str(exc), code="invalid_url") from None
    return url


def queue_sync(session: AsyncSession, ingest: Ingest, source: Source) -> None:
    """Queue the source's sync once the request's transaction has committed."""
    source_id, generation = source.id, source.generation

    async def enqueue() -> None:
        await ingest.sync(source_id, generation)

    after_commit(session, enqueue)


async def resync(
    session: AsyncSession, ingest: Ingest, workspace_id: uuid.UUID, source_id: uuid.UUID
) -> Source:
    """Fetch again now (a new generation), unless a sync is already queued."""
    before = await service.get(session, workspace_id, source_id)
    generation = before.generation
    source = await service.request_sync(session, workspace_id, source_id)
    if source.generation != generation:
        queue_sync(session, ingest, source)
    return source
