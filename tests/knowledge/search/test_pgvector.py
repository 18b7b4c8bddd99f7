"""Dense search in PostgreSQL with pgvector: vectors in the database, none held by the worker;
and a PostgreSQL without pgvector says so at start-up and in /ready."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from porch.knowledge.search.dense import MatrixSearch
from porch.knowledge.search.pgvector import PgVectorSearch
from tests.conftest import PGVECTOR, OwnerClient, make_widget, ops_get
from tests.knowledge.conftest import add_source, search

SHIPPING = "Parcels inside the EU arrive within three to five working days."
RETURNS = "Returns are accepted for 30 days after delivery; refunds take a week."


@pytest.mark.parametrize("backend", [PGVECTOR], indirect=True)
async def test_pgvector_searches_in_the_database(app: FastAPI, owner: OwnerClient) -> None:
    retriever = app.state.porch.retriever
    assert isinstance(retriever.dense, PgVectorSearch)
    ready = await ops_get(app, "/ready")
    assert ready.json()["checks"]["vectors"].startswith("pgvector 0.")
    widget = await make_widget(owner)
    shipping = await add_source(owner, widget["id"], type="text", title="Ship", text=SHIPPING)
    returns = await add_source(owner, widget["id"], type="text", title="Back", text=RETURNS)
    hits = await search(owner, widget["id"], "how long until my package gets here?")
    assert hits[0]["source_id"] == shipping
    # Sources filter inside the statement: the other source only.
    hits = await search(
        owner, widget["id"], "how long until my package gets here?", source_id=returns
    )
    assert all(h["source_id"] == returns for h in hits)
    async with app.state.porch.engine.connect() as conn:
        # The trigger filled the vector column from the stored embedding, for every passage.
        filled = await conn.scalar(
            text("SELECT count(*) FROM chunks WHERE vector_dims(embedding_vec) = 384")
        )
        plan = "\n".join(
            r[0]
            for r in await conn.execute(
                text(
                    "EXPLAIN SELECT id FROM chunks ORDER BY embedding_vec::vector(384) <=> "
                    "(SELECT embedding_vec::vector(384) FROM chunks LIMIT 1) LIMIT 5"
                )
            )
        )
    assert filled == 2
    assert "ix_chunks_embedding_hnsw_384" in plan or "Seq Scan" in plan  # tiny table: either


@pytest.mark.parametrize("backend", [PGVECTOR], indirect=True)
async def test_a_re_embedded_passage_gets_a_new_vector(app: FastAPI, owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    await add_source(owner, widget["id"], type="text", title="Ship", text=SHIPPING)
    async with app.state.porch.engine.begin() as conn:
        before = await conn.scalar(text("SELECT embedding_vec::text FROM chunks"))
        # A model change re-embeds: a new embedding written means a new vector, same statement.
        await conn.execute(
            text("UPDATE chunks SET embedding = decode('0000803f' || repeat('01', 384), 'hex')")
        )
        after = await conn.scalar(text("SELECT embedding_vec::text FROM chunks"))
    assert before != after and after.startswith("[1,1,1")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_without_pgvector_says_so(app: FastAPI) -> None:
    # The Debian server here has no pgvector: dense search stays in memory, and /ready says why.
    async with app.state.porch.engine.connect() as conn:
        has = await conn.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'"))
    if has:
        pytest.skip("this PostgreSQL has pgvector")
    assert isinstance(app.state.porch.retriever.dense, MatrixSearch)
    ready = await ops_get(app, "/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["vectors"].startswith("missing: the pgvector extension")
