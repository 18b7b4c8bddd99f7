"""privacy: retention periods, redaction rules, export and erase jobs, tombstones, legal holds

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00

Conversations gain a legal hold and the time they were anonymized; messages the counts of
what was redacted before storing. Retention policies per workspace and widget, redaction
rules, the jobs of requests from a person (export, erase), the tombstones of erasures
(an HMAC of the subject) and the lease that keeps one sweep running at a time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch): rebuilding `conversations` on SQLite would cascade its
    # DROP to every message.
    op.add_column(
        "conversations",
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("conversations", sa.Column("anonymized_at", _TS, nullable=True))
    op.add_column("messages", sa.Column("redactions", _JSON, nullable=True))
    # Finding a person by email (export, erase) without scanning every conversation.
    op.create_index("ix_conversations_user_email", "conversations", ["user_email"])

    op.create_table(
        "retention_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("widget_id", sa.Uuid(), nullable=True),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("conversation_days", sa.Integer(), nullable=True),
        sa.Column("visitor_days", sa.Integer(), nullable=True),
        sa.Column("action_call_days", sa.Integer(), nullable=True),
        sa.Column("delivery_log_days", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(20), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        _fk("retention_policies", "workspace_id", "workspaces"),
        _fk("retention_policies", "widget_id", "widgets"),
        sa.PrimaryKeyConstraint("id", name="pk_retention_policies"),
        sa.UniqueConstraint("workspace_id", "scope", name="uq_retention_scope"),
    )
    op.create_table(
        "redaction_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("stages", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("redaction_rules", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_redaction_rules"),
    )
    op.create_index("ix_redaction_rules_workspace_id", "redaction_rules", ["workspace_id"])
    op.create_table(
        "privacy_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(320), nullable=True),
        sa.Column("subject_hmac", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(320), nullable=True),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("download_token_hash", sa.String(64), nullable=True),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        _fk("privacy_jobs", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_jobs"),
        sa.UniqueConstraint("download_token_hash", name="uq_privacy_jobs_download_token_hash"),
    )
    op.create_index("ix_privacy_jobs_workspace", "privacy_jobs", ["workspace_id", "id"])
    op.create_index("ix_privacy_jobs_subject_hmac", "privacy_jobs", ["subject_hmac"])
    op.create_table(
        "privacy_tombstones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_hmac", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("privacy_tombstones", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_tombstones"),
        sa.UniqueConstraint("workspace_id", "subject_hmac", name="uq_privacy_tombstone"),
    )
    op.create_table(
        "sweep_leases",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(80), nullable=False),
        sa.Column("lease_until", _TS, nullable=False),
        sa.Column("last_run_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_sweep_leases"),
    )


def downgrade() -> None:
    op.drop_table("sweep_leases")
    op.drop_table("privacy_tombstones")
    op.drop_table("privacy_jobs")
    op.drop_table("redaction_rules")
    op.drop_table("retention_policies")
    op.drop_index("ix_conversations_user_email", "conversations")
    op.drop_column("messages", "redactions")
    op.drop_column("conversations", "anonymized_at")
    op.drop_column("conversations", "legal_hold")
