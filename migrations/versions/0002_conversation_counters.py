"""Keep conversations.message_count and last_message_at current with a trigger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:00:00

The chat path inserts a message as one autocommit statement; the trigger updates the
conversation inside that same statement, so no code path can forget it and the hot path
saves a round trip per message.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP = (
    "UPDATE conversations SET message_count = message_count + 1, "
    "last_message_at = NEW.created_at WHERE id = NEW.conversation_id"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION porch_bump_conversation() RETURNS trigger AS $$ "
            f"BEGIN {_BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER messages_bump_conversation AFTER INSERT ON messages "
            "FOR EACH ROW EXECUTE FUNCTION porch_bump_conversation()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER messages_bump_conversation AFTER INSERT ON messages BEGIN {_BUMP}; END"
        )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS messages_bump_conversation"
        + (" ON messages" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS porch_bump_conversation()")
