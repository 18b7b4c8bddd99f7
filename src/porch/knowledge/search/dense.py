"""Dense search: a float32 matrix of unit vectors per widget, held in memory and shared.

A widget's matrix is loaded from the database on first use and reloaded when the widget's
index version moves; loads are single-flight per widget, and the least recently used
matrices are dropped when the process's budget (PORCH_SEARCH_CACHE_MB) is exceeded.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from porch.embeddings.vectors import Matrix, decode_many, dimension
from porch.knowledge.search.keyword import Executor, Filters
from porch.knowledge.search.store import table_of
from porch.models import Chunk

_CHUNKS = table_of(Chunk)
# Matrices larger than this are searched on a worker thread (numpy releases the GIL),
# smaller ones inline: the thread hop costs more than the product itself.
_THREAD_ROWS = 20_000
# From this size a 96-dimension projection (PCA of a sample) picks 1,000 candidates that are
# then scored exactly: 2.3 ms instead of 5.3 ms at 100k rows, with the same top 40 (measured
# recall@40 of 1.00 on the documentation benchmark's vectors).
_COARSE_ROWS = 50_000
_COARSE_DIMS = 96
_COARSE_POOL = 1000


@dataclass
class WidgetMatrix:
    version: int
    model: str
    # Chunk ids as 16-byte values: no per-row Python objects for the garbage collector
    # to walk (100k UUID objects made every full collection cost tens of milliseconds).
    ids: npt.NDArray[np.void]
    matrix: Matrix
    sources: list[uuid.UUID]
    source_of: npt.NDArray[np.int32]  # row -> index into sources
    urls: list[str]
    url_of: npt.NDArray[np.int32]  # row -> index into urls
    row_of: dict[bytes, int] = field(default_factory=dict)  # atomic keys: untracked by gc
    # Live passages with no vector from this model yet (a back-fill is under way).
    missing: int = 0
    projection: Matrix | None = None  # (dim, _COARSE_DIMS), for large matrices only
    reduced: Matrix | None = None  # matrix @ projection
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def nbytes(self) -> int:
        # Vectors, plus roughly 120 bytes a row for the ids and the lookup table.
        extra = 0 if self.reduced is None else int(self.reduced.nbytes)
        return int(self.matrix.nbytes) + extra + 120 * len(self.ids)

    def row(self, chunk_id: uuid.UUID) -> int | None:
        return self.row_of.get(chunk_id.bytes)

    def source_at(self, chunk_id: uuid.UUID) -> uuid.UUID | None:
        row = self.row(chunk_id)
        return None if row is None else self.sources[int(self.source_of[row])]

    def url_at(self, chunk_id: uuid.UUID) -> str | None:
        row = self.row(chunk_id)
        return None if row is None else self.urls[int(self.url_of[row])]

    def mask(self, filters: Filters) -> npt.NDArray[np.bool_] | None:
        if filters.empty:
            return None
        keep = np.ones(len(self.ids), dtype=np.bool_)
        if filters.source_ids is not None:
            wanted = set(filters.source_ids)
            allowed = np.array([s in wanted for s in self.sources], dtype=np.bool_)
            keep &= allowed[self.source_of] if len(self.sources) else False
        if filters.url_prefix:
            prefix = filters.url_prefix
            allowed = np.array([u.startswith(prefix) for u in self.urls], dtype=np.bool_)
            keep &= allowed[self.url_of] if len(self.urls) else False
        return keep

    def scores(self, query: Matrix) -> npt.NDArray[np.float32]:
        result: npt.NDArray[np.float32] = self.matrix @ query
        return result

    def top(
        self, query: Matrix, n: int, filters: Filters
    ) -> tuple[list[tuple[uuid.UUID, float]], npt.NDArray[np.float32]]:
        """The n most similar rows (id, cosine), best first, and every row's cosine."""
        if not len(self.ids) or query.shape[0] != self.matrix.shape[1]:
            return [], np.zeros(0, dtype=np.float32)
        keep = self.mask(filters)
        if self.reduced is not None and self.projection is not None and keep is None:
            return self._coarse_top(query, n)
        scores = self.scores(query)
        ranked = scores
        if keep is not None:
            ranked = np.where(keep, scores, np.float32(-2.0))
        n = min(n, len(ranked))
        part = np.argpartition(-ranked, n - 1)[:n]
        order = part[np.argsort(-ranked[part])]
        top = [
            (uuid.UUID(bytes=self.ids[i].tobytes()), float(ranked[i]))
            for i in order
            if ranked[i] > -2.0
        ]
        return top, scores

    def _coarse_top(
        self, query: Matrix, n: int
    ) -> tuple[list[tuple[uuid.UUID, float]], npt.NDArray[np.float32]]:
        """Candidates from the projection, then exact cosines for them only. The returned
        score array holds exact values for the pool and the estimates elsewhere."""
        assert self.reduced is not None and self.projection is not None
        approx: npt.NDArray[np.float32] = self.reduced @ (query @ self.projection)
        pool = np.argpartition(-approx, min(_COARSE_POOL, len(approx) - 1))[:_COARSE_POOL]
        exact = self.matrix[pool] @ query
        approx[pool] = exact
        n = min(n, len(pool))
        best = np.argpartition(-exact, n - 1)[:n]
        best = best[np.argsort(-exact[best])]
        top = [(uuid.UUID(bytes=self.ids[pool[i]].tobytes()), float(exact[i])) for i in best]
        return top, approx


