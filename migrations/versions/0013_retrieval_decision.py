"""retrieval decision: a per-widget similarity threshold

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-03 15:00:00

`search_settings` holds the threshold an owner chose for a widget (none: the threshold follows
the size of the knowledge base).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


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


def downgrade() -> None:
    op.drop_table("search_settings")
