"""Keyword search in the database: SQLite FTS5 embedded, PostgreSQL full-text at scale."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from porch.knowledge.search.query import Terms, exact_terms, query_terms
from porch.knowledge.search.termstats import TermStats

# Search runs inside an ORM session (owner routes) or a bare connection (the chat path).
Executor = AsyncSession | AsyncConnection


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: uuid.UUID
    source_id: uuid.UUID
    title: str
    heading: str
    url: str | None
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict a search to some sources and/or to pages under a URL prefix."""

    source_ids: tuple[uuid.UUID, ...] | None = None
    url_prefix: str | None = None

    @property
    def empty(self) -> bool:
        return self.source_ids is None and not self.url_prefix


NO_FILTERS = Filters()


class KeywordIndex(Protocol):
    async def add(self, session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None: ...

    async def remove(self, session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None: ...

    async def search(
        self,
        session: Executor,
        widget_id: uuid.UUID,
        question: str,
        k: int,
        filters: Filters = NO_FILTERS,
        *,
        exact: Sequence[str] | None = None,
    ) -> list[Hit]:
        """Passages matching `question`'s rarer words; with `exact`, only those identifiers."""
        ...


def _hits(rows: Sequence[Any]) -> list[Hit]:
    return [
        Hit(
            uuid.UUID(str(r[0])),
            uuid.UUID(str(r[1])),
            str(r[2]),
            str(r[3]),
            None if r[4] is None else str(r[4]),
            str(r[5]),
            float(r[6]),
        )
        for r in rows
    ]


def _filter_sql(filters: Filters, as_key: Any) -> tuple[str, dict[str, Any], list[str]]:
    """Extra WHERE clauses on `c` (chunks) and their parameters; expanding params named."""
    sql = ""
    params: dict[str, Any] = {}
    expanding: list[str] = []
    if filters.source_ids is not None:
        sql += " AND c.source_id IN :sources"
        params["sources"] = [as_key(s) for s in filters.source_ids] or [as_key(uuid.UUID(int=0))]
        expanding.append("sources")
    if filters.url_prefix:
        # substr, not LIKE: a prefix holding % or _ must match literally.
        sql += " AND substr(c.url, 1, length(:prefix)) = :prefix"
        params["prefix"] = filters.url_prefix
    return sql, params, expanding


def _fts5_match(terms: Terms) -> str:
    parts = [f'"{w}"' for w in terms.words]
    parts += ['"' + " ".join(p) + '"' for p in terms.phrases]
    return " OR ".join(parts)


def _tsquery(terms: Terms) -> str:
    parts = list(terms.words) + ["(" + " <-> ".join(p) + ")" for p in terms.phrases]
    return " | ".join(parts)


class SqliteKeywordIndex:
    """An FTS5 table beside `chunks`, written with them (no triggers: ids are UUIDs)."""

    def __init__(self) -> None:
        self.stats = TermStats()

    async def _rare_terms(self, session: Executor, question: str) -> Terms:
        terms = query_terms(question)

        async def count(words: list[str], n: int) -> dict[str, int]:
            # One statement, a subquery per word; FTS5 counts a term's passages cheaply.
            parts = ", ".join(
                f"(SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH :w{i})"  # noqa: S608
                for i in range(len(words))
            )
            row = (
                await session.execute(
                    text(f"SELECT {parts}"),  # placeholders only
                    {f"w{i}": f'"{w}"' for i, w in enumerate(words)},
                )
            ).one()
            return {w: int(row[i] or 0) for i, w in enumerate(words)}

        async def total() -> int:
            return int(await session.scalar(text("SELECT max(rowid) FROM chunk_fts")) or 0)

        words = await self.stats.rare(terms.words, count, total)
        return Terms(tuple(words), terms.phrases)

    async def add(self, session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None:
        for start in range(0, len(chunk_ids), 500):
            batch = [c.hex for c in chunk_ids[start : start + 500]]
            await session.execute(
                text(
                    "INSERT INTO chunk_fts (chunk_id, widget_id, title, heading, text) "
                    "SELECT id, widget_id, title, heading, text FROM chunks WHERE id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": batch},
            )

    async def remove(self, session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None:
        for start in range(0, len(chunk_ids), 500):
            batch = [c.hex for c in chunk_ids[start : start + 500]]
            await session.execute(
                text("DELETE FROM chunk_fts WHERE chunk_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": batch},
            )

    async def search(
        self,
        session: Executor,
        widget_id: uuid.UUID,
        question: str,
        k: int,
        filters: Filters = NO_FILTERS,
        *,
        exact: Sequence[str] | None = None,
    ) -> list[Hit]:
        terms = exact_terms(list(exact)) if exact else await self._rare_terms(session, question)
        if not terms:
            return []
        extra, params, expanding = _filter_sql(filters, lambda u: u.hex)
        # bm25() is lower-is-better; weights favour title, then heading, over body text.
        stmt = text(
            "SELECT c.id, c.source_id, c.title, c.heading, c.url, c.text, "
            "  -bm25(chunk_fts, 0, 0, 3.0, 2.0, 1.0) AS score "
            "FROM chunk_fts JOIN chunks c ON c.id = chunk_fts.chunk_id "
            "WHERE chunk_fts MATCH :match AND chunk_fts.widget_id = :widget" + extra + " "
            "ORDER BY bm25(chunk_fts, 0, 0, 3.0, 2.0, 1.0) LIMIT :k"
        )
        if expanding:
            stmt = stmt.bindparams(*(bindparam(n, expanding=True) for n in expanding))
        rows = (
            await session.execute(
                stmt, {"match": _fts5_match(terms), "widget": widget_id.hex, "k": k, **params}
            )
        ).all()
        return _hits(rows)


class PostgresKeywordIndex:
    """A generated, weighted tsvector column on `chunks` with a GIN index (see migrations)."""

    def __init__(self) -> None:
        self.stats = TermStats()

    async def _rare_terms(self, session: Executor, question: str) -> Terms:
        terms = query_terms(question)

        async def total() -> int:
            # The planner's estimate: instant, and close enough to decide what is common.
            value = await session.scalar(
                text("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE relname = 'chunks'")
            )
            return int(value or 0)

        async def count(words: list[str], n: int) -> dict[str, int]:
            # Counting stops just past "common": a common word costs a bounded scan.
            cap = int(max(1000, n) * 0.2) + 1
            parts = ", ".join(
                f"(SELECT count(*) FROM (SELECT 1 FROM chunks "  # noqa: S608 - placeholders
                f"WHERE search_vector @@ to_tsquery('english', :w{i}) LIMIT :cap) s{i})"
                for i in range(len(words))
            )
            row = (
                await session.execute(
                    text(f"SELECT {parts}"),  # placeholders only
                    {"cap": cap, **{f"w{i}": w for i, w in enumerate(words)}},
                )
            ).one()
            return {w: int(row[i] or 0) for i, w in enumerate(words)}

        words = await self.stats.rare(terms.words, count, total)
        return Terms(tuple(words), terms.phrases)

    async def add(self, session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None:
        return None  # the column is generated by PostgreSQL itself

    async def remove(self, session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None:
        return None

    async def search(
        self,
        session: Executor,
        widget_id: uuid.UUID,
        question: str,
        k: int,
        filters: Filters = NO_FILTERS,
        *,
        exact: Sequence[str] | None = None,
    ) -> list[Hit]:
        terms = exact_terms(list(exact)) if exact else await self._rare_terms(session, question)
        if not terms:
            return []
        extra, params, expanding = _filter_sql(filters, lambda u: u)
        stmt = text(
            "SELECT c.id, c.source_id, c.title, c.heading, c.url, c.text, "
            "  ts_rank_cd(c.search_vector, q) AS score "
            "FROM chunks c, to_tsquery('english', :query) q "
            "WHERE c.widget_id = :widget AND c.search_vector @@ q AND NOT c.staged" + extra + " "
            "ORDER BY score DESC LIMIT :k"
        )
        if expanding:
            stmt = stmt.bindparams(*(bindparam(n, expanding=True) for n in expanding))
        rows = (
            await session.execute(
                stmt, {"query": _tsquery(terms), "widget": widget_id, "k": k, **params}
            )
        ).all()
        return _hits(rows)


def keyword_index(dialect: str) -> KeywordIndex:
    return PostgresKeywordIndex() if dialect == "postgresql" else SqliteKeywordIndex()
