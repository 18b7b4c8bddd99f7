"""SQLite: a chunk's full-text row goes when the chunk goes, however it goes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:10:00

Deleting a widget or source cascades to its chunks inside SQLite, where no Python code sees
them, so their FTS5 rows were left behind. A trigger keeps the index in step at the database,
where the cascade happens. (PostgreSQL's tsvector is a column of the chunk: nothing to do.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DELETE FROM chunk_fts WHERE chunk_id NOT IN (SELECT id FROM chunks)")
        op.execute(
            "CREATE TRIGGER chunks_drop_fts AFTER DELETE ON chunks "
            "BEGIN DELETE FROM chunk_fts WHERE chunk_id = OLD.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS chunks_drop_fts")
