"""Writing passages: insert (staged or live), publish a sync atomically, bump the index version.

Every change to a widget's passages bumps its row in `knowledge_versions` inside the same
transaction, so in-memory indexes in any process can tell, with one primary-key read,
that they are stale, and never see half of a change.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.ids import uuid7
from porch.knowledge.search.keyword import Executor, KeywordIndex
from porch.models import Chunk, KnowledgeVersion


def table_of(model: type[Any]) -> Table:
    """A model's Core table, typed as one (the ORM types it as a generic FromClause)."""
    return cast(Table, model.__table__)


_CHUNKS = table_of(Chunk)
_VERSIONS = table_of(KnowledgeVersion)


@dataclass(frozen=True, slots=True)
class NewChunk:
    title: str
    heading: str
    url: str | None
    text: str
    page_id: uuid.UUID | None = None
    embedding: bytes | None = None


def _dialect(executor: Executor) -> str:
    bind = executor.get_bind() if isinstance(executor, AsyncSession) else executor.engine
    return bind.dialect.name


async def bump_version(executor: Executor, widget_id: uuid.UUID) -> None:
    """+1 on the widget's index version (created at 1): in the caller's transaction."""
    make = pg_insert if _dialect(executor) == "postgresql" else sqlite_insert
    stmt = make(_VERSIONS).values(widget_id=widget_id, version=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_VERSIONS.c.widget_id], set_={"version": _VERSIONS.c.version + 1}
    )
    await executor.execute(stmt)


# Built once: this runs on every search, and building the expression cost more than the query.
_VERSION_OF = select(_VERSIONS.c.version).where(_VERSIONS.c.widget_id == bindparam("widget"))


async def current_version(executor: Executor | AsyncConnection, widget_id: uuid.UUID) -> int:
    value = await executor.scalar(_VERSION_OF, {"widget": widget_id})
    return int(value or 0)


async def insert_chunks(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    source_id: uuid.UUID,
    rows: Sequence[NewChunk],
    model: str | None,
    staged: bool,
    first_position: int = 0,
) -> list[uuid.UUID]:
    if not rows:
        return []
    ids = [uuid7() for _ in rows]
    await session.execute(
        insert(_CHUNKS),
        [
            {
                "id": cid,
                "workspace_id": workspace_id,
                "widget_id": widget_id,
                "source_id": source_id,
                "position": first_position + i,
                "title": r.title[:300],
                "heading": r.heading[:500],
                "url": r.url,
                "text": r.text,
                "page_id": r.page_id,
                "staged": staged,
                "embedding": r.embedding,
                "embedding_model": model if r.embedding is not None else None,
            }
            for i, (cid, r) in enumerate(zip(ids, rows, strict=True))
        ],
    )
    return ids


async def live_chunk_ids(
    session: AsyncSession, source_id: uuid.UUID, page_ids: Collection[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Published passages of a source (of some of its pages, when `page_ids` is given)."""
    query = select(_CHUNKS.c.id).where(_CHUNKS.c.source_id == source_id, ~_CHUNKS.c.staged)
    if page_ids is not None:
        if not page_ids:
            return []
        query = query.where(_CHUNKS.c.page_id.in_(list(page_ids)))
    return list((await session.execute(query)).scalars())


async def delete_chunks(
    session: AsyncSession, index: KeywordIndex, chunk_ids: Sequence[uuid.UUID]
) -> None:
    await index.remove(session, chunk_ids)
    for start in range(0, len(chunk_ids), 500):
        batch = list(chunk_ids[start : start + 500])
        await session.execute(delete(_CHUNKS).where(_CHUNKS.c.id.in_(batch)))


async def discard_staged(session: AsyncSession, source_id: uuid.UUID) -> None:
    """Drop what an interrupted sync had written but not published."""
    await session.execute(delete(_CHUNKS).where(_CHUNKS.c.source_id == source_id, _CHUNKS.c.staged))


async def publish(
    session: AsyncSession,
    index: KeywordIndex,
    *,
    widget_id: uuid.UUID,
    source_id: uuid.UUID,
    replaced_pages: Collection[uuid.UUID],
) -> None:
    """In one transaction: old passages of changed or vanished pages out, staged ones in."""
    old = await live_chunk_ids(session, source_id, replaced_pages)
    await delete_chunks(session, index, old)
    staged = list(
        (
            await session.execute(
                select(_CHUNKS.c.id).where(_CHUNKS.c.source_id == source_id, _CHUNKS.c.staged)
            )
        ).scalars()
    )
    await session.execute(
        update(_CHUNKS)
        .where(_CHUNKS.c.source_id == source_id, _CHUNKS.c.staged)
        .values(staged=False)
    )
    await index.add(session, staged)
    await bump_version(session, widget_id)
