"""An owner's approved answer to a question: it wins over retrieval when a visitor's
question matches it (verbatim), or is given to the model ahead of the passages (grounding)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, IdMixin, utcnow


class CuratedAnswer(IdMixin, Base):
    __tablename__ = "curated_answers"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    variants: Mapped[list[Any]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text)
    # verbatim: sent as is, no model call; grounding: given to the model first.
    mode: Mapped[str] = mapped_column(String(20), default="verbatim")
    # None: the widget's default; 0.0 means 0.0 (every question matches the best one).
    threshold: Mapped[float | None] = mapped_column(Float)
    # draft | suggested | approved | archived; only approved answers match.
    status: Mapped[str] = mapped_column(String(20), default="draft")
    locale: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    valid_until: Mapped[datetime | None] = mapped_column()
    # manual | import | conversation | feedback | analytics
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    origin_message_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None] = mapped_column()
    # One int8 vector per text (question, then each variant), and the embedder that made them.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedder: Mapped[str | None] = mapped_column(String(120))
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    last_hit_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CuratedHit(IdMixin, Base):
    """One assistant message a curated answer matched, with the score's components."""

    __tablename__ = "curated_hits"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    curated_answer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("curated_answers.id", ondelete="CASCADE"), index=True
    )
    # The assistant message being answered: written before it is stored, so no foreign key.
    message_id: Mapped[uuid.UUID] = mapped_column(index=True)
    mode: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    components: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suggestion(IdMixin, Base):
    """A curated answer proposed from the inbox: questions grouped by similarity, the human
    agents' own replies as the answer, for an owner to approve, edit, merge or dismiss."""

    __tablename__ = "curation_suggestions"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    conversation_ids: Mapped[list[Any]] = mapped_column(default=list)
    # Which signals made it: "feedback" (a thumbs-down), "resolved" (an agent closed it).
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    # open | approved | dismissed | merged
    status: Mapped[str] = mapped_column(String(20), default="open")
    curated_answer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("curated_answers.id", ondelete="SET NULL")
    )
    # The first question's vector, to group the next ones asking the same.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SuggestionSeen(Base):
    """A conversation already turned into (part of) a suggestion: each is read once."""

    __tablename__ = "curation_suggestion_seen"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    # feedback: read for its thumbs-down (an agent's answer may still come); resolved: done.
    stage: Mapped[str] = mapped_column(String(20), default="resolved")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
