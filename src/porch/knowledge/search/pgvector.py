"""Dense search inside PostgreSQL with pgvector: no widget's vectors are held in the worker.

Migration 0013 gives `chunks` an `embedding_vec vector` column, filled by a trigger from the
stored int8 embedding whenever it is written (ingest, re-sync, back-fill after a model change),
and an HNSW index (cosine) for 384 dimensions, the default model's. A search filters by widget,
sources and URL prefix in the same statement; pgvector's iterative index scan keeps reading the
graph until enough rows pass the filter. Vectors of another dimension are searched exactly
(no index): `porch` logs at start-up how to add one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from porch.embeddings.vectors import Matrix
from porch.knowledge.search.dense import Near
from porch.knowledge.search.keyword import Executor, Filters

log = structlog.get_logger("porch.retrieval")
# Candidates the graph search keeps per step: recall@10 against exact search on
# bench/pgvector.py was >= 0.98 from this value (docs/knowledge.md).
EF_SEARCH = 100
INDEXED_DIMS = (384,)


@dataclass(frozen=True, slots=True)
class VectorSupport:
    """What the database offers for dense search, as checked at start-up."""

    dialect: str
    extension: str | None  # pgvector's version, when installed
    column: bool  # chunks.embedding_vec exists (migration 0013 ran with the extension)

    @property
    def usable(self) -> bool:
        return self.dialect == "postgresql" and self.extension is not None and self.column

    @property
    def status(self) -> str:
        if self.dialect != "postgresql":
            return "in-memory"
        if self.usable:
            return f"pgvector {self.extension}"
        if self.extension is None:
            return "missing: the pgvector extension is not installed; dense search runs in memory"
        return "missing: run `porch migrate` to add the vector column; dense search runs in memory"


async def detect(engine: AsyncEngine) -> VectorSupport:
    dialect = engine.dialect.name
    if dialect != "postgresql":
        return VectorSupport(dialect, None, False)
    async with engine.connect() as conn:
        version = await conn.scalar(
            text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        )
        column = await conn.scalar(
            text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'chunks' AND column_name = 'embedding_vec' "
                "AND table_schema = current_schema()"
            )
        )
    support = VectorSupport(dialect, None if version is None else str(version), bool(column))
    if not support.usable:
        log.warning("pgvector_missing", status=support.status)
    return support


def _literal(query: Matrix) -> str:
    return "[" + ",".join(f"{float(x):.6g}" for x in query) + "]"


def _filters(filters: Filters) -> tuple[str, dict[str, object], list[str]]:
    sql = ""
    params: dict[str, object] = {}
    expanding: list[str] = []
    if filters.source_ids is not None:
        sql += " AND c.source_id IN :sources"
        params["sources"] = list(filters.source_ids) or [uuid.UUID(int=0)]
        expanding.append("sources")
    if filters.url_prefix:
        sql += " AND substr(c.url, 1, length(:prefix)) = :prefix"
        params["prefix"] = filters.url_prefix
    return sql, params, expanding


class PgVectorView:
    """One widget in the database: its size (for the threshold) read once per version."""

    def __init__(self, widget_id: uuid.UUID, model: str, passages: int, missing: int) -> None:
        self.widget_id, self.model = widget_id, model
        self.passages, self.missing = passages, missing

    async def top(self, conn: Executor, query: Matrix, n: int, filters: Filters) -> list[Near]:
        dims = int(query.shape[0])
        # The expression and predicate match the partial HNSW index of this dimension.
        vec = f"c.embedding_vec::vector({dims})"
        extra, params, expanding = _filters(filters)
        stmt = text(
            f"SELECT c.id, c.source_id, c.url, 1 - ({vec} <=> CAST(:q AS vector({dims}))) AS cos "  # noqa: S608 - dims is an int
            "FROM chunks c WHERE c.widget_id = :widget AND NOT c.staged "
            f"AND c.embedding_model = :model AND vector_dims(c.embedding_vec) = {dims}"
            + extra
            + f" ORDER BY {vec} <=> CAST(:q AS vector({dims})) LIMIT :n"
        )
        if expanding:
            stmt = stmt.bindparams(*(bindparam(x, expanding=True) for x in expanding))
        await conn.execute(_TUNE, {"ef": str(EF_SEARCH)})
        rows = (
            await conn.execute(
                stmt,
                {"q": _literal(query), "widget": self.widget_id, "model": self.model, "n": n}
                | params,
            )
        ).all()
        found = [Near(r[0], float(r[3]), r[1], r[2]) for r in rows]
        # relaxed_order may return the last few slightly out of order.
        return sorted(found, key=lambda x: x.cosine, reverse=True)

    async def cosines(
        self, conn: Executor, query: Matrix, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, float]:
        if not ids:
            return {}
        dims = int(query.shape[0])
        rows = await conn.execute(
            text(
                f"SELECT id, 1 - (embedding_vec::vector({dims}) <=> CAST(:q AS vector({dims}))) "  # noqa: S608
                "FROM chunks WHERE id IN :ids AND embedding_model = :model "
                f"AND vector_dims(embedding_vec) = {dims}"
            ).bindparams(bindparam("ids", expanding=True)),
            {"q": _literal(query), "ids": list(ids), "model": self.model},
        )
        return {r[0]: float(r[1]) for r in rows}


_TUNE = text(
    "SELECT set_config('hnsw.ef_search', :ef, false), "
    "set_config('hnsw.iterative_scan', 'relaxed_order', false)"
)
_SIZE = text(
    "SELECT count(*), count(*) FILTER (WHERE embedding_vec IS NULL OR embedding_model IS "
    "DISTINCT FROM :model) FROM chunks WHERE widget_id = :widget AND NOT staged"
)


class PgVectorSearch:
    """Scale-out: vectors searched where they are stored. Only sizes are cached, per version."""

    kind = "pgvector"

    def __init__(self, model: str) -> None:
        self.model = model
        self._sizes: dict[uuid.UUID, tuple[int, int, int]] = {}  # widget -> version, n, missing

    async def view(self, conn: Executor, widget_id: uuid.UUID, version: int) -> PgVectorView:
        cached = self._sizes.get(widget_id)
        if cached is None or cached[0] != version:
            row = (await conn.execute(_SIZE, {"widget": widget_id, "model": self.model})).one()
            if len(self._sizes) > 100_000:
                self._sizes.clear()
            cached = (version, int(row[0]), int(row[1]))
            self._sizes[widget_id] = cached
        return PgVectorView(widget_id, self.model, cached[1], cached[2])
