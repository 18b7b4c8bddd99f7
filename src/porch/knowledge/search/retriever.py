"""The one retrieval function: what the assistant is given, and what the owner's search shows.

Dense similarity over the widget's in-memory matrix and full-text search in the database
run side by side; their candidates are fused (see `fuse`), filtered by context rules and
metadata, and cut at a relevance threshold so the assistant can say it does not know.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from porch.embeddings.base import Embedder
from porch.embeddings.registry import build_embedder
from porch.embeddings.vectors import Matrix
from porch.knowledge.search import rules as rules_mod
from porch.knowledge.search.dense import DenseIndex, WidgetMatrix, search_matrix
from porch.knowledge.search.keyword import Executor, Filters, Hit, KeywordIndex, keyword_index
from porch.knowledge.search.query import identifiers, query_terms
from porch.knowledge.search.rules import NO_CONTEXT, Context, Rule
from porch.knowledge.search.store import current_version, table_of
from porch.models import Chunk
from porch.settings import Settings

log = structlog.get_logger("porch.retrieval")
Mode = Literal["hybrid", "dense", "keyword", "rrf", "weighted"]
_CHUNKS = table_of(Chunk)
_PASSAGES = select(
    _CHUNKS.c.id,
    _CHUNKS.c.source_id,
    _CHUNKS.c.title,
    _CHUNKS.c.heading,
    _CHUNKS.c.url,
    _CHUNKS.c.text,
).where(_CHUNKS.c.id.in_(bindparam("ids", expanding=True)))
CANDIDATES = 40
# "hybrid" (the default) is dense similarity, with full-text search joining in only when the
# question names an identifier or error code: passages containing it gain IDENT_BOOST.
# On bench/retrieval.py this beat plain dense, reciprocal-rank fusion and every weighting
# of BM25 tried ("weighted": cosine + KEYWORD_WEIGHT x keyword score / best keyword score).
IDENT_BOOST = 0.2
KEYWORD_WEIGHT = 0.1
PREFER_BOOST = 0.15
PER_PAGE = 2  # passages of one page among the results


class Retrieval(list[Hit]):
    """Hits, best first, with the instructions the page's context rules add."""

    instructions: tuple[str, ...] = ()
    best_similarity: float | None = None


@dataclass
class _Candidate:
    chunk_id: uuid.UUID
    source_id: uuid.UUID | None = None
    url: str | None = None
    cosine: float | None = None
    keyword: float = 0.0
    dense_rank: int | None = None
    keyword_rank: int | None = None
    hit: Hit | None = None
    fused: float = 0.0


@dataclass(frozen=True, slots=True)
class _Found:
    mode: Mode
    threshold: bool
    idents: list[str]
    keyword_hits: list[Hit]
    query: Matrix | None
    matrix: WidgetMatrix | None


@dataclass
class _RuleCache:
    version: int
    rules: list[Rule] = field(default_factory=list)


def _evidence(question: str, text: str) -> bool:
    """Keyword proof strong enough without dense agreement: an exact identifier or error code,
    or nearly every content word of the question."""
    lowered = text.lower()
    if any(i in lowered for i in identifiers(question)):
        return True
    terms = query_terms(question)
    words = terms.words
    if len(words) < 2:
        return False
    covered = sum(1 for w in words if w[: max(4, len(w) - 2)] in lowered)
    return covered / len(words) >= 0.75


