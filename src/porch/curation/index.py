"""Each widget's approved curated answers in memory, ready to match a visitor's question.

Loaded on first use from the database (one SELECT), dropped when any process announces a
change on `curation.changed` (and after `curated_cache_seconds` at the latest, in case a
notice was missed). Vectors are stored with the answers; a row without them (written by
another embedder, or imported in bulk) is embedded when loaded and written back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import structlog
from sqlalchemy import select, update

from porch.curation.matching import NO_VERDICT, Entry, Verdict, WidgetAnswers, decide
from porch.embeddings.base import Embedder, EmbeddingError
from porch.embeddings.vectors import Matrix, decode_many, dimension, encode_many
from porch.knowledge.search.keyword import Executor
from porch.models import CuratedAnswer
from porch.models.base import utcnow
from porch.pubsub import PubSub
from porch.settings import Settings

log = structlog.get_logger("porch.curation")
CHANGED = "curation.changed"


def texts_of(question: str, variants: Sequence[str]) -> list[str]:
    return [question, *[v for v in variants if v.strip()]]


def split_vectors(blob: bytes | None, count: int) -> list[bytes] | None:
    """The stored vectors of an answer's texts, or None when they do not fit its texts."""
    if not blob or count == 0 or len(blob) % count:
        return None
    width = len(blob) // count
    return [blob[i * width : (i + 1) * width] for i in range(count)]


@dataclass
class _Cached:
    answers: WidgetAnswers
    loaded: float


class CuratedIndex:
    """Built once in the lifespan; `verdict` is what the answer pipeline asks."""

    def __init__(self, settings: Settings, embedder: Embedder, pubsub: PubSub | None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._pubsub = pubsub
        self._cache: dict[uuid.UUID, _Cached] = {}
        if pubsub is not None:
            pubsub.subscribe(CHANGED, self._changed)

    async def _changed(self, raw: bytes) -> None:
        try:
            self._cache.pop(uuid.UUID(raw.decode()), None)
        except ValueError:
            self._cache.clear()

    async def announce(self, widget_id: uuid.UUID) -> None:
        """Tell every process (this one at once) that a widget's curated answers changed."""
        self._cache.pop(widget_id, None)
        if self._pubsub is not None:
            await self._pubsub.publish(CHANGED, str(widget_id).encode())

    async def vectors(self, texts: Sequence[str]) -> bytes | None:
        """The stored form of the texts' vectors; None without an embedder, or when it fails."""
        if not self.embedder.enabled or not texts:
            return None
        try:
            matrix = await self.embedder.embed_passages(list(texts))
        except EmbeddingError:
            log.warning("curated_embedding_failed")
            return None
        return b"".join(encode_many(matrix))

    async def answers(self, conn: Executor, widget_id: uuid.UUID) -> WidgetAnswers:
        cached = self._cache.get(widget_id)
        ttl = self.settings.curated_cache_seconds
        if cached is not None and time.monotonic() - cached.loaded < ttl:
            return cached.answers
        answers = await self._load(conn, widget_id)
        self._cache[widget_id] = _Cached(answers, time.monotonic())
        return answers

    async def verdict(self, conn: Executor, widget_id: uuid.UUID, question: str) -> Verdict:
        """The ranking of the widget's answers for `question`, and which (if any) applies."""
        answers = await self.answers(conn, widget_id)
        if not len(answers):
            return NO_VERDICT
        query = None
        if answers.matrix is not None:
            try:
                query = await self.embedder.embed_query(question)
            except EmbeddingError:
                query = None  # keywords alone still match
        ranked = answers.rank(question, query, now=utcnow())
        return decide(ranked, self.settings.curated_threshold)

    async def _load(self, conn: Executor, widget_id: uuid.UUID) -> WidgetAnswers:
        c = CuratedAnswer.__table__.c
        rows = (
            await conn.execute(
                select(
                    c.id,
                    c.question,
                    c.variants,
                    c.answer,
                    c.mode,
                    c.threshold,
                    c.valid_until,
                    c.embedding,
                    c.embedder,
                )
                .where(c.widget_id == widget_id, c.status == "approved")
                .order_by(c.created_at, c.id)
            )
        ).all()
        entries: list[Entry] = []
        blobs: list[list[bytes] | None] = []
        for r in rows:
            texts = tuple(texts_of(r.question, list(r.variants or [])))
            entries.append(
                Entry(r.id, r.question, r.answer, r.mode, r.threshold, r.valid_until, texts)
            )
            same = r.embedder == self.embedder.name
            blobs.append(split_vectors(r.embedding, len(texts)) if same else None)
        matrix = await self._matrix(conn, entries, blobs)
        return WidgetAnswers(entries, matrix)

    async def _matrix(
        self, conn: Executor, entries: list[Entry], blobs: list[list[bytes] | None]
    ) -> Matrix | None:
        if not self.embedder.enabled or not entries:
            return None
        for i, entry in enumerate(entries):
            if blobs[i] is not None:
                continue
            stored = await self.vectors(entry.texts)
            if stored is None:
                return None
            blobs[i] = split_vectors(stored, len(entry.texts))
            # Written back so the next process (or load) need not embed it again.
            await conn.execute(
                update(CuratedAnswer)
                .where(CuratedAnswer.id == entry.id)
                .values(
                    embedding=stored,
                    embedder=self.embedder.name,
                    updated_at=CuratedAnswer.updated_at,
                )
            )
        flat = [b for parts in blobs if parts is not None for b in parts]
        dims = {dimension(b) for b in flat}
        if len(dims) != 1:
            return None
        matrix: Matrix = decode_many(flat, dims.pop()).astype(np.float32, copy=False)
        return matrix
