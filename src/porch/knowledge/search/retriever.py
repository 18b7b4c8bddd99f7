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
from porch.knowledge.search import decision, tuning
from porch.knowledge.search import rules as rules_mod
from porch.knowledge.search.dense import DenseIndex, DenseSearch, DenseView, MatrixSearch
from porch.knowledge.search.keyword import Executor, Filters, Hit, KeywordIndex, keyword_index
from porch.knowledge.search.pgvector import PgVectorSearch, VectorSupport
from porch.knowledge.search.query import identifiers
from porch.knowledge.search.ranking import Candidate, diverse
from porch.knowledge.search.result import Explained, Retrieval, refusal
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


@dataclass(frozen=True, slots=True)
class Threshold:
    value: float | None
    source: str  # widget | server | automatic | none (keyword search)
    own: float | None
    passages: int


@dataclass(frozen=True, slots=True)
class _Found:
    mode: Mode
    threshold: bool
    idents: list[str]
    keyword_hits: list[Hit]
    query: Matrix | None
    view: DenseView | None

    @property
    def passages(self) -> int:
        """The size of the knowledge base searched: what the automatic threshold follows."""
        return 0 if self.view is None else self.view.passages


@dataclass
class _RuleCache:
    """A widget's context rules and own threshold, as of one knowledge version."""

    version: int
    rules: list[Rule] = field(default_factory=list)
    threshold: float | None = None


