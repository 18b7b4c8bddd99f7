"""Further visitor tokens of a conversation: issued when a verified visitor resumes it elsewhere."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from porch.models.base import Base, utcnow


class VisitorToken(Base):
    __tablename__ = "visitor_tokens"

    # sha256 of the token, like conversations.visitor_token_hash.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
