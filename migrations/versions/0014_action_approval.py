"""action approval: who approves a write (the visitor or an agent), and who decided a call

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:00:00

`actions.approval` is `visitor` (the visitor confirms on the card, as before) or `agent` (a
team member approves or declines it in the inbox). `action_calls.decided_by` names the
person (user id) who approved or declined an agent-approved call, or ran it from the inbox.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(
            sa.Column("approval", sa.String(10), nullable=False, server_default="visitor")
        )
    with op.batch_alter_table("action_calls") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_calls") as batch:
        batch.drop_column("decided_by")
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("approval")