class Retriever:
    def __init__(
        self,
        *,
        keywords: KeywordIndex,
        embedder: Embedder,
        dense: DenseIndex,
        min_similarity: float,
        mode: Mode = "hybrid",
        keyword_weight: float = KEYWORD_WEIGHT,
        per_page: int = PER_PAGE,
        ident_boost: float = IDENT_BOOST,
    ) -> None:
        self.per_page = per_page
        self.ident_boost = ident_boost
        self.keywords = keywords
        self.embedder = embedder
        self.dense = dense
        self.min_similarity = min_similarity
        self.mode: Mode = mode if embedder.enabled else "keyword"
        self.keyword_weight = keyword_weight
        self._rules: dict[uuid.UUID, _RuleCache] = {}

    async def _context(
        self,
        conn: Executor,
        widget_id: uuid.UUID,
        version: int,
        page_url: str | None,
        conversation_id: uuid.UUID | None,
    ) -> Context:
        cached = self._rules.get(widget_id)
        if cached is None or cached.version != version:
            cached = _RuleCache(version, await rules_mod.load(conn, widget_id))
            self._rules[widget_id] = cached
        if not cached.rules:
            return NO_CONTEXT
        if page_url is None and conversation_id is not None:
            page_url = await rules_mod.page_url_of(conn, conversation_id)
        return rules_mod.resolve(cached.rules, page_url)

    async def search(
        self,
        conn: Executor,
        widget_id: uuid.UUID,
        question: str,
        k: int,
        *,
        source_ids: Sequence[uuid.UUID] | None = None,
        url_prefix: str | None = None,
        page_url: str | None = None,
        conversation_id: uuid.UUID | None = None,
        mode: Mode | None = None,
        threshold: bool = True,
    ) -> Retrieval:
        """The k passages to answer `question`, best first; fewer (or none) below the threshold."""
        mode = mode or self.mode
        if not self.embedder.enabled:
            mode = "keyword"
        version = await current_version(conn, widget_id)
        context = await self._context(conn, widget_id, version, page_url, conversation_id)
        only = context.only
        if source_ids is not None:
            only = tuple(source_ids) if only is None else tuple(set(only) & set(source_ids))
        filters = Filters(only, url_prefix)

        found = await self._gather(conn, widget_id, question, version, filters, mode, threshold)
        candidates = await self._candidates(found, filters)
        if candidates is None:
            return Retrieval()
        return await self._rank(conn, question, k, found, candidates, context)

    async def _gather(
        self,
        conn: Executor,
        widget_id: uuid.UUID,
        question: str,
        version: int,
        filters: Filters,
        mode: Mode,
        threshold: bool,
    ) -> _Found:
        """The widget's matrix, the question's vector and the keyword hits, asked side by side;
        the mode they allow (keywords alone when the question could not be embedded)."""
        idents = identifiers(question)
        matrix = await self.dense.get(conn, widget_id, version) if mode != "keyword" else None
        if mode == "hybrid" and (matrix is None or matrix.missing):
            # Passages without vectors yet (a back-fill is running, or none has been made):
            # rank by both lists, or by words alone, so they stay findable meanwhile.
            mode = "rrf" if matrix is not None else "keyword"
        use_keywords = mode in ("keyword", "rrf", "weighted") or (mode == "hybrid" and idents)
        query_task = (
            asyncio.create_task(self.embedder.embed_query(question)) if mode != "keyword" else None
        )
        try:
            # In hybrid mode the database is asked only for the identifiers: rare by nature,
            # so the full-text query stays cheap however large the knowledge base.
            exact = idents if mode == "hybrid" else None
            keyword_hits = (
                await self.keywords.search(
                    conn, widget_id, question, CANDIDATES, filters, exact=exact
                )
                if use_keywords
                else []
            )
            query = await query_task if query_task is not None else None
        finally:
            if query_task is not None and not query_task.done():
                query_task.cancel()
        if query is None and mode in ("hybrid", "rrf"):
            # The question could not be embedded (an embeddings endpoint is down): keywords
            # still answer, and the threshold cannot apply without similarities.
            mode, threshold = "keyword", False
            if not use_keywords or exact:
                keyword_hits = await self.keywords.search(
                    conn, widget_id, question, CANDIDATES, filters
                )
        return _Found(mode, threshold, idents, keyword_hits, query, matrix)

    async def _candidates(
        self, found: _Found, filters: Filters
    ) -> dict[uuid.UUID, _Candidate] | None:
        """Keyword and dense candidates, each with its cosine; None when a dense-only search
        has nothing to compare with."""
        candidates: dict[uuid.UUID, _Candidate] = {}
        for rank, h in enumerate(found.keyword_hits):
            candidates[h.chunk_id] = _Candidate(
                h.chunk_id, h.source_id, h.url, keyword=h.score, keyword_rank=rank, hit=h
            )
        matrix, query = found.matrix, found.query
        if query is not None and matrix is not None and found.mode != "keyword":
            top, _ = await search_matrix(matrix, query, CANDIDATES, filters)
            for rank, (cid, cos) in enumerate(top):
                cand = candidates.setdefault(
                    cid, _Candidate(cid, matrix.source_at(cid), matrix.url_at(cid))
                )
                cand.cosine, cand.dense_rank = cos, rank
            # Keyword finds outside the dense top: their exact cosine, row by row.
            for cand in candidates.values():
                row = matrix.row(cand.chunk_id)
                if cand.cosine is None and row is not None:
                    cand.cosine = float(matrix.matrix[row] @ query)
        elif found.mode == "dense":
            return None
        return candidates

    async def _rank(
        self,
        conn: Executor,
        question: str,
        k: int,
        found: _Found,
        candidates: dict[uuid.UUID, _Candidate],
        context: Context,
    ) -> Retrieval:
        """Fused, diverse, filled in, and cut at the relevance threshold."""
        ranked = self.fuse(list(candidates.values()), found.mode, context, found.idents)
        result = Retrieval()
        result.instructions = context.instructions
        result.best_similarity = max(
            (c.cosine for c in ranked if c.cosine is not None), default=None
        )
        chosen = self.diverse(ranked, k)
        await self._fill(conn, chosen)
        for cand in chosen:
            if cand.hit is None:
                continue
            if found.threshold and found.mode != "keyword" and not self._relevant(question, cand):
                continue
            result.append(replace(cand.hit, score=round(cand.fused, 6)))
        return result

    def fuse(
        self, cands: list[_Candidate], mode: Mode, context: Context, idents: list[str]
    ) -> list[_Candidate]:
        best_kw = max((c.keyword for c in cands), default=0.0) or 1.0
        for c in cands:
            if mode == "hybrid":
                c.fused = c.cosine if c.cosine is not None else 0.0
                if idents and c.hit is not None:
                    text = f"{c.hit.title} {c.hit.heading} {c.hit.text}".lower()
                    share = sum(1 for i in idents if i in text) / len(idents)
                    c.fused += self.ident_boost * share
            elif mode == "keyword":
                c.fused = c.keyword
            elif mode == "dense":
                c.fused = c.cosine if c.cosine is not None else -1.0
            elif mode == "rrf":
                ranks = (c.dense_rank, c.keyword_rank)
                c.fused = sum(1.0 / (61 + r) for r in ranks if r is not None)
            else:  # weighted
                c.fused = (c.cosine or 0.0) + self.keyword_weight * (c.keyword / best_kw)
            if c.source_id is not None and c.source_id in context.prefer:
                c.fused += PREFER_BOOST
        return sorted(cands, key=lambda c: c.fused, reverse=True)

    def diverse(self, ranked: list[_Candidate], k: int) -> list[_Candidate]:
        """The best passage of each page first, then second passages (up to `per_page`)
        only if fewer than k pages qualify. A visitor's answer is often on the second- or
        third-best page: on bench/retrieval.py, one passage per page before any second one
        raised page hit@5 from 0.88 to 0.90 and MRR from 0.719 to 0.733."""
        chosen: list[_Candidate] = []
        taken: set[uuid.UUID] = set()
        for limit in range(1, self.per_page + 1):
            counts: dict[tuple[uuid.UUID | None, str], int] = {}
            for cand in ranked:
                if len(chosen) >= k:
                    break
                page = (
                    cand.source_id,
                    cand.url.split("#", 1)[0] if cand.url else cand.chunk_id.hex,
                )
                seen = counts.get(page, 0)
                counts[page] = seen + 1
                if seen < limit and cand.chunk_id not in taken:
                    taken.add(cand.chunk_id)
                    chosen.append(cand)
        # Second passages joined after every first one: put the picks back in rank order.
        return sorted(chosen, key=lambda c: c.fused, reverse=True)

    def _relevant(self, question: str, cand: _Candidate) -> bool:
        if cand.cosine is None:
            # No vector yet (a back-fill is running): its words are all there is to judge by.
            return cand.hit is not None and cand.keyword_rank is not None
        if cand.cosine >= self.min_similarity:
            return True
        if cand.hit is None or cand.keyword_rank is None:
            return False
        return _evidence(question, f"{cand.hit.title} {cand.hit.heading} {cand.hit.text}")

    async def _fill(self, conn: Executor, chosen: Sequence[_Candidate]) -> None:
        """Load the text of winners that only dense search found."""
        missing = [c.chunk_id for c in chosen if c.hit is None]
        if not missing:
            return
        rows = (await conn.execute(_PASSAGES, {"ids": missing})).all()
        found = {r[0]: r for r in rows}
        for c in chosen:
            row = found.get(c.chunk_id)
            if c.hit is None and row is not None:
                c.hit = Hit(row[0], row[1], row[2], row[3], row[4], row[5], c.fused)

    async def aclose(self) -> None:
        await self.embedder.aclose()


def build_retriever(settings: Settings, engine: AsyncEngine) -> Retriever:
    """Built once in the lifespan; the embedding model itself loads on first use."""
    embedder = build_embedder(settings)
    return Retriever(
        keywords=keyword_index(engine.dialect.name),
        embedder=embedder,
        dense=DenseIndex(embedder.name, settings.search_cache_mb * 1024 * 1024),
        min_similarity=settings.search_min_similarity,
    )