class DenseIndex:
    """The per-process cache of widget matrices."""

    def __init__(self, model: str, budget_bytes: int) -> None:
        self.model = model
        self._budget = budget_bytes
        self._cache: OrderedDict[uuid.UUID, WidgetMatrix] = OrderedDict()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    def peek(self, widget_id: uuid.UUID) -> WidgetMatrix | None:
        return self._cache.get(widget_id)

    async def get(self, executor: Executor, widget_id: uuid.UUID, version: int) -> WidgetMatrix:
        """The widget's matrix at `version` (loading it when the cached one is older)."""
        cached = self._cache.get(widget_id)
        if cached is not None and cached.version == version:
            self._cache.move_to_end(widget_id)
            return cached
        lock = self._locks.setdefault(widget_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(widget_id)
            if cached is not None and cached.version >= version:
                return cached
            loaded = await self._load(executor, widget_id, version)
            self._cache[widget_id] = loaded
            self._cache.move_to_end(widget_id)
            self._evict()
            return loaded

    def forget(self, widget_id: uuid.UUID) -> None:
        self._cache.pop(widget_id, None)

    def _evict(self) -> None:
        total = sum(m.nbytes for m in self._cache.values())
        while total > self._budget and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            total -= dropped.nbytes

    async def _load(self, executor: Executor, widget_id: uuid.UUID, version: int) -> WidgetMatrix:
        rows = (
            await executor.execute(
                select(_CHUNKS.c.id, _CHUNKS.c.source_id, _CHUNKS.c.url, _CHUNKS.c.embedding)
                .where(
                    _CHUNKS.c.widget_id == widget_id,
                    ~_CHUNKS.c.staged,
                    _CHUNKS.c.embedding_model == self.model,
                )
                .order_by(_CHUNKS.c.id)
            )
        ).all()
        total = await executor.scalar(
            select(func.count())
            .select_from(_CHUNKS)
            .where(_CHUNKS.c.widget_id == widget_id, ~_CHUNKS.c.staged)
        )
        built = await asyncio.to_thread(_build, version, self.model, rows)
        built.missing = max(0, int(total or 0) - len(built.ids))
        return built


def _build(version: int, model: str, rows: Sequence[tuple[object, ...]]) -> WidgetMatrix:
    ids: list[bytes] = []
    blobs: list[bytes] = []
    sources: dict[uuid.UUID, int] = {}
    urls: dict[str, int] = {}
    source_of: list[int] = []
    url_of: list[int] = []
    dim = 0
    for cid, sid, url, blob in rows:
        if not isinstance(blob, bytes | bytearray | memoryview):
            continue
        data = bytes(blob)
        dim = dim or dimension(data)
        if dimension(data) != dim:
            continue
        assert isinstance(cid, uuid.UUID) and isinstance(sid, uuid.UUID)
        ids.append(cid.bytes)
        blobs.append(data)
        source_of.append(sources.setdefault(sid, len(sources)))
        url_of.append(urls.setdefault(str(url or ""), len(urls)))
    matrix = decode_many(blobs, dim)
    result = WidgetMatrix(
        version=version,
        model=model,
        ids=np.frombuffer(b"".join(ids), dtype="V16") if ids else np.zeros(0, dtype="V16"),
        matrix=matrix,
        sources=list(sources),
        source_of=np.asarray(source_of, dtype=np.int32),
        urls=list(urls),
        url_of=np.asarray(url_of, dtype=np.int32),
    )
    result.row_of = {cid: i for i, cid in enumerate(ids)}
    if len(ids) >= _COARSE_ROWS:
        rng = np.random.default_rng(len(ids))
        sample = matrix[rng.choice(len(ids), 4096, replace=False)]
        _, _, vt = np.linalg.svd(sample, full_matrices=False)
        result.projection = np.ascontiguousarray(vt[:_COARSE_DIMS].T, dtype=np.float32)
        result.reduced = np.ascontiguousarray(matrix @ result.projection, dtype=np.float32)
    return result


async def search_matrix(
    matrix: WidgetMatrix, query: Matrix, n: int, filters: Filters
) -> tuple[list[tuple[uuid.UUID, float]], npt.NDArray[np.float32]]:
    # The coarse path is quick enough to run inline; a full scan of a big matrix (filters
    # make the projection's candidate pool unreliable) goes to a thread.
    coarse = matrix.reduced is not None and filters.empty
    if len(matrix.ids) >= _THREAD_ROWS and not coarse:
        return await asyncio.to_thread(matrix.top, query, n, filters)
    return matrix.top(query, n, filters)


@dataclass(frozen=True, slots=True)
class Near:
    chunk_id: uuid.UUID
    cosine: float
    source_id: uuid.UUID | None
    url: str | None


class MatrixView:
    """One widget's vectors at one version, searched in this process's memory."""

    def __init__(self, matrix: WidgetMatrix) -> None:
        self.matrix = matrix

    @property
    def passages(self) -> int:
        return len(self.matrix.ids) + self.matrix.missing

    @property
    def missing(self) -> int:
        return self.matrix.missing

    async def top(self, conn: Executor, query: Matrix, n: int, filters: Filters) -> list[Near]:
        m = self.matrix
        found, _ = await search_matrix(m, query, n, filters)
        return [Near(cid, cos, m.source_at(cid), m.url_at(cid)) for cid, cos in found]

    async def cosines(
        self, conn: Executor, query: Matrix, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, float]:
        rows = {cid: self.matrix.row(cid) for cid in ids}
        return {
            cid: float(self.matrix.matrix[r] @ query) for cid, r in rows.items() if r is not None
        }


class MatrixSearch:
    """The embedded default: per-process matrices (DenseIndex), one per widget."""

    def __init__(self, index: DenseIndex) -> None:
        self.index = index

    kind = "in-memory"

    async def view(self, conn: Executor, widget_id: uuid.UUID, version: int) -> MatrixView:
        return MatrixView(await self.index.get(conn, widget_id, version))


class DenseView(Protocol):
    """A widget's vectors at one knowledge version, wherever they are searched."""

    @property
    def passages(self) -> int: ...

    @property
    def missing(self) -> int: ...

    async def top(self, conn: Executor, query: Matrix, n: int, filters: Filters) -> list[Near]: ...

    async def cosines(
        self, conn: Executor, query: Matrix, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, float]: ...


class DenseSearch(Protocol):
    """One retrieval interface, two implementations: MatrixSearch (in memory, the embedded
    default) and pgvector.PgVectorSearch (in PostgreSQL), chosen by the database in use."""

    kind: str

    async def view(self, conn: Executor, widget_id: uuid.UUID, version: int) -> DenseView: ...
