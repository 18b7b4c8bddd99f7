"""Give vectors to passages that lack them (big pasted texts, a changed embedding model)."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import or_, select, update

from porch.embeddings.vectors import encode_many
from porch.knowledge.ingest.chunking import embedding_input
from porch.knowledge.ingest.leases import Runtime
from porch.knowledge.search.store import bump_version, table_of
from porch.models import Chunk

log = structlog.get_logger("porch.ingest")
BATCH = 64
# Publish progress this often, so a big back-fill becomes searchable step by step
# without reloading a widget's matrix for every batch.
PUBLISH_EVERY = 2048


async def embed_missing(rt: Runtime, widget_id: uuid.UUID) -> int:
    """Embed the widget's live passages with no vector from the current model; returns how
    many. Safe to run twice at once: each batch is a set of idempotent updates."""
    embedder = rt.embedder
    if not embedder.enabled:
        return 0
    table = table_of(Chunk)
    done = since_publish = 0
    after: uuid.UUID | None = None
    while True:
        async with rt.sessionmaker() as session:
            query = (
                select(table.c.id, table.c.title, table.c.heading, table.c.text)
                .where(
                    table.c.widget_id == widget_id,
                    ~table.c.staged,
                    or_(
                        table.c.embedding_model.is_(None),
                        table.c.embedding_model != embedder.name,
                    ),
                )
                .order_by(table.c.id)
                .limit(BATCH)
            )
            if after is not None:
                query = query.where(table.c.id > after)
            rows = (await session.execute(query)).all()
        if not rows:
            break
        after = rows[-1][0]
        vectors = encode_many(
            await embedder.embed_passages([embedding_input(r[1], r[2], r[3]) for r in rows])
        )
        async with rt.sessionmaker() as session, session.begin():
            for row, blob in zip(rows, vectors, strict=True):
                await session.execute(
                    update(table)
                    .where(table.c.id == row[0])
                    .values(embedding=blob, embedding_model=embedder.name)
                )
            done += len(rows)
            since_publish += len(rows)
            if since_publish >= PUBLISH_EVERY:
                await bump_version(session, widget_id)
                since_publish = 0
    if since_publish:
        async with rt.sessionmaker() as session, session.begin():
            await bump_version(session, widget_id)
    if done:
        log.info("vectors_backfilled", widget_id=str(widget_id), chunks=done)
    return done