class Retriever:
    def __init__(
        self,
        *,
        keywords: KeywordIndex,
        embedder: Embedder,
        dense: DenseSearch,
        min_similarity: float | None,
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
        # None: the threshold follows the corpus size (decision.automatic_threshold).
        self.min_similarity: float | None = min_similarity
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
    ) -> tuple[Context, float | None]:
        """The page's context and the widget's own threshold (None: not set)."""
        cached = self._rules.get(widget_id)
        if cached is None or cached.version != version:
            rules = await rules_mod.load(conn, widget_id)
            cached = _RuleCache(version, rules, await tuning.load(conn, widget_id))
            self._rules[widget_id] = cached
        if not cached.rules:
            return NO_CONTEXT, cached.threshold
        if page_url is None and conversation_id is not None:
            page_url = await rules_mod.page_url_of(conn, conversation_id)
        return rules_mod.resolve(cached.rules, page_url), cached.threshold

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
        version: int | None = None,
        min_similarity: float | None = None,
    ) -> Retrieval:
        """The k passages to answer `question`, best first; fewer (or none) below the threshold.

        `version`: the widget's knowledge version when the caller has read it already (once per
        message); `min_similarity`: a threshold to try instead of the widget's (a preview)."""
        mode = mode or self.mode
        if not self.embedder.enabled:
            mode = "keyword"
        if version is None:
            version = await current_version(conn, widget_id)
        if version == 0:
            # Nothing was ever stored for this widget (the first passage makes version 1):
            # no context rule, keyword or vector search can find anything.
            empty = Retrieval()
            empty.refused = "this widget has no knowledge yet"
            return empty
        context, own = await self._context(conn, widget_id, version, page_url, conversation_id)
        only = context.only
        if source_ids is not None:
            only = tuple(source_ids) if only is None else tuple(set(only) & set(source_ids))
        filters = Filters(only, url_prefix)

        found = await self._gather(conn, widget_id, question, version, filters, mode, threshold)
        candidates = await self._candidates(conn, found, filters)
        if candidates is None:
            empty = Retrieval()
            empty.refused = "no passage has a vector to compare with yet"
            return empty
        limit, source = self._threshold(min_similarity, own, found)
        ranked = await self._rank(conn, k, found, candidates, context)
        return self._decide(question, ranked, found, limit, source)

    async def threshold_for(
        self, conn: Executor, widget_id: uuid.UUID, version: int | None = None
    ) -> Threshold:
        """The threshold the widget's searches use now, where it comes from, and the corpus."""
        if version is None:
            version = await current_version(conn, widget_id)
        _, own = await self._context(conn, widget_id, version, None, None)
        view = await self.dense.view(conn, widget_id, version) if self.embedder.enabled else None
        found = _Found("hybrid" if view else "keyword", True, [], [], None, view)
        value, source = self._threshold(None, own, found)
        return Threshold(value, source, own, found.passages)

    def _threshold(
        self, preview: float | None, own: float | None, found: _Found
    ) -> tuple[float | None, str]:
        """The similarity threshold for this search and where it came from."""
        if not found.threshold or found.mode == "keyword":
            return None, "none"
        if preview is not None:
            return preview, "preview"
        if own is not None:
            return own, "widget"
        if self.min_similarity is not None:
            return self.min_similarity, "server"
        return decision.automatic_threshold(found.passages), "automatic"

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
        view = await self.dense.view(conn, widget_id, version) if mode != "keyword" else None
        if mode == "hybrid" and (view is None or view.missing):
            # Passages without vectors yet (a back-fill is running, or none has been made):
            # rank by both lists, or by words alone, so they stay findable meanwhile.
            mode = "rrf" if view is not None else "keyword"
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
        return _Found(mode, threshold, idents, keyword_hits, query, view)

    async def _candidates(
        self, conn: Executor, found: _Found, filters: Filters
    ) -> dict[uuid.UUID, Candidate] | None:
        """Keyword and dense candidates, each with its cosine; None when a dense-only search
        has nothing to compare with."""
        candidates: dict[uuid.UUID, Candidate] = {}
        for rank, h in enumerate(found.keyword_hits):
            candidates[h.chunk_id] = Candidate(
                h.chunk_id, h.source_id, h.url, keyword=h.score, keyword_rank=rank, hit=h
            )
        view, query = found.view, found.query
        if query is not None and view is not None and found.mode != "keyword":
            top = await view.top(conn, query, CANDIDATES, filters)
            for rank, near in enumerate(top):
                cand = candidates.setdefault(
                    near.chunk_id, Candidate(near.chunk_id, near.source_id, near.url)
                )
                cand.cosine, cand.dense_rank = near.cosine, rank
            # Keyword finds outside the dense top: their exact cosine.
            rest = [c.chunk_id for c in candidates.values() if c.cosine is None]
            for cid, cos in (await view.cosines(conn, query, rest)).items():
                candidates[cid].cosine = cos
        elif found.mode == "dense":
            return None
        return candidates

    async def _rank(
        self,
        conn: Executor,
        k: int,
        found: _Found,
        candidates: dict[uuid.UUID, Candidate],
        context: Context,
    ) -> tuple[list[Candidate], Context]:
        """Fused, diverse and filled in: the k best candidates, before the threshold."""
        ranked = self.fuse(list(candidates.values()), found.mode, context, found.idents)
        chosen = diverse(ranked, k, self.per_page)
        await self._fill(conn, chosen)
        return [c for c in chosen if c.hit is not None], context

    def _decide(
        self,
        question: str,
        ranked: tuple[list[Candidate], Context],
        found: _Found,
        limit: float | None,
        source: str,
    ) -> Retrieval:
        """Cut at the threshold (or kept on keyword evidence), each candidate explained."""
        chosen, context = ranked
        result = Retrieval()
        result.instructions = context.instructions
        result.threshold, result.threshold_source = limit, source
        result.passages = found.passages
        result.best_similarity = max(
            (c.cosine for c in chosen if c.cosine is not None), default=None
        )
        parsed = decision.parse(question)
        explained: list[Explained] = []
        for cand in chosen:
            assert cand.hit is not None
            text = f"{cand.hit.title} {cand.hit.heading} {cand.hit.text}"
            if limit is None:
                verdict = decision.Verdict(True, "keyword search: no threshold applies", 0.0)
            else:
                verdict = decision.judge(parsed, cand.cosine, text, limit)
            explained.append(
                Explained(
                    cand.chunk_id,
                    cand.hit.title,
                    cand.hit.heading,
                    None if cand.cosine is None else round(cand.cosine, 4),
                    round(cand.keyword, 4),
                    round(verdict.coverage, 4),
                    round(cand.fused, 6),
                    verdict.kept,
                    verdict.reason,
                )
            )
            if verdict.kept:
                result.append(replace(cand.hit, score=round(cand.fused, 6)))
        result.candidates = tuple(explained)
        if not result:
            result.refused = refusal(explained, limit)
        return result

    def fuse(
        self, cands: list[Candidate], mode: Mode, context: Context, idents: list[str]
    ) -> list[Candidate]:
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

    async def _fill(self, conn: Executor, chosen: Sequence[Candidate]) -> None:
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


def build_retriever(
    settings: Settings, engine: AsyncEngine, vectors: VectorSupport | None = None
) -> Retriever:
    """Built once in the lifespan; the embedding model itself loads on first use. Dense search
    runs in PostgreSQL when it has pgvector (`vectors`), in memory otherwise."""
    embedder = build_embedder(settings)
    dense: DenseSearch
    if vectors is not None and vectors.usable:
        dense = PgVectorSearch(embedder.name)
    else:
        dense = MatrixSearch(DenseIndex(embedder.name, settings.search_cache_mb * 1024 * 1024))
    return Retriever(
        keywords=keyword_index(engine.dialect.name),
        embedder=embedder,
        dense=dense,
        min_similarity=settings.search_min_similarity,
    )
