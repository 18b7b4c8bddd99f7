"""handoff and webhooks: assignment and handoff times, realtime events, webhooks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 09:00:00

Conversations gain who has them and when a person was last active (the handoff timeout
runs from there), first agent reply and close times (analytics), and an unread count the
messages trigger keeps. `conversation_events` holds durable realtime events with integer
ids that sockets resume from. Widgets gain their handoff settings. Webhooks and their
delivery log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

_BUMP_OLD = (
    "UPDATE conversations SET message_count = message_count + 1, "
    "last_message_at = NEW.created_at WHERE id = NEW.conversation_id"
)
# Same statement, and a visitor's message is one more unread for the agents.
_BUMP_NEW = (
    "UPDATE conversations SET message_count = message_count + 1, "
    "unread_count = unread_count + CASE WHEN NEW.role = 'user' THEN 1 ELSE 0 END, "
    "last_message_at = NEW.created_at WHERE id = NEW.conversation_id"
)


def _set_trigger(body: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION porch_bump_conversation() RETURNS trigger AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS messages_bump_conversation")
        op.execute(
            f"CREATE TRIGGER messages_bump_conversation AFTER INSERT ON messages BEGIN {body}; END"
        )


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch that rebuilt `conversations` on SQLite would drop the old
    # table with foreign keys on, and its cascade would delete every message.
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("conversations", sa.Column("assigned_user_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            "fk_conversations_assigned_user_id_users",
            "conversations",
            "users",
            ["assigned_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    elif "assigned_user_id" not in _columns("conversations"):
        # SQLite takes a REFERENCES clause in ADD COLUMN, not a separate constraint; a
        # downgrade leaves the column behind (see there).
        op.execute(
            "ALTER TABLE conversations ADD COLUMN assigned_user_id CHAR(32) "
            "REFERENCES users (id) ON DELETE SET NULL"
        )
    for name in ("handoff_requested_at", "agent_active_at", "first_agent_reply_at", "closed_at"):
        op.add_column("conversations", sa.Column(name, _TS, nullable=True))
    op.add_column(
        "conversations",
        sa.Column("unread_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("widgets", sa.Column("handoff", _JSON, nullable=False, server_default="{}"))
    _set_trigger(_BUMP_NEW)

    op.create_table(
        "conversation_events",
        sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("conversation_events", "workspace_id", "workspaces"),
        _fk("conversation_events", "conversation_id", "conversations"),
    )
    op.create_index(
        "ix_conversation_events_conversation", "conversation_events", ["conversation_id", "id"]
    )
    op.create_index(
        "ix_conversation_events_workspace", "conversation_events", ["workspace_id", "id"]
    )

    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", _JSON, nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("webhooks", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    op.create_index("ix_webhooks_workspace_id", "webhooks", ["workspace_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        _fk("webhook_deliveries", "webhook_id", "webhooks"),
        _fk("webhook_deliveries", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "id"])
    op.create_index("ix_webhook_deliveries_workspace_id", "webhook_deliveries", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("conversation_events")
    _set_trigger(_BUMP_OLD)
    op.drop_column("widgets", "handoff")
    for name in (
        "unread_count",
        "closed_at",
        "first_agent_reply_at",
        "agent_active_at",
        "handoff_requested_at",
    ):
        op.drop_column("conversations", name)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            "fk_conversations_assigned_user_id_users", "conversations", type_="foreignkey"
        )
        op.drop_column("conversations", "assigned_user_id")
    # SQLite cannot drop a column that references another table without rebuilding
    # `conversations`, and a rebuild's DROP would cascade to every message: it stays, unused.
