"""actions: the owner's HTTP actions, their secrets and the call log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00

`actions` holds per-widget definitions (templates, parameter schema, where each parameter
comes from, auth, risk, limits); `action_secrets` the encrypted named secrets they use;
`action_calls` one row per run or pending run (confirmation, collected parameters), the
audit record shown in the inbox and counted in analytics.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def _col(name: str, kind: Any, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=null)


def upgrade() -> None:
    op.create_table(
        "actions",
        _col("id", sa.Uuid()),
        _col("workspace_id", sa.Uuid()),
        _col("widget_id", sa.Uuid()),
        _col("slug", sa.String(64)),
        _col("title", sa.String(200)),
        _col("description", sa.Text()),
        _col("examples", _JSON),
        _col("method", sa.String(10)),
        _col("url", sa.String(2048)),
        _col("headers", _JSON),
        _col("body", _JSON, True),
        _col("parameters", _JSON),
        _col("sources", _JSON),
        _col("extract", _JSON),
        _col("auth", _JSON),
        _col("risk", sa.String(20)),
        _col("requires_verified", sa.Boolean()),
        _col("timeout_ms", sa.Integer()),
        _col("retries", sa.Integer()),
        _col("max_response_bytes", sa.Integer()),
        _col("calls_per_conversation", sa.Integer()),
        _col("calls_per_day", sa.Integer()),
        _col("response_fields", _JSON, True),
        _col("result_template", sa.Text()),
        _col("error_texts", _JSON),
        _col("allowed_hosts", _JSON),
        _col("enabled", sa.Boolean()),
        _col("version", sa.Integer()),
        _col("created_at", _TS),
        _col("updated_at", _TS),
        _fk("actions", "workspace_id", "workspaces"),
        _fk("actions", "widget_id", "widgets"),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
        sa.UniqueConstraint("widget_id", "slug", name="uq_actions_widget_slug"),
    )
    op.create_index("ix_actions_workspace_id", "actions", ["workspace_id"])

    op.create_table(
        "action_secrets",
        _col("id", sa.Uuid()),
        _col("workspace_id", sa.Uuid()),
        _col("widget_id", sa.Uuid()),
        _col("name", sa.String(64)),
        _col("value_encrypted", sa.Text()),
        _col("created_at", _TS),
        _col("last_used_at", _TS, True),
        _fk("action_secrets", "workspace_id", "workspaces"),
        _fk("action_secrets", "widget_id", "widgets"),
        sa.PrimaryKeyConstraint("id", name="pk_action_secrets"),
        sa.UniqueConstraint("widget_id", "name", name="uq_action_secrets_widget_name"),
    )
    op.create_index("ix_action_secrets_workspace_id", "action_secrets", ["workspace_id"])

    op.create_table(
        "action_calls",
        _col("id", sa.Uuid()),
        _col("workspace_id", sa.Uuid()),
        _col("widget_id", sa.Uuid()),
        _col("action_id", sa.Uuid()),
        _col("action_version", sa.Integer()),
        _col("slug", sa.String(64)),
        _col("conversation_id", sa.Uuid(), True),
        _col("message_id", sa.Uuid(), True),
        _col("trigger", sa.String(20)),
        _col("status", sa.String(20)),
        _col("confirmation", sa.String(20)),
        _col("asking", sa.String(64), True),
        _col("arguments", _JSON),
        _col("sent_arguments", _JSON),
        _col("argument_sources", _JSON),
        _col("arguments_hash", sa.String(64), True),
        _col("expires_at", _TS, True),
        _col("request_method", sa.String(10), True),
        _col("request_url", sa.String(2048), True),
        _col("response_status", sa.Integer(), True),
        _col("response", _JSON, True),
        _col("visitor_text", sa.Text(), True),
        _col("error_class", sa.String(30), True),
        _col("error", sa.Text(), True),
        _col("duration_ms", sa.Integer(), True),
        _col("created_at", _TS),
        _col("finished_at", _TS, True),
        _fk("action_calls", "workspace_id", "workspaces"),
        _fk("action_calls", "widget_id", "widgets"),
        _fk("action_calls", "action_id", "actions"),
        _fk("action_calls", "conversation_id", "conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_action_calls"),
    )
    op.create_index("ix_action_calls_workspace_id", "action_calls", ["workspace_id"])
    op.create_index("ix_action_calls_widget", "action_calls", ["widget_id", "id"])
    op.create_index("ix_action_calls_conversation", "action_calls", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_table("action_calls")
    op.drop_table("action_secrets")
    op.drop_table("actions")
