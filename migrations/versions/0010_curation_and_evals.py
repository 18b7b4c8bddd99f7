"""curation and evals: curated answers, their hits, suggestions; eval cases, runs, the watch

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:00:00

Curated answers win over retrieval when a visitor's question matches; each match is kept
per message (`curated_hits`). Suggestions are proposed curated answers learned from the
inbox, and `curation_suggestion_seen` remembers which conversations were read. Eval cases
are saved tests, eval runs their results; `eval_watch` holds each widget's fingerprint of
what its answers depend on, so a change re-runs its tests.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("widget_id", sa.Uuid(), nullable=False),
        _fk(table, "workspace_id", "workspaces"),
        _fk(table, "widget_id", "widgets"),
    ]


def upgrade() -> None:
    op.create_table(
        "curated_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("curated_answers"),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("variants", _JSON, nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("locale", sa.String(20), nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("valid_until", _TS, nullable=True),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("origin_message_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", _TS, nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedder", sa.String(120), nullable=True),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("last_hit_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _fk("curated_answers", "created_by", "users", "SET NULL"),
        _fk("curated_answers", "approved_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_curated_answers"),
    )
    op.create_index("ix_curated_answers_workspace_id", "curated_answers", ["workspace_id"])
    op.create_index("ix_curated_answers_widget_id", "curated_answers", ["widget_id"])

    op.create_table(
        "curated_hits",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("curated_hits"),
        sa.Column("curated_answer_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("components", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("curated_hits", "curated_answer_id", "curated_answers"),
        sa.PrimaryKeyConstraint("id", name="pk_curated_hits"),
    )
    op.create_index("ix_curated_hits_workspace_id", "curated_hits", ["workspace_id"])
    op.create_index("ix_curated_hits_curated_answer_id", "curated_hits", ["curated_answer_id"])
    op.create_index("ix_curated_hits_message_id", "curated_hits", ["message_id"])

    op.create_table(
        "curation_suggestions",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("curation_suggestions"),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("conversation_ids", _JSON, nullable=False),
        sa.Column("reasons", _JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("curated_answer_id", sa.Uuid(), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _fk("curation_suggestions", "curated_answer_id", "curated_answers", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_curation_suggestions"),
    )
    op.create_index(
        "ix_curation_suggestions_workspace_id", "curation_suggestions", ["workspace_id"]
    )
    op.create_index("ix_curation_suggestions_widget_id", "curation_suggestions", ["widget_id"])

    op.create_table(
        "curation_suggestion_seen",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("widget_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk("curation_suggestion_seen", "conversation_id", "conversations"),
        _fk("curation_suggestion_seen", "widget_id", "widgets"),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_curation_suggestion_seen"),
    )

    op.create_table(
        "eval_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("eval_cases"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("turns", _JSON, nullable=False),
        sa.Column("assertions", _JSON, nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_cases"),
    )
    op.create_index("ix_eval_cases_workspace_id", "eval_cases", ["workspace_id"])
    op.create_index("ix_eval_cases_widget_id", "eval_cases", ["widget_id"])

    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("eval_runs"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("case_ids", _JSON, nullable=True),
        sa.Column("against", _JSON, nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("regressions", _JSON, nullable=False),
        sa.Column("results", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_eval_runs"),
    )
    op.create_index("ix_eval_runs_workspace_id", "eval_runs", ["workspace_id"])
    op.create_index("ix_eval_runs_widget_id", "eval_runs", ["widget_id"])

    op.create_table(
        "eval_watch",
        sa.Column("widget_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.Column("ran_fingerprint", sa.String(64), nullable=True),
        _fk("eval_watch", "widget_id", "widgets"),
        sa.PrimaryKeyConstraint("widget_id", name="pk_eval_watch"),
    )


def downgrade() -> None:
    for table in (
        "eval_watch",
        "eval_runs",
        "eval_cases",
        "curation_suggestion_seen",
        "curation_suggestions",
        "curated_hits",
        "curated_answers",
    ):
        op.drop_table(table)
