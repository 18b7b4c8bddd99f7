"""identity claims: the signed attributes of a verified visitor

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 22:00:00

`conversations.user_claims` holds the custom claims of the identity token the conversation
was started (or last resumed) with: attributes the site signed, such as email or plan, that
actions read through `identity.<claim>` sources. NULL for visitors verified by hash only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("user_claims", _JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "user_claims")
