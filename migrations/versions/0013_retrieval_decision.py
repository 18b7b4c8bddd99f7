"""retrieval decision: a per-widget similarity threshold

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 15:00:00

`search_settings` holds the threshold an owner chose for a widget (none: the threshold follows
the size of the knowledge base).

On PostgreSQL with pgvector available: the extension, `chunks.embedding_vec` (a `vector` with no
fixed dimension, so a model of another size needs no migration), a trigger that fills it from the
stored int8 embedding on every write (cosine ignores the int8 scale, so it is left out), and a
partial HNSW index for 384 dimensions. Without pgvector nothing of that is created: start-up and
/ready say so and dense search runs in memory.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


# int8 bytes after the 4-byte scale, as signed values: the same direction as the embedding.
_FUNCTION = """
CREATE OR REPLACE FUNCTION porch_embedding_vec() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.embedding IS NULL OR length(NEW.embedding) <= 4 THEN
    NEW.embedding_vec := NULL;
  ELSE
    NEW.embedding_vec := (
      SELECT array_agg(CASE WHEN b > 127 THEN b - 256 ELSE b END ORDER BY i)::real[]::vector
      FROM (SELECT i, get_byte(NEW.embedding, i) AS b
            FROM generate_series(4, length(NEW.embedding) - 1) AS i) AS bytes
    );
  END IF;
  RETURN NEW;
END $$
"""
_TRIGGER = (
    "CREATE TRIGGER chunks_embedding_vec BEFORE INSERT OR UPDATE OF embedding ON chunks "
    "FOR EACH ROW EXECUTE FUNCTION porch_embedding_vec()"
)
_HNSW = (
    "CREATE INDEX IF NOT EXISTS ix_chunks_embedding_hnsw_384 ON chunks "
    "USING hnsw ((embedding_vec::vector(384)) vector_cosine_ops) "
    "WHERE vector_dims(embedding_vec) = 384"
)


def _pgvector() -> None:
    bind = op.get_bind()
    available = bind.execute(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    ).scalar()
    if not available:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("ALTER TABLE chunks ADD COLUMN IF NOT EXISTS embedding_vec vector")
    op.execute(_FUNCTION)
    op.execute("DROP TRIGGER IF EXISTS chunks_embedding_vec ON chunks")
    op.execute(_TRIGGER)
    # Existing vectors: the trigger fills the column when the embedding is written again.
    op.execute("UPDATE chunks SET embedding = embedding WHERE embedding IS NOT NULL")
    op.execute(_HNSW)


def upgrade() -> None:
    op.create_table(
        "search_settings",
        sa.Column(
            "widget_id",
            sa.Uuid(),
            sa.ForeignKey("widgets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("min_similarity", sa.Float(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _pgvector()


def downgrade() -> None:
    op.drop_table("search_settings")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS chunks_embedding_vec ON chunks")
        op.execute("DROP FUNCTION IF EXISTS porch_embedding_vec()")
        op.execute("DROP INDEX IF EXISTS ix_chunks_embedding_hnsw_384")
        op.execute("ALTER TABLE chunks DROP COLUMN IF EXISTS embedding_vec")
