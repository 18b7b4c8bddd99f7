"""visitor security: identity verification, per-widget provider keys, extra visitor tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:00:00

Widgets gain an encrypted identity secret (HMAC of the site's user ids), whether a
verified identity is required, and an encrypted provider API key. Conversations record
whether their visitor's identity was verified. `visitor_tokens` holds further tokens of a
conversation, issued when a verified visitor resumes it on another device.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: a batch copy of `conversations` on SQLite would
    # trip over the message counter trigger that names it.
    for column in (
        sa.Column("identity_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("require_identity", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("provider_api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("provider_api_key_last4", sa.String(4), nullable=True),
    ):
        op.add_column("widgets", column)
    op.add_column(
        "conversations",
        sa.Column("user_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_conversations_widget_user", "conversations", ["widget_id", "user_external_id"]
    )
    op.create_table(
        "visitor_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_visitor_tokens_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_visitor_tokens"),
    )
    op.create_index("ix_visitor_tokens_conversation_id", "visitor_tokens", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_visitor_tokens_conversation_id", table_name="visitor_tokens")
    op.drop_table("visitor_tokens")
    op.drop_index("ix_conversations_widget_user", table_name="conversations")
    op.drop_column("conversations", "user_verified")
    for name in (
        "provider_api_key_last4",
        "provider_api_key_encrypted",
        "require_identity",
        "identity_secret_encrypted",
    ):
        op.drop_column("widgets", name)
